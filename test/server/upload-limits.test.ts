/**
 * lib/server/upload-limits.ts: an upload that falls below the minimum average rate after its grace period is
 * cut off with 408 and its body cancelled; uploads beyond the cap get 503 with Retry-After. Directly, and
 * through the handler on a real socket with a client that drips its body.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HttpError } from "../../lib/common/http-error.ts";
import { digestHex } from "../../lib/common/key.ts";
import { createCasServer } from "../../lib/server/cas-handler.ts";
import { openStore, type BlobStore } from "../../lib/server/store.ts";
import { rateBounded, uploadSlots } from "../../lib/server/upload-limits.ts";
import { rawConnect, statusOf } from "../support/raw-http.ts";
import { startServer } from "../support/server-process.ts";

/** A body that yields `chunks` at once and then either ends or stays open; records whether it was cancelled. */
function body(chunks: Uint8Array[], options: { end: boolean }) {
  const seen = { cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      if (options.end) controller.close();
    },
    cancel() {
      seen.cancelled = true;
    },
  });
  return { stream, seen };
}

async function drain(source: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const chunk of source) n += chunk.byteLength;
  return n;
}

describe("rateBounded()", () => {
  test("rateBounded() cuts a stalled body off with 408 upload_too_slow after the grace period and cancels it", async () => {
    const { stream, seen } = body([new Uint8Array(10)], { end: false });
    const err = await drain(rateBounded(stream, { graceMs: 50, minBytesPerSecond: 1000 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ status: 408, code: "upload_too_slow", headers: { connection: "close" } });
    expect((err as HttpError).message).toContain("10 bytes");
    expect(seen.cancelled).toBe(true);
  });

  test("rateBounded() passes a body that arrives in time through whole", async () => {
    const { stream, seen } = body([new Uint8Array(3000), new Uint8Array(5)], { end: true });
    expect(await drain(rateBounded(stream, { graceMs: 1000, minBytesPerSecond: 1 }))).toBe(3005);
    expect(seen.cancelled).toBe(false);
  });

  test("rateBounded() with a rate of 0 never cuts a body off", async () => {
    let push: (c: Uint8Array | null) => void = () => {};
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (c) => (c === null ? controller.close() : controller.enqueue(c));
      },
    });
    const drained = drain(rateBounded(stream, { graceMs: 1, minBytesPerSecond: 0 }));
    await Bun.sleep(50);
    push(new Uint8Array(7));
    push(null);
    expect(await drained).toBe(7);
  });

  test("rateBounded() cancels the body when its consumer stops early", async () => {
    const { stream, seen } = body([new Uint8Array(1), new Uint8Array(1)], { end: false });
    for await (const _ of rateBounded(stream)) break;
    expect(seen.cancelled).toBe(true);
  });
});

describe("uploadSlots()", () => {
  test("uploadSlots() refuses one upload too many with 503, Retry-After and Connection: close", () => {
    const slots = uploadSlots(2);
    slots.take();
    slots.take();
    expect(() => slots.take()).toThrow(HttpError);
    try {
      slots.take();
    } catch (err) {
      expect(err).toMatchObject({
        status: 503,
        code: "too_many_uploads",
        headers: { "retry-after": "1", connection: "close" },
      });
    }
    expect(slots.inFlight).toBe(2);
    slots.release();
    slots.take();
    expect(slots.inFlight).toBe(2);
  });

  test("uploadSlots(0) has no cap", () => {
    const slots = uploadSlots(0);
    for (let i = 0; i < 10_000; i++) slots.take();
    expect(slots.inFlight).toBe(10_000);
  });
});

describe("the handler over a real socket", () => {
  let dir: string;
  let store: BlobStore;
  let server: ReturnType<typeof Bun.serve>;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "cas-upload-limits-"));
    store = await openStore(dir);
    const cas = createCasServer({ store, uploadRate: { graceMs: 300, minBytesPerSecond: 1000 }, maxUploads: 2 });
    // Bun's idle timeout as server.ts sets it: long enough that only the handler's bound can cut a drip.
    server = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 120, fetch: cas.fetch });
  });
  afterEach(async () => {
    await server.stop(true);
    rmSync(dir, { recursive: true, force: true });
  });

  const HEAD = (hash: string) => `PUT /cas/${hash} HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n`;

  /** A PUT that sends one byte every 50 ms (20 bytes/s) until the server answers or closes. */
  async function drip(hash: string) {
    const conn = await rawConnect(server.port!);
    conn.write(HEAD(hash));
    const timer = setInterval(() => conn.write("x"), 50);
    const answer = conn.received(20_000).finally(() => clearInterval(timer));
    return { answer, close: () => conn.close() };
  }

  test("a PUT that drips its body gets 408 upload_too_slow, the connection closes and no temp file stays", async () => {
    const upload = await drip(digestHex("sha256", new Uint8Array(100_000)));
    await Bun.sleep(200);
    expect(readdirSync(join(dir, "tmp"))).toHaveLength(1);
    const raw = await upload.answer;
    expect(statusOf(raw)).toBe(408);
    expect(raw.toLowerCase()).toContain("connection: close");
    expect(raw).toContain('"error":"upload_too_slow"');
    expect(readdirSync(join(dir, "tmp"))).toEqual([]);
    expect(store.stats().blobs).toBe(0);
  });

  test("beyond --max-uploads a PUT gets 503 with Retry-After; a slot freed by a 408 takes the next upload", async () => {
    const hash = digestHex("sha256", new Uint8Array(100_000));
    const slow = [await drip(hash), await drip(hash)];
    await Bun.sleep(100);
    const refused = await fetch(`${server.url}cas/${digestHex("sha256", new Uint8Array(3))}`, {
      method: "PUT",
      body: new Uint8Array(3),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toMatchObject({ error: "too_many_uploads" });
    for (const s of slow) expect(statusOf(await s.answer)).toBe(408);
    const blob = new Uint8Array(3000).fill(1);
    const ok = await fetch(`${server.url}cas/${digestHex("sha256", blob)}`, { method: "PUT", body: blob });
    expect(ok.status).toBe(201);
  });
});

describe("action-cache uploads over a real socket", () => {
  let dir: string;
  let server: ReturnType<typeof Bun.serve>;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "cas-upload-limits-ac-"));
    const cas = createCasServer({
      store: await openStore(dir),
      uploadRate: { graceMs: 300, minBytesPerSecond: 1000 },
      maxUploads: 1,
    });
    server = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 120, fetch: cas.fetch });
  });
  afterEach(async () => {
    await server.stop(true);
    rmSync(dir, { recursive: true, force: true });
  });

  test("a dripping /ac/ PUT holds an upload slot, then gets 408 upload_too_slow, leaving no entry", async () => {
    const key = "ab".repeat(32);
    const conn = await rawConnect(server.port!);
    conn.write(`PUT /ac/${key} HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n`);
    const timer = setInterval(() => conn.write("x"), 50);
    await Bun.sleep(100);
    const refused = await fetch(`${server.url}ac/${"cd".repeat(32)}`, { method: "PUT", body: "x" });
    expect(refused.status).toBe(503);
    const raw = await conn.received(20_000).finally(() => clearInterval(timer));
    expect(statusOf(raw)).toBe(408);
    expect((await fetch(`${server.url}ac/${key}`)).status).toBe(404);
    expect(readdirSync(join(dir, "tmp"))).toEqual([]);
  });
});

describe("server.ts flags", () => {
  test("--upload-grace, --upload-min-rate (CAS_UPLOAD_MIN_RATE) and --max-uploads bound a real server", async () => {
    const server = await startServer(["--upload-grace", "300ms", "--max-uploads", "1"], {
      env: { CAS_UPLOAD_MIN_RATE: "1000" },
    });
    try {
      const conn = await rawConnect(server.port);
      conn.write(
        `PUT /cas/${digestHex("sha256", new Uint8Array(8))} HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n`,
      );
      const timer = setInterval(() => conn.write("x"), 50);
      await Bun.sleep(100);
      const second = await fetch(`${server.url}/cas/${digestHex("sha256", new Uint8Array(3))}`, {
        method: "PUT",
        body: new Uint8Array(3),
      });
      const raw = await conn.received(10_000).finally(() => clearInterval(timer));
      expect(second.status).toBe(503);
      expect(statusOf(raw)).toBe(408);
      expect(readdirSync(join(server.dataDir, "tmp"))).toEqual([]);
    } finally {
      await server.dispose();
    }
  });
});
