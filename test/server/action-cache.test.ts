/**
 * The origin's /ac/ routes, /status, the empty blob, instance prefixes and the per-kind metrics, through the
 * request handler called directly over a real store in a temp dir (no socket); the ccache and Bazel runs over
 * real processes are in test/clients/build-cache.test.ts.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCasServer, type CasServer, type CasServerOptions } from "../../lib/server/cas-handler.ts";
import { EMPTY_SHA1, EMPTY_SHA256, digestHex } from "../../lib/common/key.ts";
import { openStore, type BlobStore, type StoreOptions } from "../../lib/server/store.ts";
import { startServer } from "../support/server-process.ts";

const BASE = "http://cas.test";
const KEY = "0123456789abcdef".repeat(4);
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cas-ac-test-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function server(
  options: Partial<CasServerOptions> = {},
  storeOptions: StoreOptions = {},
): Promise<CasServer & { store: BlobStore }> {
  const store = await openStore(join(dir, "data"), storeOptions);
  return { ...createCasServer({ store, ...options }), store };
}

function call(cas: CasServer, path: string, init: RequestInit = {}): Promise<Response> {
  return Promise.resolve(cas.fetch(new Request(BASE + path, init)));
}

const etagOf = (content: string) => `"${digestHex("sha256", content)}"`;

describe("PUT, GET and HEAD /ac/<key>", () => {
  test("PUT stores an entry: 201, then GET answers it with a content ETag and no immutable caching", async () => {
    const cas = await server();
    const put = await call(cas, `/ac/${KEY}`, { method: "PUT", body: "an action result" });
    expect(put.status).toBe(201);
    expect(await put.json()).toEqual({ key: KEY, size: 16 });
    expect(put.headers.get("etag")).toBe(etagOf("an action result"));
    const res = await call(cas, `/ac/${KEY.toUpperCase()}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("an action result");
    expect(res.headers.get("etag")).toBe(etagOf("an action result"));
    expect(res.headers.get("content-length")).toBe("16");
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("cache-control")).not.toContain("immutable");
    const head = await call(cas, `/ac/${KEY}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("16");
    expect(head.headers.get("etag")).toBe(etagOf("an action result"));
    expect(await head.text()).toBe("");
  });

  test("a second PUT replaces the entry (200); the ETag follows the content and If-None-Match sees it", async () => {
    const cas = await server();
    await call(cas, `/ac/${KEY}`, { method: "PUT", body: "old" });
    const replaced = await call(cas, `/ac/${KEY}`, { method: "PUT", body: "new content" });
    expect(replaced.status).toBe(200);
    const res = await call(cas, `/ac/${KEY}`, { headers: { "if-none-match": etagOf("old") } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("new content");
    const same = await call(cas, `/ac/${KEY}`, { headers: { "if-none-match": etagOf("new content") } });
    expect(same.status).toBe(304);
    expect(same.headers.get("etag")).toBe(etagOf("new content"));
    expect(same.headers.get("cache-control")).toBe("no-cache");
  });

  test("an entry above --read-cache-item-bytes streams from disk, whole and unchanged", async () => {
    const cas = await server({ readCacheItemBytes: 1000 });
    const big = new Uint8Array(300_000).map((_, i) => (i * 13) % 256);
    expect((await call(cas, `/ac/${KEY}`, { method: "PUT", body: big })).status).toBe(201);
    const res = await call(cas, `/ac/${KEY}`);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(big);
    expect(res.headers.get("etag")).toBe(`"${digestHex("sha256", big)}"`);
  });

  test("GET of a missing entry is 404; a bad key is 400; other methods 405", async () => {
    const cas = await server();
    const missing = await call(cas, `/ac/${KEY}`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: "not_found" });
    for (const key of [EMPTY_SHA1, "z".repeat(64), `${KEY}0`, `${KEY.slice(2)}%2f`]) {
      const res = await call(cas, `/ac/${key}`, { method: "PUT", body: "x" });
      expect([key, res.status]).toEqual([key, 400]);
    }
    const del = await call(cas, `/ac/${KEY}`, { method: "DELETE" });
    expect(del.status).toBe(405);
    expect(del.headers.get("allow")).toBe("GET, HEAD, PUT");
  });

  test("the entry size limit is the action cache's own: 413 beyond it, by Content-Length or while counting", async () => {
    const cas = await server({}, { maxAcBytes: 10 });
    await call(cas, `/ac/${KEY}`, { method: "PUT", body: "0123456789" });
    const declared = await call(cas, `/ac/${KEY}`, { method: "PUT", body: "0123456789a" });
    expect(declared.status).toBe(413);
    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("012345"));
        controller.enqueue(new TextEncoder().encode("6789ab"));
        controller.close();
      },
    });
    expect((await call(cas, `/ac/${KEY}`, { method: "PUT", body: chunked })).status).toBe(413);
    expect(await (await call(cas, `/ac/${KEY}`)).text()).toBe("0123456789");
    const blob = "a blob of more than ten bytes";
    expect((await call(cas, `/cas/${digestHex("sha256", blob)}`, { method: "PUT", body: blob })).status).toBe(201);
  });

  test("the write token guards PUT on /ac/ as on /cas/; reads stay open", async () => {
    const cas = await server({ writeToken: "s3cret" });
    const anonymous = await call(cas, `/ac/${KEY}`, { method: "PUT", body: "x" });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toContain("Bearer");
    const wrong = await call(cas, `/ac/${KEY}`, { method: "PUT", body: "x", headers: { authorization: "Bearer no" } });
    expect(wrong.status).toBe(401);
    const ok = await call(cas, `/ac/${KEY}`, { method: "PUT", body: "x", headers: { authorization: "Bearer s3cret" } });
    expect(ok.status).toBe(201);
    expect((await call(cas, `/ac/${KEY}`)).status).toBe(200);
  });
});

describe("the read cache", () => {
  test("an entry written is answered from memory, a replacement too; one found on disk once read", async () => {
    const cas = await server();
    await call(cas, `/ac/${KEY}`, { method: "PUT", body: "first" });
    const first = cas.fetch(new Request(`${BASE}/ac/${KEY}`));
    expect(first).toBeInstanceOf(Response);
    expect(await (first as Response).text()).toBe("first");
    await call(cas, `/ac/${KEY}`, { method: "PUT", body: "second" });
    const second = cas.fetch(new Request(`${BASE}/ac/${KEY}`)) as Response;
    expect([await second.text(), second.headers.get("etag")]).toEqual(["second", etagOf("second")]);
    const head = cas.fetch(new Request(`${BASE}/ac/${KEY}`, { method: "HEAD" })) as Response;
    expect([head.status, head.headers.get("content-length"), await head.text()]).toEqual([200, "6", ""]);
    const notModified = cas.fetch(new Request(`${BASE}/ac/${KEY}`, { headers: { "if-none-match": etagOf("second") } }));
    expect((notModified as Response).status).toBe(304);
    // A fresh handler over the same store (a restart) reads the entry from disk once, then from memory.
    const restarted = createCasServer({ store: cas.store });
    const fromDisk = restarted.fetch(new Request(`${BASE}/ac/${KEY}`));
    expect(fromDisk).toBeInstanceOf(Promise);
    expect(await (await fromDisk).text()).toBe("second");
    expect(restarted.fetch(new Request(`${BASE}/ac/${KEY}`))).toBeInstanceOf(Response);
  });

  test("entries above --read-cache-item-bytes, or with the read cache off, are read from disk every time", async () => {
    for (const options of [{ readCacheItemBytes: 4 }, { readCacheBytes: 0 }]) {
      rmSync(join(dir, "data"), { recursive: true, force: true });
      const cas = await server(options);
      await call(cas, `/ac/${KEY}`, { method: "PUT", body: "12345" });
      for (let i = 0; i < 2; i++) {
        const res = cas.fetch(new Request(`${BASE}/ac/${KEY}`));
        expect(res).toBeInstanceOf(Promise);
        expect(await (await res).text()).toBe("12345");
      }
    }
  });

  test("a read that began before a replacement finished does not leave the old entry in memory", async () => {
    const store = await openStore(join(dir, "data"));
    await store.putAction(KEY, new Blob(["old"]).stream());
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The real store, with reads held after they opened the entry, so the replacement lands in between.
    const held: BlobStore = {
      ...store,
      openAction: async (key) => store.openAction(key).then((e) => gate.then(() => e)),
    };
    const cas = createCasServer({ store: held });
    const slowRead = call(cas, `/ac/${KEY}`);
    expect((await call(cas, `/ac/${KEY}`, { method: "PUT", body: "new" })).status).toBe(200);
    release();
    expect(await (await slowRead).text()).toBe("old");
    expect(await (await call(cas, `/ac/${KEY}`)).text()).toBe("new");
  });
});

describe("instance prefixes and the empty blob", () => {
  test("an instance prefix is accepted and ignored on both kinds", async () => {
    const cas = await server();
    const blob = "blob under an instance";
    const hash = digestHex("sha256", blob);
    expect((await call(cas, `/team/main/cas/${hash}`, { method: "PUT", body: blob })).status).toBe(201);
    expect(await (await call(cas, `/cas/${hash}`)).text()).toBe(blob);
    expect(await (await call(cas, `/other/cas/${hash}`)).text()).toBe(blob);
    expect((await call(cas, `/team/main/ac/${KEY}`, { method: "PUT", body: "entry" })).status).toBe(201);
    expect(await (await call(cas, `/ac/${KEY}`)).text()).toBe("entry");
    expect((await call(cas, `/x/ac/${KEY}`, { method: "HEAD" })).status).toBe(200);
    expect((await call(cas, `/x/cas/nothex`)).status).toBe(400);
    const text = await cas.metrics.registry.metrics();
    expect(text).toContain('cas_http_requests_total{method="PUT",route="/ac/:hash",status="201"} 1');
    expect(text).toContain('cas_http_requests_total{method="PUT",route="/cas/:hash",status="201"} 1');
    expect(text).not.toContain("team");
  });

  test("the empty blob always exists, under SHA-256 and SHA-1, stored or not", async () => {
    const cas = await server();
    for (const path of [`/cas/${EMPTY_SHA256}`, `/cas/${EMPTY_SHA1}`, `/i/cas/${EMPTY_SHA256.toUpperCase()}`]) {
      const res = await call(cas, path);
      expect([path, res.status, await res.text()]).toEqual([path, 200, ""]);
      expect(res.headers.get("content-length")).toBe("0");
      expect(res.headers.get("etag")).toBe(`"${path.slice(path.lastIndexOf("/") + 1).toLowerCase()}"`);
      expect((await call(cas, path, { method: "HEAD" })).status).toBe(200);
    }
    expect((await call(cas, `/cas/${EMPTY_SHA256}`, { headers: { range: "bytes=0-" } })).status).toBe(416);
    expect(cas.store.stats().blobs).toBe(0);
    // Uploading it is still verified: only an empty body is the empty blob.
    expect((await call(cas, `/cas/${EMPTY_SHA256}`, { method: "PUT", body: "x" })).status).toBe(400);
    expect([200, 201]).toContain((await call(cas, `/cas/${EMPTY_SHA256}`, { method: "PUT", body: "" })).status);
  });
});

describe("GET /status and the metrics by kind", () => {
  test("/status gives the store's figures by kind against the limits and quota", async () => {
    const cas = await server({}, { maxBytes: 10_000, maxAcBytes: 500, maxBlobBytes: 5_000 });
    const blob = "twenty bytes of blob";
    await call(cas, `/cas/${digestHex("sha256", blob)}`, { method: "PUT", body: blob });
    await call(cas, `/ac/${KEY}`, { method: "PUT", body: "a first, longer entry" });
    await call(cas, `/ac/${KEY}`, { method: "PUT", body: "entry" });
    await call(cas, `/ac/${"f".repeat(64)}`, { method: "PUT", body: "other" });
    const res = await call(cas, "/status");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      bytes: 30,
      reservedBytes: 0,
      maxBytes: 10_000,
      cas: { blobs: 1, bytes: 20, maxBlobBytes: 5_000 },
      ac: { entries: 2, bytes: 10, maxEntryBytes: 500 },
    });
    expect((await call(cas, "/status", { method: "POST" })).status).toBe(405);
  });

  test("the quota counts entries: a blob that would pass it with them gets 507", async () => {
    const cas = await server({}, { maxBytes: 100 });
    await call(cas, `/ac/${KEY}`, { method: "PUT", body: "e".repeat(60) });
    const blob = "b".repeat(50);
    expect((await call(cas, `/cas/${digestHex("sha256", blob)}`, { method: "PUT", body: blob })).status).toBe(507);
  });

  test("cas_store_requests_total counts hits and misses by kind, every series from the first scrape", async () => {
    const cas = await server();
    const zero = await cas.metrics.registry.metrics();
    for (const kind of ["cas", "ac"]) {
      for (const result of ["hit", "miss"]) {
        expect(zero).toContain(`cas_store_requests_total{kind="${kind}",result="${result}"} 0`);
      }
    }
    const blob = "counted";
    const hash = digestHex("sha256", blob);
    await call(cas, `/cas/${hash}`, { method: "PUT", body: blob });
    await call(cas, `/ac/${KEY}`, { method: "PUT", body: "entry" });
    await call(cas, `/cas/${hash}`); // from disk
    await call(cas, `/cas/${hash}`); // from the read cache
    await call(cas, `/cas/${hash}`, { method: "HEAD" });
    await call(cas, `/cas/${EMPTY_SHA256}`);
    await call(cas, `/cas/${"0".repeat(64)}`);
    await call(cas, `/ac/${KEY}`);
    await call(cas, `/ac/${KEY}`, { method: "HEAD" });
    await call(cas, `/ac/${"0".repeat(64)}`);
    await call(cas, `/ac/${"1".repeat(64)}`);
    const text = await cas.metrics.registry.metrics();
    expect(text).toContain('cas_store_requests_total{kind="cas",result="hit"} 4');
    expect(text).toContain('cas_store_requests_total{kind="cas",result="miss"} 1');
    expect(text).toContain('cas_store_requests_total{kind="ac",result="hit"} 2');
    expect(text).toContain('cas_store_requests_total{kind="ac",result="miss"} 2');
    expect(text).toContain('cas_store_blobs{kind="ac"} 1');
    expect(text).toContain('cas_store_bytes{kind="ac"} 5');
    expect(text).toContain('cas_store_written_bytes_total{kind="ac"} 5');
    expect(text).toContain('cas_store_blobs{kind="cas"} 1');
  });
});

test("server.ts takes --max-ac-bytes (CAS_MAX_AC_BYTES) and counts entries found at start", async () => {
  const first = await startServer(["--max-ac-bytes", "10"]);
  try {
    expect((await fetch(`${first.url}/ac/${KEY}`, { method: "PUT", body: "0123456789" })).status).toBe(201);
    expect((await fetch(`${first.url}/ac/${KEY}`, { method: "PUT", body: "0123456789a" })).status).toBe(413);
    await first.stop();
    const second = await startServer([], { dataDir: first.dataDir, env: { CAS_MAX_AC_BYTES: "5" } });
    try {
      expect((await fetch(`${second.url}/ac/${KEY}`, { method: "PUT", body: "012345" })).status).toBe(413);
      expect(await (await fetch(`${second.url}/ac/${KEY}`)).text()).toBe("0123456789");
      expect(second.logs.some((line) => line.includes('"acEntries":1') && line.includes('"acBytes":10'))).toBe(true);
    } finally {
      await second.stop();
    }
  } finally {
    await first.dispose();
  }
});
