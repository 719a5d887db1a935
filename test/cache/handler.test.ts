/**
 * The cache's request handler called directly (no socket for the cache under test), in front of a real origin
 * (the server's handler on an ephemeral port): hits and misses, errors, the ops routes, the peer route as the
 * owner answers it, and what an asking cache does with a real owner's answers. The same rows over real
 * processes are in cache.test.ts, cluster.test.ts and peer-answers.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import { createBlobGroup } from "../../lib/cache/blob-group.ts";
import type { FetchedBlob } from "../../lib/cache/blob-fetch.ts";
import type { Group } from "../../lib/cache/group.ts";
import { type CacheHandler, createCacheHandler } from "../../lib/cache/handler.ts";
import { type CacheMetrics, registerCacheMetrics } from "../../lib/cache/metrics.ts";
import { DEADLINE_HEADER, PEER_PATH } from "../../lib/cache/peer-protocol.ts";
import { createPeers, type Peers } from "../../lib/cache/peers.ts";
import { silentLogger } from "../../lib/common/log.ts";
import { freePort } from "../../lib/common/program-process.ts";
import { createMetrics } from "../../lib/common/prometheus.ts";
import { createCasServer } from "../../lib/server/cas-handler.ts";
import { openStore } from "../../lib/server/store.ts";
import { randomBytes, sha256 } from "../support/cache-fixtures.ts";

const BASE = "http://cache.test";
const SELF = "http://cache.test:18001";

let dir: string;
let originServer: Server<undefined>;
let origin: string;
let put: (data: Uint8Array<ArrayBuffer>) => Promise<string>;
/** Blob GETs that reached the origin. */
let originGets = 0;
/** While set, the origin holds every request until it settles. */
let originHeld: Promise<void> | undefined;
let releaseOrigin = () => {};
const servers: Array<Server<undefined>> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cas-cache-handler-test-"));
  const cas = createCasServer({ store: await openStore(dir) });
  originServer = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (req.method === "GET" && new URL(req.url).pathname.startsWith("/cas/")) originGets++;
      if (originHeld !== undefined) await originHeld;
      return cas.fetch(req);
    },
  });
  origin = `http://127.0.0.1:${originServer.port}`;
  put = async (data) => {
    const key = sha256(data);
    const res = await cas.fetch(new Request(`${origin}/cas/${key}`, { method: "PUT", body: data }));
    expect(res.status).toBe(201);
    return key;
  };
});

// A test that fails while holding the origin must not leave the next ones waiting on it.
afterEach(() => {
  originHeld = undefined;
  releaseOrigin();
});

afterAll(() => {
  for (const server of servers) server.stop(true);
  originServer.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

interface TestCache {
  handler: CacheHandler;
  group: Group<FetchedBlob>;
  peers: Peers;
  /** GETs `path` through the handler (awaiting a miss). */
  get(path: string, init?: RequestInit): Promise<Response>;
}

/** A cache built as createCache builds it, minus the server: the Group, the peers and the handler. */
function cache(
  options: { origin?: string; self?: string; peers?: string[]; bypass?: boolean; timeoutMs?: number } = {},
): TestCache {
  const self = options.self ?? SELF;
  const peers = createPeers({ self, port: 18001, peers: options.peers ?? [] });
  const metrics = createMetrics();
  let cacheMetrics: CacheMetrics | undefined;
  const group = createBlobGroup({
    origin: options.origin ?? origin,
    cacheBytes: 8 * 2 ** 20,
    maxItemBytes: 100_000,
    timeoutMs: options.timeoutMs ?? 10_000,
    pickPeer: (key) => peers.pick(key),
    observe: (upstream, seconds) => cacheMetrics?.observeUpstream(upstream, seconds),
  });
  cacheMetrics = registerCacheMetrics(metrics.registry, group);
  const handler = createCacheHandler({
    group,
    peers,
    metrics,
    // Warnings about peers and origins are expected here; the assertions read the answers and the stats.
    logger: silentLogger,
    bypass: options.bypass ?? true,
    accessLog: false,
    origin: options.origin ?? origin,
    timeoutMs: options.timeoutMs ?? 10_000,
  });
  return { handler, group, peers, get: async (path, init) => await handler.fetch(new Request(`${BASE}${path}`, init)) };
}

/** Serves `handler` on an ephemeral port as a peer; `seen` collects each request's path and headers. */
function servePeer(handler: CacheHandler, seen: Array<{ path: string; headers: Headers }> = []): string {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      seen.push({ path: new URL(req.url).pathname, headers: new Headers(req.headers) });
      return handler.fetch(req);
    },
  });
  servers.push(server);
  return `http://127.0.0.1:${server.port}`;
}

/** A base URL where nothing listens: connections are refused. */
function nowhere(): string {
  return `http://127.0.0.1:${freePort()}`;
}

/** A blob stored at the origin whose key `peers` gives to `owner`. */
async function blobOwnedBy(peers: Peers, owner: string): Promise<{ key: string; data: Uint8Array<ArrayBuffer> }> {
  for (;;) {
    const data = randomBytes(1500);
    if (peers.pick(sha256(data)) === owner) return { key: await put(data), data };
  }
}

/** A key no one stores that `peers` gives to `owner`. */
function keyOwnedBy(peers: Peers, owner: string): string {
  for (;;) {
    const key = sha256(randomBytes(32));
    if (peers.pick(key) === owner) return key;
  }
}

async function errorOf(res: Response): Promise<{ status: number; error: string; message: string }> {
  const body = (await res.json()) as { error: string; message: string };
  return { status: res.status, error: body.error, message: body.message };
}

describe("blobs", () => {
  test("GET misses once, then hits synchronously, with X-Cache and the origin's headers", async () => {
    const c = cache();
    const { handler } = c;
    const data = randomBytes(25_000);
    const key = await put(data);
    const before = originGets;
    const first = handler.fetch(new Request(`${BASE}/cas/${key}`));
    expect(first).toBeInstanceOf(Promise);
    const miss = await first;
    expect(miss.status).toBe(200);
    expect(miss.headers.get("x-cache")).toBe("MISS");
    expect(new Uint8Array(await miss.arrayBuffer())).toEqual(data);
    const second = handler.fetch(new Request(`${BASE}/cas/${key}`));
    if (!(second instanceof Response)) throw new Error("a hit must be answered synchronously");
    expect(second.headers.get("x-cache")).toBe("HIT");
    expect(second.headers.get("etag")).toBe(`"${key}"`);
    expect(second.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(second.headers.get("content-type")).toBe("application/octet-stream");
    expect(new Uint8Array(await second.arrayBuffer())).toEqual(data);
    const upper = handler.fetch(new Request(`${BASE}/cas/${key.toUpperCase()}`));
    expect(upper instanceof Response && upper.headers.get("x-cache")).toBe("HIT");
    expect(originGets).toBe(before + 1);
    const metrics = await (await c.get("/metrics")).text();
    expect(metrics).toContain('cas_cache_upstream_duration_seconds_count{upstream="origin"} 1');
  });

  test("HEAD misses, loads and then hits like GET (Bun.serve drops the body of a HEAD answer)", async () => {
    const c = cache();
    const key = await put(randomBytes(1234));
    const before = originGets;
    for (const expected of ["MISS", "HIT"]) {
      const res = await c.get(`/cas/${key}`, { method: "HEAD" });
      expect({ status: res.status, cache: res.headers.get("x-cache") }).toEqual({ status: 200, cache: expected });
      expect(res.headers.get("etag")).toBe(`"${key}"`);
    }
    expect((await c.get(`/cas/${key}`)).headers.get("x-cache")).toBe("HIT");
    expect(originGets).toBe(before + 1);
  });

  test("a blob the origin does not hold is 404 not_found, and the 404 is not cached", async () => {
    const c = cache();
    const key = sha256(randomBytes(16));
    const before = originGets;
    for (let i = 0; i < 2; i++) {
      expect(await errorOf(await c.get(`/cas/${key}`))).toMatchObject({ status: 404, error: "not_found" });
    }
    expect(originGets).toBe(before + 2);
    expect(c.group.stats().LocalLoadErrs).toBe(2);
  });

  test("a blob above maxItemBytes streams through uncached; its HEAD carries the length", async () => {
    const c = cache();
    const data = randomBytes(300_000);
    const key = await put(data);
    for (let i = 0; i < 2; i++) {
      const res = await c.get(`/cas/${key}`);
      expect(res.headers.get("x-cache")).toBe("MISS");
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(data);
    }
    const head = await c.get(`/cas/${key}`, { method: "HEAD" });
    expect(head.headers.get("content-length")).toBe("300000");
    expect(c.group.cacheStats("main").Items).toBe(0);
  });

  test("Cache-Control: no-cache forces a load from the origin, unless bypass is off", async () => {
    const key = await put(randomBytes(500));
    for (const [bypass, expected, loads] of [
      [true, "MISS", 1],
      [false, "HIT", 0],
    ] as const) {
      const c = cache({ bypass });
      await (await c.get(`/cas/${key}`)).arrayBuffer();
      const before = originGets;
      const res = await c.get(`/cas/${key}`, { headers: { "cache-control": "max-age=0, no-cache" } });
      expect({ bypass, cache: res.headers.get("x-cache") }).toEqual({ bypass, cache: expected });
      expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(key);
      expect(originGets).toBe(before + loads);
      expect((await c.get(`/cas/${key}`)).headers.get("x-cache")).toBe("HIT");
    }
  });

  test("a bad key is 400 invalid_key on both blob routes, without asking the origin", async () => {
    const c = cache();
    const before = originGets;
    for (const path of ["/cas/not-a-hash", `${PEER_PATH}${"a".repeat(63)}`, "/cas/"]) {
      expect({ path, ...(await errorOf(await c.get(path))) }).toMatchObject({
        path,
        status: 400,
        error: "invalid_key",
      });
    }
    expect(originGets).toBe(before);
  });
});

describe("routes", () => {
  test("every route answers methods it does not take with 405 and Allow (GET, HEAD; PUT too on /cas/, /ac/)", async () => {
    const c = cache();
    const key = sha256(randomBytes(4));
    for (const [method, path, allow] of [
      ["DELETE", `/cas/${key}`, "GET, HEAD, PUT"],
      ["POST", `/ac/${key}`, "GET, HEAD, PUT"],
      ["PUT", `${PEER_PATH}${key}`, "GET, HEAD"],
      ["POST", `${PEER_PATH}${key}`, "GET, HEAD"],
      ["POST", "/stats", "GET, HEAD"],
      ["PROPFIND", "/healthz", "GET, HEAD"],
      ["DELETE", "/readyz", "GET, HEAD"],
      ["POST", "/metrics", "GET, HEAD"],
    ] as const) {
      const res = await c.get(path, { method });
      expect({ method, path, status: res.status, allow: res.headers.get("allow") }).toEqual({
        method,
        path,
        status: 405,
        allow,
      });
      expect(await res.json()).toMatchObject({ error: "method_not_allowed" });
    }
  });

  test("an unknown path is 404 not_found", async () => {
    expect(await errorOf(await cache().get("/nope"))).toMatchObject({ status: 404, error: "not_found" });
  });

  test("/stats has groupcache's fields, each cache's counters, Self, Peers and the peers ejected", async () => {
    const other = "http://cache-b.test:18001";
    const c = cache({ peers: [SELF, other] });
    const stats = (await (await c.get("/stats")).json()) as Record<string, unknown>;
    expect(Object.keys(stats).sort()).toEqual(
      [
        "CacheHits",
        "EjectedPeers",
        "Gets",
        "LoadsDeduped",
        "Loads",
        "LocalLoadErrs",
        "LocalLoads",
        "PeerErrors",
        "PeerLoads",
        "Peers",
        "Self",
        "ServerRequests",
        "hot",
        "main",
      ].sort(),
    );
    expect(stats).toMatchObject({ Self: SELF, Peers: [other, SELF].sort(), EjectedPeers: [], Gets: 0 });
    for (const name of ["main", "hot"]) {
      expect(stats[name]).toEqual({ Bytes: 0, Items: 0, Gets: 0, Hits: 0, Evictions: 0 });
    }
  });

  test("/healthz and /readyz answer GET and HEAD; /metrics exports the cas_cache_* series", async () => {
    const c = cache({ peers: [SELF, "http://cache-b.test:18001"] });
    expect(await (await c.get("/healthz")).json()).toEqual({ status: "ok" });
    expect(await (await c.get("/readyz")).json()).toEqual({ status: "ready", peers: 2 });
    for (const path of ["/healthz", "/readyz", "/stats", "/metrics"]) {
      expect({ path, status: (await c.get(path, { method: "HEAD" })).status }).toEqual({ path, status: 200 });
    }
    const metrics = await (await c.get("/metrics")).text();
    expect(metrics).toContain("cas_cache_gets_total 0");
    expect(metrics).toContain('cas_cache_items{cache="main"} 0');
    expect(metrics).toContain('cas_http_requests_total{method="GET",route="/healthz",status="200"} 1');
  });
});

describe("uploads and the action cache, handed to the origin", () => {
  const acKey = () => sha256(randomBytes(8));

  test("PUT /cas/<hash> through the cache is stored by the origin, which verifies it; the next GET misses, then hits", async () => {
    const c = cache();
    const data = randomBytes(3000);
    const key = sha256(data);
    const before = originGets;
    const put = await c.get(`/cas/${key}`, { method: "PUT", body: data });
    expect(put.status).toBe(201);
    expect(await put.json()).toEqual({ hash: key, size: 3000 });
    expect(put.headers.get("location")).toBe(`/cas/${key}`);
    expect((await c.get(`/cas/${key}`, { method: "PUT", body: data })).status).toBe(200);
    const wrong = await c.get(`/cas/${sha256(randomBytes(8))}`, { method: "PUT", body: data });
    expect(await errorOf(wrong)).toMatchObject({ status: 400, error: "digest_mismatch" });
    expect(originGets).toBe(before);
    expect((await c.get(`/cas/${key}`)).headers.get("x-cache")).toBe("MISS");
    expect((await c.get(`/cas/${key}`)).headers.get("x-cache")).toBe("HIT");
  });

  test("/ac/ reads always reach the origin: a replacement made there is seen at once", async () => {
    const c = cache();
    const key = acKey();
    expect(await errorOf(await c.get(`/ac/${key}`))).toMatchObject({ status: 404, error: "not_found" });
    expect((await c.get(`/ac/${key}`, { method: "PUT", body: "first" })).status).toBe(201);
    const first = await c.get(`/ac/${key}`);
    expect(await first.text()).toBe("first");
    expect(first.headers.get("etag")).toBe(`"${sha256(new TextEncoder().encode("first"))}"`);
    expect(first.headers.get("cache-control")).toBe("no-cache");
    expect(first.headers.get("x-cache")).toBeNull();
    // Replaced behind the cache's back, straight at the origin.
    expect((await fetch(`${origin}/ac/${key}`, { method: "PUT", body: "second" })).status).toBe(200);
    expect(await (await c.get(`/ac/${key.toUpperCase()}`)).text()).toBe("second");
    const etag = `"${sha256(new TextEncoder().encode("second"))}"`;
    const unchanged = await c.get(`/ac/${key}`, { headers: { "if-none-match": etag } });
    expect([unchanged.status, unchanged.headers.get("etag")]).toEqual([304, etag]);
    const head = await c.get(`/ac/${key}`, { method: "HEAD" });
    expect([head.status, head.headers.get("content-length"), await head.text()]).toEqual([200, "6", ""]);
    expect(c.group.stats().Gets).toBe(0);
  });

  test("an instance prefix is dropped on both kinds; a bad /ac/ key is 400 without asking the origin", async () => {
    const c = cache();
    const key = await put(randomBytes(900));
    expect((await c.get(`/main/cas/${key}`)).status).toBe(200);
    const ac = acKey();
    expect((await c.get(`/a/b/ac/${ac}`, { method: "PUT", body: "entry" })).status).toBe(201);
    expect(await (await c.get(`/ac/${ac}`)).text()).toBe("entry");
    expect(await errorOf(await c.get(`/ac/${"x".repeat(64)}`))).toMatchObject({ status: 400, error: "invalid_key" });
  });

  test("an unreachable origin is 502 upstream_unavailable for uploads and /ac/ alike", async () => {
    const c = cache({ origin: nowhere() });
    for (const [path, init] of [
      [`/ac/${acKey()}`, {}],
      [`/cas/${sha256(randomBytes(4))}`, { method: "PUT", body: "x" }],
    ] as const) {
      expect(await errorOf(await c.get(path, init))).toMatchObject({ status: 502, error: "upstream_unavailable" });
    }
  });
});

describe("the peer route, as the owner answers it", () => {
  test("a get from a peer counts as a ServerRequest and is loaded here, even for a key another peer owns", async () => {
    const other = nowhere();
    const c = cache({ peers: [SELF, other] });
    const { key, data } = await blobOwnedBy(c.peers, other);
    const res = await c.get(`${PEER_PATH}${key}`, { headers: { [DEADLINE_HEADER]: "5000" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-cache")).toBe("MISS");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(data);
    expect(c.group.stats()).toMatchObject({ ServerRequests: 1, LocalLoads: 1, PeerLoads: 0, PeerErrors: 0 });
  });

  test("the owner gives up on a silent origin within the asker's deadline: 504 upstream_timeout", async () => {
    // The owner's own timeout is a minute: only the asker's header can end this before the test times out.
    const c = cache({ timeoutMs: 60_000 });
    const key = await put(randomBytes(800));
    originHeld = new Promise((resolve) => (releaseOrigin = resolve));
    const res = await c.get(`${PEER_PATH}${key}`, { headers: { [DEADLINE_HEADER]: "300" } });
    expect(await errorOf(res)).toMatchObject({ status: 504, error: "upstream_timeout" });
  });

  test("the owner's verdict on an origin it cannot reach: 502 upstream_unavailable", async () => {
    const c = cache({ origin: nowhere() });
    const res = await c.get(`${PEER_PATH}${sha256(randomBytes(8))}`, { headers: { [DEADLINE_HEADER]: "5000" } });
    expect(await errorOf(res)).toMatchObject({ status: 502, error: "upstream_unavailable" });
    expect(c.group.stats()).toMatchObject({ ServerRequests: 1, LocalLoadErrs: 1 });
  });
});

describe("an asking cache and a real owner", () => {
  const ASKER = "http://asker.test:18001";

  test("a blob from its owner: MISS, a PeerLoad, the owner asked with the time left and the forced miss", async () => {
    const owner = cache();
    const seen: Array<{ path: string; headers: Headers }> = [];
    const ownerUrl = servePeer(owner.handler, seen);
    const asker = cache({ self: ASKER, peers: [ASKER, ownerUrl] });
    const { key, data } = await blobOwnedBy(asker.peers, ownerUrl);
    const res = await asker.get(`/cas/${key}`);
    expect(res.headers.get("x-cache")).toBe("MISS");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(data);
    expect(asker.group.stats()).toMatchObject({ PeerLoads: 1, LocalLoads: 0, PeerErrors: 0 });
    expect(owner.group.stats()).toMatchObject({ ServerRequests: 1, LocalLoads: 1 });
    const metrics = await (await asker.get("/metrics")).text();
    expect(metrics).toContain('cas_cache_upstream_duration_seconds_count{upstream="peer"} 1');
    expect(seen.at(-1)!.path).toBe(`${PEER_PATH}${key}`);
    const left = Number(seen.at(-1)!.headers.get(DEADLINE_HEADER));
    expect(Number.isInteger(left) && left > 0 && left <= 10_000).toBe(true);
    expect(seen.at(-1)!.headers.get("cache-control")).toBeNull();

    // A forced miss reaches the owner as one, and the owner loads afresh.
    const fresh = await asker.get(`/cas/${key}`, { headers: { "cache-control": "no-cache" } });
    expect(fresh.headers.get("x-cache")).toBe("MISS");
    await fresh.arrayBuffer();
    expect(seen.at(-1)!.headers.get("cache-control")).toBe("no-cache");
    expect(owner.group.stats()).toMatchObject({ ServerRequests: 2, LocalLoads: 2 });
  });

  test("the owner's verdict on the origin is passed on, without a local load", async () => {
    const owner = cache({ origin: nowhere() });
    const ownerUrl = servePeer(owner.handler);
    const asker = cache({ self: ASKER, peers: [ASKER, ownerUrl] });
    const { key } = await blobOwnedBy(asker.peers, ownerUrl);
    const before = originGets;
    const answer = await errorOf(await asker.get(`/cas/${key}`));
    expect(answer).toMatchObject({ status: 502, error: "upstream_unavailable" });
    expect(answer.message).toEndWith("(answered by the owning peer)");
    expect(originGets).toBe(before);
    expect(asker.group.stats()).toMatchObject({ PeerErrors: 0, LocalLoads: 0, LocalLoadErrs: 0 });
  });

  test("the owner's 404 is final: the asker does not ask the origin again", async () => {
    const owner = cache();
    const ownerUrl = servePeer(owner.handler);
    const asker = cache({ self: ASKER, peers: [ASKER, ownerUrl] });
    const key = keyOwnedBy(asker.peers, ownerUrl);
    const before = originGets;
    expect(await errorOf(await asker.get(`/cas/${key}`))).toMatchObject({ status: 404, error: "not_found" });
    expect(originGets).toBe(before + 1);
    expect(owner.group.stats().LocalLoadErrs).toBe(1);
    expect(asker.group.stats()).toMatchObject({ PeerErrors: 0, LocalLoadErrs: 0 });
  });

  test("an owner that cannot be reached is a peer error, followed by a local load", async () => {
    const gone = nowhere();
    const asker = cache({ self: ASKER, peers: [ASKER, gone] });
    const { key, data } = await blobOwnedBy(asker.peers, gone);
    const res = await asker.get(`/cas/${key}`);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(data);
    expect(asker.group.stats()).toMatchObject({ PeerErrors: 1, PeerLoads: 0, LocalLoads: 1 });
    expect((await asker.get(`/cas/${key}`)).headers.get("x-cache")).toBe("HIT");
  });
});
