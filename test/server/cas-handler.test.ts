/**
 * The request handler called directly (no socket): the read cache, blobs streamed from disk, vanished
 * files, internal errors and metric labels. The same rows over a real process are in server*.test.ts.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCasServer, type CasServer, type CasServerOptions } from "../../lib/server/cas-handler.ts";
import { digestHex, parseKey } from "../../lib/common/key.ts";
import { createLogger } from "../../lib/common/log.ts";
import { openStore, type BlobStore } from "../../lib/server/store.ts";

const BASE = "http://cas.test";
let dir: string;
let store: BlobStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "cas-handler-test-"));
  store = await openStore(dir);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function server(options: Partial<CasServerOptions> = {}): CasServer {
  return createCasServer({ store, ...options });
}

function bytes(n: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(n).map((_, i) => (i * 7) % 256);
}

async function put(cas: CasServer, blob: Uint8Array<ArrayBuffer>): Promise<string> {
  const hash = digestHex("sha256", blob);
  const res = await cas.fetch(new Request(`${BASE}/cas/${hash}`, { method: "PUT", body: blob }));
  expect(res.status).toBe(201);
  return hash;
}

describe("read cache", () => {
  test("a small blob is answered synchronously from memory once read", async () => {
    const cas = server();
    const blob = bytes(25_000);
    const hash = await put(cas, blob);
    const first = cas.fetch(new Request(`${BASE}/cas/${hash}`));
    expect(first).toBeInstanceOf(Promise);
    expect(new Uint8Array(await (await first).arrayBuffer())).toEqual(blob);
    const second = cas.fetch(new Request(`${BASE}/cas/${hash}`));
    expect(second).toBeInstanceOf(Response);
    expect(new Uint8Array(await (second as Response).arrayBuffer())).toEqual(blob);
    // Served from memory even after the file is gone: content never changes, so this is never stale.
    await rm(store.pathOf(parseKey(hash)!));
    expect((cas.fetch(new Request(`${BASE}/cas/${hash}`)) as Response).status).toBe(200);
  });

  test("--read-cache-bytes 0 reads from disk every time", async () => {
    const cas = server({ readCacheBytes: 0 });
    const hash = await put(cas, bytes(100));
    for (let i = 0; i < 2; i++) {
      const res = cas.fetch(new Request(`${BASE}/cas/${hash}`));
      expect(res).toBeInstanceOf(Promise);
      expect((await res).status).toBe(200);
    }
  });

  test("a blob whose file vanished before it was read answers 404, not 500", async () => {
    const cas = server();
    const hash = await put(cas, bytes(10));
    await rm(store.pathOf(parseKey(hash)!));
    for (const method of ["GET", "HEAD"]) {
      const res = await cas.fetch(new Request(`${BASE}/cas/${hash}`, { method }));
      expect(res.status).toBe(404);
    }
  });
});

describe("large blobs stream from disk", () => {
  const blob = bytes(300_000);

  test("GET streams a blob above --read-cache-item-bytes with its Content-Length", async () => {
    const cas = server({ readCacheItemBytes: 1000 });
    const hash = await put(cas, blob);
    for (let i = 0; i < 2; i++) {
      const res = await cas.fetch(new Request(`${BASE}/cas/${hash}`));
      expect(res.status).toBe(200);
      expect(res.headers.get("content-length")).toBe("300000");
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(blob);
    }
  });

  test("Range, If-None-Match, HEAD and 416 work on a streamed blob", async () => {
    const cas = server({ readCacheItemBytes: 1000 });
    const hash = await put(cas, blob);
    const url = `${BASE}/cas/${hash}`;
    const ranged = await cas.fetch(new Request(url, { headers: { range: "bytes=299000-" } }));
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toBe("bytes 299000-299999/300000");
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(blob.subarray(299_000));
    const head = await cas.fetch(new Request(url, { method: "HEAD", headers: { range: "bytes=0-9" } }));
    expect(head.status).toBe(206);
    expect(head.headers.get("content-length")).toBe("10");
    expect((await cas.fetch(new Request(url, { headers: { "if-none-match": `"${hash}"` } }))).status).toBe(304);
    expect((await cas.fetch(new Request(url, { headers: { range: "bytes=300000-" } }))).status).toBe(416);
  });
});

describe("errors", () => {
  test("an unexpected failure answers 500 JSON without a stack and logs one error line", async () => {
    const lines: string[] = [];
    const cas = server({ logger: createLogger({ write: (line) => lines.push(line) }) });
    // The temp dir turning into a file under the server is not a client mistake (a vanished one is recreated).
    await rm(join(dir, "tmp"), { recursive: true });
    await writeFile(join(dir, "tmp"), "not a directory");
    const blob = bytes(10);
    const res = await cas.fetch(new Request(`${BASE}/cas/${digestHex("sha256", blob)}`, { method: "PUT", body: blob }));
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: "internal", message: "internal server error" });
    expect(text).not.toContain(" at ");
    expect(lines.length).toBe(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "error", msg: "request failed", method: "PUT" });
    const ready = await cas.fetch(new Request(`${BASE}/readyz`));
    expect(ready.status).toBe(503);
  });

  test("a write token of any length is compared without throwing", async () => {
    const cas = server({ writeToken: "secret" });
    for (const token of ["", "s", "secret!", "x".repeat(1000)]) {
      const req = new Request(`${BASE}/cas`, {
        method: "POST",
        body: "x",
        headers: { authorization: `Bearer ${token}` },
      });
      expect((await cas.fetch(req)).status).toBe(401);
    }
    const ok = new Request(`${BASE}/cas`, { method: "POST", body: "x", headers: { authorization: "bearer  secret" } });
    expect((await cas.fetch(ok)).status).toBe(201);
  });
});

describe("metrics", () => {
  test("requests are counted under route patterns, never raw paths", async () => {
    const cas = server();
    await cas.fetch(new Request(`${BASE}/some/where/${"f".repeat(64)}`));
    await cas.fetch(new Request(`${BASE}/cas/${"f".repeat(64)}`, { method: "PATCH" }));
    const text = await cas.metrics.registry.metrics();
    expect(text).toContain('cas_http_requests_total{method="GET",route="unmatched",status="404"} 1');
    expect(text).toContain('cas_http_requests_total{method="PATCH",route="/cas/:hash",status="405"} 1');
    expect(text).not.toContain("f".repeat(64));
    expect(text).not.toContain("some/where");
  });

  test("maxRequestBodySize leaves room for a multipart envelope around the largest blob", async () => {
    const small = await openStore(join(dir, "small"), { maxBlobBytes: 1000 });
    expect(createCasServer({ store: small }).maxRequestBodySize).toBeGreaterThan(1000);
  });
});
