/**
 * Real processes for the cache tests: an origin (server.ts) on a temp data dir, cache processes in front of it,
 * blobs seeded with PUT, and the origin's own count of blob GETs read from its /metrics.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ProgramProcess, startProgram } from "../../lib/common/program-process.ts";

export interface Origin extends ProgramProcess {
  dataDir: string;
  /** Stops the origin and removes its data. */
  close(): Promise<void>;
}

/** Starts server.ts on 127.0.0.1, an ephemeral port and a fresh temp data dir (or `dataDir`, kept). */
export async function startOrigin(options: { port?: number; dataDir?: string } = {}): Promise<Origin> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "cas-cache-test-"));
  const proc = await startProgram("server.ts", [
    "--host",
    "127.0.0.1",
    "--port",
    String(options.port ?? 0),
    "--data-dir",
    dataDir,
  ]);
  return {
    ...proc,
    dataDir,
    async close() {
      await proc.stop();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts cache.ts on 127.0.0.1 in front of `origin` with extra flags. */
export function startCacheProcess(origin: string, args: readonly string[] = []): Promise<ProgramProcess> {
  return startProgram("cache.ts", [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--origin",
    origin,
    "--stats-interval",
    "0",
    ...args,
  ]);
}

/** `n` random bytes. */
export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  // getRandomValues fills at most 65,536 bytes per call.
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

export function sha256(data: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

/** Stores `data` at the origin under its SHA-256; returns the key. */
export async function putBlob(origin: string, data: Uint8Array): Promise<string> {
  const key = sha256(data);
  const res = await fetch(`${origin}/cas/${key}`, { method: "PUT", body: data });
  if (res.status >= 300) throw new Error(`PUT ${key} answered ${res.status}: ${await res.text()}`);
  return key;
}

/** The origin's count of GET /cas/:hash requests, all statuses, from its Prometheus metrics. */
export async function originGets(origin: string): Promise<number> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith("cas_http_requests_total{")) continue;
    if (!line.includes('method="GET"') || !line.includes('route="/cas/:hash"')) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/** Reads a cache's /stats. */
export async function cacheStats(
  cache: string,
): Promise<Record<string, unknown> & Record<"main" | "hot", Record<string, number>>> {
  return (await (await fetch(`${cache}/stats`)).json()) as Record<string, unknown> &
    Record<"main" | "hot", Record<string, number>>;
}
