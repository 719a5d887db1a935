/**
 * server.ts as a real process: uploads. Raw and multipart PUT, POST, digest mismatch, size limits, quota,
 * the write token, torn uploads, path tricks and concurrent PUTs of one key.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { digestHex } from "../../lib/common/key.ts";
import { rawConnect, rawRequest, statusOf } from "../support/raw-http.ts";
import { eventually, filesUnder, startServer, type ServerProcess } from "../support/server-process.ts";

const MIB = 2 ** 20;
const encoder = new TextEncoder();
let server: ServerProcess;

beforeAll(async () => {
  server = await startServer(["--max-blob-bytes", "1MiB"]);
});
afterAll(async () => {
  await server.dispose();
});

function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

function blobPath(dataDir: string, hex: string): string {
  return join(dataDir, hex.length === 40 ? "sha1" : "sha256", hex.slice(0, 2), hex);
}

function stored(hex: string): Uint8Array | undefined {
  const path = blobPath(server.dataDir, hex);
  return existsSync(path) ? new Uint8Array(readFileSync(path)) : undefined;
}

describe("PUT /cas/<hash> (raw body)", () => {
  test("PUT answers 201 {hash,size} when new and 200 when already stored", async () => {
    const blob = randomBytes(3000);
    const hash = digestHex("sha256", blob);
    const first = await fetch(`${server.url}/cas/${hash}`, { method: "PUT", body: blob });
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ hash, size: 3000 });
    const again = await fetch(`${server.url}/cas/${hash.toUpperCase()}`, { method: "PUT", body: blob });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ hash, size: 3000 });
    expect(stored(hash)).toEqual(blob);
  });

  test("PUT of the empty blob is stored when its hash matches", async () => {
    const hash = digestHex("sha1", new Uint8Array(0));
    const res = await fetch(`${server.url}/cas/${hash}`, { method: "PUT", body: new Uint8Array(0) });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ hash, size: 0 });
    const got = await fetch(`${server.url}/cas/${hash}`);
    expect(got.headers.get("content-length")).toBe("0");
    expect((await got.arrayBuffer()).byteLength).toBe(0);
  });

  test("PUT with a mismatched digest answers 400 digest_mismatch and stores nothing", async () => {
    const hash = digestHex("sha256", encoder.encode("what the client claims"));
    const res = await fetch(`${server.url}/cas/${hash}`, { method: "PUT", body: "what it sends" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "digest_mismatch" });
    expect(stored(hash)).toBeUndefined();
    expect(readdirSync(join(server.dataDir, "tmp"))).toEqual([]);
    expect((await fetch(`${server.url}/cas/${hash}`)).status).toBe(404);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/cas_store_digest_mismatches_total [1-9]/);
  });

  test("PUT with an invalid key answers 400 invalid_key", async () => {
    const res = await fetch(`${server.url}/cas/not-a-hash`, { method: "PUT", body: "x" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_key" });
  });

  test("PUT over --max-blob-bytes answers 413, whether declared or streamed", async () => {
    const blob = randomBytes(MIB + 1);
    const hash = digestHex("sha256", blob);
    const declared = await fetch(`${server.url}/cas/${hash}`, { method: "PUT", body: blob });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ error: "too_large" });
    // A multipart envelope hides the file's size, so only the streamed count can catch it.
    const form = new FormData();
    form.append("file", new Blob([blob]), hash);
    const streamed = await fetch(`${server.url}/cas/${hash}`, { method: "PUT", body: form });
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toMatchObject({ error: "too_large" });
    expect(stored(hash)).toBeUndefined();
    expect(await eventually(() => readdirSync(join(server.dataDir, "tmp")).length === 0)).toBe(true);
  });
});

describe("PUT /cas/<hash> (multipart/form-data)", () => {
  test("PUT takes field `file` exactly as the original Go client sends it", async () => {
    // 2,500 letters named by their SHA-1, as the original client generates them.
    const content = encoder.encode("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX".repeat(50));
    const sha1 = digestHex("sha1", content);
    const boundary = "b5e1b7f2c8a9d4e3f6a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1";
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${sha1}"\r\n` +
          "Content-Type: application/octet-stream\r\n\r\n",
      ),
      content,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const head =
      `PUT /cas/${sha1} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUser-Agent: Go-http-client/1.1\r\n` +
      `Content-Length: ${body.length}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n` +
      "Accept-Encoding: gzip\r\nConnection: close\r\n\r\n";
    const raw = await rawRequest(server.port, Buffer.concat([Buffer.from(head), body]));
    expect(statusOf(raw)).toBe(201);
    expect(raw).toContain(`{"hash":"${sha1}","size":2500}`);
    expect(stored(sha1)).toEqual(content);
  });

  test("PUT multipart with a mismatched file answers 400 digest_mismatch", async () => {
    const hash = digestHex("sha256", encoder.encode("expected"));
    const form = new FormData();
    form.append("file", new Blob(["other"]), "x");
    const res = await fetch(`${server.url}/cas/${hash}`, { method: "PUT", body: form });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "digest_mismatch" });
    expect(stored(hash)).toBeUndefined();
  });

  test("PUT multipart without a `file` field answers 400 missing_file", async () => {
    const form = new FormData();
    form.append("upload", new Blob(["content"]), "x");
    const hash = digestHex("sha256", encoder.encode("content"));
    const res = await fetch(`${server.url}/cas/${hash}`, { method: "PUT", body: form });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "missing_file" });
    expect(stored(hash)).toBeUndefined();
  });

  test("PUT with a broken multipart body answers 400 bad_multipart", async () => {
    const hash = digestHex("sha256", encoder.encode("x"));
    const res = await fetch(`${server.url}/cas/${hash}`, {
      method: "PUT",
      headers: { "content-type": "multipart/form-data; boundary=XYZ" },
      body: '--XYZ\r\nContent-Disposition: form-data; name="file"\r\n\r\nx and no closing boundary',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "bad_multipart" });
  });
});

describe("POST /cas", () => {
  test("POST stores under the SHA-256 it computes: 201 with Location and {hash,size}", async () => {
    const blob = randomBytes(10_000);
    const hash = digestHex("sha256", blob);
    const res = await fetch(`${server.url}/cas`, { method: "POST", body: blob });
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe(`/cas/${hash}`);
    expect(await res.json()).toEqual({ hash, size: 10_000 });
    const got = await fetch(server.url + res.headers.get("location"));
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(blob);
    const again = await fetch(`${server.url}/cas`, { method: "POST", body: blob });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ hash, size: 10_000 });
  });
});

describe("robustness", () => {
  test("a torn upload (client closes half-way) leaves no file in the data dir", async () => {
    const blob = randomBytes(MIB);
    const hash = digestHex("sha256", blob);
    const conn = await rawConnect(server.port);
    conn.write(`PUT /cas/${hash} HTTP/1.1\r\nHost: t\r\nContent-Length: ${blob.length}\r\n\r\n`);
    conn.write(blob.subarray(0, blob.length / 2));
    await conn.flushed();
    // The upload is in progress once its temp file exists.
    expect(await eventually(() => readdirSync(join(server.dataDir, "tmp")).length > 0)).toBe(true);
    conn.close();
    expect(await eventually(() => readdirSync(join(server.dataDir, "tmp")).length === 0)).toBe(true);
    expect(stored(hash)).toBeUndefined();
    // The server is still healthy afterwards.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  test("path tricks never reach the file system: ../, %2e%2e, encoded slashes, backslashes, NUL", async () => {
    const before = filesUnder(join(server.dataDir, ".."));
    const body = "escape";
    const hex = digestHex("sha256", encoder.encode(body));
    const targets = [
      `/cas/../../../../tmp/escape-${hex}`,
      `/cas/%2e%2e/%2e%2e/%2e%2e/tmp/escape-${hex}`,
      `/cas/..%2f..%2f..%2ftmp%2fescape-${hex}`,
      `/cas/%2e%2e%2f%2e%2e%2fetc%2fpasswd`,
      `/cas/..\\..\\escape`,
      `/cas/${hex}%00`,
      `/cas/${hex}\0`,
      `/cas/${hex.slice(0, 32)}\0${hex.slice(32)}`,
      `/cas/${hex}/../../x`,
      `/cas/%00${hex.slice(3)}`,
    ];
    for (const target of targets) {
      for (const method of ["GET", "PUT"]) {
        const head = `${method} ${target} HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
        const raw = await rawRequest(server.port, head + body);
        const status = statusOf(raw);
        // Refused (400 invalid_key, 404 unknown route, or the HTTP parser's own 4xx/5xx) or closed.
        expect(status === 0 || status >= 400).toBe(true);
      }
    }
    expect(existsSync(`/tmp/escape-${hex}`)).toBe(false);
    expect(filesUnder(join(server.dataDir, ".."))).toEqual(before);
    expect((await fetch(`${server.url}/etc/passwd`)).status).toBe(404);
  });

  test("50 concurrent PUTs of one key end with one correct file and no temp leftovers", async () => {
    const blob = randomBytes(200_000);
    const hash = digestHex("sha256", blob);
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => fetch(`${server.url}/cas/${hash}`, { method: "PUT", body: blob })),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201).length).toBe(1);
    expect(statuses.filter((s) => s === 200).length).toBe(49);
    expect(stored(hash)).toEqual(blob);
    expect(readdirSync(join(server.dataDir, "tmp"))).toEqual([]);
    expect(readdirSync(join(server.dataDir, "sha256", hash.slice(0, 2))).filter((n) => n.startsWith(hash))).toEqual([
      hash,
    ]);
  });
});

describe("--write-token and --max-bytes", () => {
  let guarded: ServerProcess;
  beforeAll(async () => {
    guarded = await startServer(["--max-bytes", "1000"]);
  });
  afterAll(async () => {
    await guarded.dispose();
  });

  test("--max-bytes: a write past the quota answers 507 and /readyz turns 503 at the quota", async () => {
    const first = randomBytes(600);
    const put = (blob: Uint8Array) =>
      fetch(`${guarded.url}/cas/${digestHex("sha256", blob)}`, { method: "PUT", body: blob });
    expect((await put(first)).status).toBe(201);
    expect((await fetch(`${guarded.url}/readyz`)).status).toBe(200);
    const over = await put(randomBytes(600));
    expect(over.status).toBe(507);
    expect(await over.json()).toMatchObject({ error: "insufficient_storage" });
    expect((await put(randomBytes(400))).status).toBe(201);
    const ready = await fetch(`${guarded.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ error: "not_ready" });
    expect((await fetch(`${guarded.url}/healthz`)).status).toBe(200);
  });

  test("--write-token: PUT and POST need the bearer token (401 otherwise); reads stay open", async () => {
    const token = "s3cret-token";
    // The token comes from the environment, as a deployment would pass it.
    const withToken = await startServer([], { env: { CAS_WRITE_TOKEN: token } });
    try {
      const blob = randomBytes(100);
      const url = `${withToken.url}/cas/${digestHex("sha256", blob)}`;
      for (const authorization of [undefined, "Bearer wrong", `Basic ${token}`, `Bearer ${token}x`]) {
        const headers: Record<string, string> = authorization ? { authorization } : {};
        const res = await fetch(url, { method: "PUT", body: blob, headers });
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
        expect(await res.json()).toMatchObject({ error: "unauthorized" });
        expect((await fetch(`${withToken.url}/cas`, { method: "POST", body: blob, headers })).status).toBe(401);
      }
      expect((await fetch(url)).status).toBe(404);
      const ok = await fetch(url, { method: "PUT", body: blob, headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(201);
      const read = await fetch(url);
      expect(read.status).toBe(200);
      expect(new Uint8Array(await read.arrayBuffer())).toEqual(blob);
    } finally {
      await withToken.dispose();
    }
  });
});
