import { afterAll, expect, test } from "bun:test";
import { fetchCacheStats, hitRatioBetween } from "../../lib/client/cache-stats-probe.ts";

test("hitRatioBetween() sums CacheHits and Gets deltas over the caches that answered both times", () => {
  const before = { a: { Gets: 10, CacheHits: 5 }, b: { Gets: 0, CacheHits: 0 }, c: null };
  const after = { a: { Gets: 20, CacheHits: 14 }, b: { Gets: 10, CacheHits: 7 }, c: { Gets: 99, CacheHits: 99 } };
  expect(hitRatioBetween(before, after)).toBe(16 / 20);
  expect(hitRatioBetween({ a: null }, { a: { Gets: 1, CacheHits: 1 } })).toBeNull();
  expect(hitRatioBetween({ a: { Gets: 1, CacheHits: 1 } }, { a: { Gets: 1, CacheHits: 1 } })).toBeNull();
});

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: (req) =>
    new URL(req.url).pathname === "/stats"
      ? Response.json({ Gets: 3, CacheHits: 2 })
      : new Response("?", { status: 404 }),
});
afterAll(() => void server.stop(true));

test("fetchCacheStats() reads /stats and maps a cache that does not answer to null", async () => {
  const up = `http://127.0.0.1:${server.port}`;
  const stats = await fetchCacheStats([up, "http://127.0.0.1:9"]);
  expect(stats).toEqual({ [up]: { Gets: 3, CacheHits: 2 }, "http://127.0.0.1:9": null });
});
