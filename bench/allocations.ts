/**
 * Counts the JavaScript objects each request leaves behind on the hot paths (server GET of a small blob from
 * its read cache, cache hit), by type: garbage is what makes the collector pause, and those pauses are the
 * tail latency. Origin and cache run in this process, built from lib/ as server.ts and cache.ts build them; a
 * separate Bun process sends N sequential keep-alive GETs between two heap censuses with no collection
 * in between. Its anchor is the same census taken around N requests to a bare Bun.serve answering a
 * prebuilt body (the floor Bun itself imposes).
 * Run: flock /tmp/cas-bench.lock bun bench/allocations.ts [--requests 400]
 */
import { heapStats } from "bun:jsc";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CACHE_PROGRAM } from "../lib/cache/flags.ts";
import { createCache } from "../lib/cache/handler.ts";
import { loadConfig } from "../lib/common/config.ts";
import { createLogger } from "../lib/common/log.ts";
import { createMetrics } from "../lib/common/prometheus.ts";
import { serve } from "../lib/common/serve.ts";
import { createCasServer } from "../lib/server/cas-handler.ts";
import { openStore } from "../lib/server/store.ts";

const { values } = parseArgs({ options: { requests: { type: "string", default: "400" } } });
const requests = Number(values.requests);
const work = mkdtempSync(join(tmpdir(), "cas-bench-alloc-"));
const driver = join(work, "driver.ts");
writeFileSync(
  driver,
  `const [url, n] = [process.argv[2], Number(process.argv[3])];
for (let i = 0; i < n; i++) await (await fetch(url)).arrayBuffer();
`,
);

/**
 * Object counts by type that `requests` GETs added, per request, largest first (types under 0.05 left out).
 * `collected` says a collection ran meanwhile (some type's count fell), which makes the counts too low.
 */
async function census(url: string): Promise<{ total: number; byType: [string, number][]; collected: boolean }> {
  await run(url, 200); // warm up: JIT, connection, structures
  Bun.gc(true);
  const before = heapStats();
  await run(url, requests);
  const after = heapStats();
  const byType: [string, number][] = [];
  let total = 0;
  let collected = false;
  for (const [type, count] of Object.entries(before.objectTypeCounts)) {
    if ((after.objectTypeCounts[type] ?? 0) < count) collected = true;
  }
  for (const [type, count] of Object.entries(after.objectTypeCounts)) {
    const added = (count - (before.objectTypeCounts[type] ?? 0)) / requests;
    if (added <= 0) continue;
    total += added;
    if (added >= 0.05) byType.push([type, added]);
  }
  byType.sort((a, b) => b[1] - a[1]);
  return { total, byType, collected };
}

async function run(url: string, n: number): Promise<void> {
  const proc = Bun.spawn([process.execPath, driver, url, String(n)], { stdout: "inherit", stderr: "inherit" });
  if ((await proc.exited) !== 0) throw new Error(`driver failed for ${url}`);
}

const logger = createLogger({ level: "error", base: {} });
const store = await openStore(join(work, "data"), {});
const cas = createCasServer({ store, logger, metrics: createMetrics() });
const origin = serve({
  name: "cas",
  host: "127.0.0.1",
  port: 0,
  logger,
  fetch: cas.fetch,
  routes: cas.routes,
  maxRequestBodySize: cas.maxRequestBodySize,
});
const body = new Uint8Array(25_000).fill(120);
const key = new Bun.CryptoHasher("sha256").update(body).digest("hex");
const originUrl = `http://127.0.0.1:${origin.port}`;
await fetch(`${originUrl}/cas/${key}`, { method: "PUT", body });
const loaded = loadConfig(CACHE_PROGRAM, ["--host", "127.0.0.1", "--port", "0", "--origin", originUrl, "--no-bypass"]);
if (loaded.kind !== "config") throw new Error("cache flags rejected");
const cache = createCache(loaded.config, logger);
const cacheServer = serve({
  name: "cache",
  host: "127.0.0.1",
  port: 0,
  logger,
  fetch: cache.fetch,
  routes: cache.routes,
  onListen: (port) => void cache.listen(port),
});
const prebuilt = new Blob([body]);
const bare = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(prebuilt) });
try {
  const rows: [string, string][] = [
    ["bare Bun.serve (anchor)", `http://127.0.0.1:${bare.port}/`],
    ["server GET 25,000 B", `${originUrl}/cas/${key}`],
    ["cache hit 25,000 B (--no-bypass)", `http://127.0.0.1:${cacheServer.port}/cas/${key}`],
  ];
  let anchor = 0;
  for (const [label, url] of rows) {
    const { total, byType, collected } = await census(url);
    if (anchor === 0) anchor = total;
    const types = byType.map(([type, n]) => `${type} ${n.toFixed(2)}`).join(", ");
    const note = collected ? " (a collection ran meanwhile: counts too low, run again)" : "";
    console.log(
      `${label}: ${total.toFixed(1)} objects per request (${(total / anchor).toFixed(2)}x anchor): ${types}${note}`,
    );
  }
} finally {
  bare.stop(true);
  cacheServer.stop(true);
  cache.cleanup();
  origin.stop(true);
  rmSync(work, { recursive: true, force: true });
}
