import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { ProgramProcess } from "../../lib/common/program-process.ts";
import { putBlob, randomBytes, sha256, startCacheProcess } from "../support/cache-fixtures.ts";
import { startServer, type ServerProcess } from "../support/server-process.ts";

const MiB = 2 ** 20;
const CACHE_BYTES = 16 * MiB;
const BLOB_BYTES = 128 * 1024;
const BLOBS = (10 * CACHE_BYTES) / BLOB_BYTES; // 1,280 blobs, 160 MiB

let origin: ServerProcess;
let cache: ProgramProcess;

beforeAll(async () => {
  origin = await startServer();
  cache = await startCacheProcess(origin.url, ["--cache-bytes", String(CACHE_BYTES)]);
});

afterAll(async () => {
  await cache?.stop("SIGKILL");
  await origin?.close();
});

/** Resident and peak resident memory of a process, in bytes, from /proc/<pid>/status. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib("VmRSS"), peak: kib("VmHWM") };
}

test("churning 10x --cache-bytes of distinct blobs keeps RSS under --cache-bytes + 64 MiB", async () => {
  let peakSeen = 0;
  for (let i = 0; i < BLOBS; i += 4) {
    const keys = await Promise.all(Array.from({ length: 4 }, () => putBlob(origin.url, randomBytes(BLOB_BYTES))));
    await Promise.all(
      keys.map(async (key) => {
        const res = await fetch(`${cache.url}/cas/${key}`);
        expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(key);
      }),
    );
    peakSeen = Math.max(peakSeen, memory(cache.proc.pid).rss);
  }
  const stats = (await (await fetch(`${cache.url}/stats`)).json()) as { main: { Bytes: number; Evictions: number } };
  expect(stats.main.Bytes).toBeLessThanOrEqual(CACHE_BYTES);
  expect(stats.main.Evictions).toBeGreaterThan(BLOBS - CACHE_BYTES / BLOB_BYTES - 1);
  const { peak } = memory(cache.proc.pid);
  console.log(`cache RSS peak ${(peak / MiB).toFixed(1)} MiB (sampled max ${(peakSeen / MiB).toFixed(1)} MiB)`);
  expect(peak).toBeLessThan(CACHE_BYTES + 64 * MiB);
}, 60_000);
