# One image for all three programs: the server by default; compose and Kubernetes choose the entry
# point with their command (`bun cache.ts`, `bun client.ts`). The tag follows package.json's Bun pin.
FROM oven/bun:1.4.5-slim AS deps
WORKDIR /app
COPY package.json bun.lock bunfig.toml ./
# Production dependencies only, exactly as locked: a lockfile out of step with package.json fails the build.
RUN bun install --frozen-lockfile --production

FROM oven/bun:1.4.5-slim
WORKDIR /app
# The root file system is read-only in Kubernetes; Bun must not try to cache transpiled files on it.
ENV NODE_ENV=production \
    BUN_RUNTIME_TRANSPILER_CACHE_PATH=0 \
    CAS_DATA_DIR=/data \
    HEALTHCHECK_URL=http://127.0.0.1:5000/healthz
COPY --from=deps /app/node_modules ./node_modules
COPY package.json bun.lock bunfig.toml tsconfig.json ./
COPY lib ./lib
COPY server.ts cache.ts client.ts ./
# The store's folder belongs to the unprivileged user, so a fresh named volume or PVC inherits it.
RUN mkdir -p /data && chown 1000:1000 /data
VOLUME /data
# The image's "bun" user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 5000 18001
# slim has neither curl nor wget; Bun itself checks the program. Compose sets HEALTHCHECK_URL per service.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["bun", "-e", "const r = await fetch(process.env.HEALTHCHECK_URL).catch(() => null); process.exit(r?.ok ? 0 : 1)"]
CMD ["bun", "server.ts"]
