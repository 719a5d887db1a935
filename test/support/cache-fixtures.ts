/**
 * Real processes for the cache tests: cache processes in front of an origin (started with server-process.ts),
 * blobs seeded with PUT, and the origin's own count of blob GETs read from its /metrics.
 */
import { type ProgramProcess, startProgram } from "../../lib/common/program-process.ts";

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
