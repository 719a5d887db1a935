/**
 * The default flow's workload: random blobs keyed by SHA-256, and the `next(seq)` target function that
 * picks a blob (uniform or Zipf), forces a share of misses with `Cache-Control: no-cache`, spreads requests
 * round-robin over the cache peers, and checks every body against its key. Synchronous, no I/O.
 */
import { digestHex } from "../common/key.ts";
import type { Target } from "../loadgen.ts";

export interface WorkloadBlob {
  /** Lowercase hex SHA-256 of `data`. */
  hash: string;
  data: Uint8Array;
}

/** How blobs are chosen: every blob alike, or blob i with weight 1/(i+1)^s. */
export type Distribution = { kind: "uniform" } | { kind: "zipf"; s: number };

/** The exponent `zipf` alone means. */
export const DEFAULT_ZIPF_S = 1;

/** Parses `--dist`: `uniform`, `zipf` or `zipf:1.2`. */
export function parseDistribution(raw: string): Distribution {
  const v = raw.trim();
  if (v === "uniform") return { kind: "uniform" };
  const m = /^zipf(?::(\d+(?:\.\d+)?))?$/.exec(v);
  if (m === null) throw new SyntaxError("expected uniform, zipf or zipf:S (S a positive number, e.g. zipf:1.1)");
  const s = m[1] === undefined ? DEFAULT_ZIPF_S : Number(m[1]);
  if (!(s > 0)) throw new RangeError("the zipf exponent must be above 0");
  return { kind: "zipf", s };
}

/** Which traffic the attack sends without --url: the original flow, or a build cache's (build-cache-workload.ts). */
export type WorkloadKind = "default" | "build-cache";

/** Parses `--workload`. */
export function parseWorkloadKind(raw: string): WorkloadKind {
  const v = raw.trim();
  if (v === "default" || v === "build-cache") return v;
  throw new SyntaxError("expected default or build-cache");
}

/** A share in [0, 1], for `--hit-ratio`. */
export function parseRatio(raw: string): number {
  const v = raw.trim();
  const n = v === "" ? NaN : Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new RangeError("expected a share from 0 to 1, such as 0.9");
  return n;
}

/**
 * `count` blobs of `size` random bytes. Random bytes rather than the original's letters: a CAS must be
 * binary-safe, and incompressible content keeps any compression along the path honest.
 */
export function generateBlobs(count: number, size: number): WorkloadBlob[] {
  const blobs: WorkloadBlob[] = [];
  for (let i = 0; i < count; i++) {
    const data = new Uint8Array(size);
    // getRandomValues fills at most 64 KiB per call.
    for (let off = 0; off < size; off += 65536) crypto.getRandomValues(data.subarray(off, Math.min(size, off + 65536)));
    blobs.push({ hash: digestHex("sha256", data), data });
  }
  return blobs;
}

export interface WorkloadOptions {
  /** Cache base URLs, used round-robin. */
  cacheUrls: readonly string[];
  /** Keys to request (only `hash` is used). */
  hashes: readonly string[];
  /** @default uniform */
  dist?: Distribution;
  /** Share of requests allowed to hit; the rest carry `Cache-Control: no-cache`. @default 1 */
  hitRatio?: number;
  /** Check each body against its key. @default true */
  verify?: boolean;
  /** Sent with every request. */
  headers?: Record<string, string>;
  /** Source of randomness in [0, 1), for reproducible tests. @default Math.random */
  random?: () => number;
}

export interface Workload {
  /** The target for request `seq`. */
  next: (seq: number) => Target;
  /** Bodies that did not hash to their key so far. */
  readonly integrityFailures: number;
}

/** Builds every distinct target once, so `next()` allocates nothing per request. */
export function createWorkload(options: WorkloadOptions): Workload {
  const { cacheUrls, hashes } = options;
  if (cacheUrls.length === 0) throw new RangeError("'cacheUrls' must hold at least one URL");
  if (hashes.length === 0) throw new RangeError("'hashes' must hold at least one key");
  const hitRatio = options.hitRatio ?? 1;
  if (!(hitRatio >= 0 && hitRatio <= 1)) throw new RangeError(`'hitRatio' must be from 0 to 1, got ${hitRatio}`);
  const pick = picker(hashes.length, options.dist ?? { kind: "uniform" }, options.random ?? Math.random);
  const state = { integrityFailures: 0 };
  const verifyOn = options.verify ?? true;
  const base = options.headers ?? {};

  // targets[cache][blob][0 = may hit, 1 = forced miss]
  const targets = cacheUrls.map((url) =>
    hashes.map((hash) => {
      const verify = verifyOn ? verifier(hash, state) : undefined;
      const make = (headers: Record<string, string>): Target => ({
        name: url, // the per-target figures of the default flow are per cache peer
        method: "GET",
        url: `${url.replace(/\/+$/, "")}/cas/${hash}`,
        headers,
        ...(verify && { verify }),
      });
      return [make({ ...base }), make({ ...base, "cache-control": "no-cache" })] as const;
    }),
  );

  // Misses are spread evenly by sequence number (per million), so the share is exact over any stretch of the run.
  const missPerMillion = Math.round((1 - hitRatio) * 1e6);
  const forcedMiss = (seq: number) =>
    Math.floor(((seq + 1) * missPerMillion) / 1e6) > Math.floor((seq * missPerMillion) / 1e6);

  return {
    next(seq) {
      const cache = targets[seq % targets.length]!;
      return cache[pick()]![forcedMiss(seq) ? 1 : 0];
    },
    get integrityFailures() {
      return state.integrityFailures;
    },
  };
}

/** A body check against the SHA-256 `hash` that counts each failure in `state`. */
export function verifier(hash: string, state: { integrityFailures: number }): (body: Uint8Array) => boolean {
  return (body) => {
    const ok = digestHex("sha256", body) === hash;
    if (!ok) state.integrityFailures++;
    return ok;
  };
}

/** Returns a function drawing an index in [0, n) under `dist`. */
export function picker(n: number, dist: Distribution, random: () => number): () => number {
  if (n === 1) return () => 0;
  if (dist.kind === "uniform") return () => Math.min(n - 1, Math.floor(random() * n));
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / (i + 1) ** dist.s;
    cdf[i] = sum;
  }
  for (let i = 0; i < n; i++) cdf[i]! /= sum;
  return () => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}
