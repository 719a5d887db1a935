/**
 * Fault suite, soak: client.ts attacks one cache.ts whose --cache-bytes is well below the working set, so it
 * evicts all the time, for a while at a high rate. No request fails or comes back wrong, and after warm-up the
 * cache's RSS stays flat. Short inside bun test; FAULTS_FULL=1 runs the 3 minutes at 1,500 req/s.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { PROJECT_ROOT, type ProgramProcess } from "../../lib/common/program-process.ts";
import { cacheStats, startCacheProcess } from "../support/cache-fixtures.ts";
import { reportFigures, rssMiB, scaled } from "../support/fault-run.ts";
import { startServer, type ServerProcess } from "../support/server-process.ts";

const DURATION_S = scaled(24, 180);
const RATE = scaled(1000, 1500);
const BLOBS = 400;
const BLOB_BYTES = 25_000;
/** A 10 MB working set through 4 MiB of cache. */
const CACHE_BYTES = 4 * 2 ** 20;
/** How much RSS may move between the second and the last third of the run. */
const FLAT_MIB = 16;

let server: ServerProcess;
let cache: ProgramProcess;
beforeAll(async () => {
  server = await startServer();
  cache = await startCacheProcess(server.url, ["--cache-bytes", String(CACHE_BYTES)]);
});
afterAll(async () => {
  await cache?.stop("SIGKILL");
  await server?.dispose();
});

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test(`soak: ${DURATION_S} s at ${RATE} req/s through a cache smaller than its working set`, async () => {
  const client = Bun.spawn(
    [
      ...[process.execPath, join(PROJECT_ROOT, "client.ts"), "--server", server.url, "--cache", cache.url],
      ...["--rate", String(RATE), "--duration", `${DURATION_S}s`, "--blobs", String(BLOBS)],
      ...["--size", String(BLOB_BYTES), "--dist", "uniform", "--report", "json", "--quiet"],
    ],
    { cwd: PROJECT_ROOT, stdout: "pipe", stderr: "pipe" },
  );
  const report = new Response(client.stdout).text();
  const logs = new Response(client.stderr).text();
  const rss: number[] = [];
  const sampler = setInterval(() => rss.push(rssMiB(cache.proc.pid)), 1000);
  const code = await client.exited;
  clearInterval(sampler);
  // 3: the generator fell behind its schedule (a busy shared machine); the figures below still judge the cache
  if (code !== 0 && code !== 3) throw new Error(`client.ts exited ${code}: ${await logs}`);
  // Only the fields read here; the report's full shape is the client's contract, tested in test/client.
  const r = JSON.parse(await report) as {
    requests: number;
    success: number;
    status_codes: Record<string, number>;
    errors: string[];
    cas: { integrity_failures: number };
  };
  const stats = await cacheStats(cache.url);
  const third = Math.floor(rss.length / 3);
  const middle = mean(rss.slice(third, 2 * third));
  const last = mean(rss.slice(2 * third));
  const failed = r.requests - (r.status_codes["200"] ?? 0);
  const held = failed === 0 && r.errors.length === 0 && r.cas.integrity_failures === 0 && last - middle < FLAT_MIB;
  reportFigures(
    "soak through an evicting cache",
    { seconds: DURATION_S, rate: RATE, blobs: BLOBS, blobBytes: BLOB_BYTES, cacheMiB: CACHE_BYTES / 2 ** 20 },
    {
      requests: r.requests,
      failed,
      integrityFailures: r.cas.integrity_failures,
      evictions: Number(stats.main.Evictions ?? 0),
      hitRatio: Number(stats.CacheHits) / Number(stats.Gets),
      rssMiB: `start ${rss[0]?.toFixed(0)} mid ${middle.toFixed(1)} end ${last.toFixed(1)} max ${Math.max(...rss).toFixed(0)}`,
    },
    held,
  );
  expect(r.errors).toEqual([]);
  expect(failed).toBe(0);
  expect(r.cas.integrity_failures).toBe(0);
  expect(Number(stats.main.Evictions ?? 0)).toBeGreaterThan(BLOBS);
  expect(last - middle).toBeLessThan(FLAT_MIB);
}, 300_000);
