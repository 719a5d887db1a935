import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestHex, parseKey, type BlobKey } from "../../lib/common/key.ts";
import { AC_HEADER_BYTES, StoreError, fileStream, openStore } from "../../lib/server/store.ts";
import { requireMount } from "../support/requires.ts";
import { filesUnder } from "../support/server-process.ts";
import { mountTmpfs } from "../support/tmpfs.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cas-store-test-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const text = (s: string) => new TextEncoder().encode(s);
const sha256Key = (data: Uint8Array) => parseKey(digestHex("sha256", data))!;

/** Yields `data` in pieces of `size` bytes. */
async function* chunks(data: Uint8Array, size = 7): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

/** Yields `data`, then fails the way a request body does when the client disconnects. */
async function* aborted(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
  await Bun.sleep(1);
  throw new DOMException("The connection was closed.", "AbortError");
}

describe("openStore()", () => {
  test("openStore() creates the data dir and an empty tmp dir", async () => {
    const store = await openStore(join(dir, "nested", "data"));
    expect(readdirSync(join(dir, "nested", "data"))).toEqual(["tmp"]);
    expect(store.stats()).toEqual({
      blobs: 0,
      bytes: 0,
      writtenBytes: 0,
      digestMismatches: 0,
      acEntries: 0,
      acBytes: 0,
      acWrittenBytes: 0,
      reservedBytes: 0,
    });
  });

  test("openStore() removes temp leftovers and counts only well-placed blobs", async () => {
    const blob = text("kept");
    const key = sha256Key(blob);
    await mkdir(join(dir, "tmp"), { recursive: true });
    await writeFile(join(dir, "tmp", "half-written"), "xxx");
    await mkdir(join(dir, "sha256", key.hex.slice(0, 2)), { recursive: true });
    await writeFile(join(dir, "sha256", key.hex.slice(0, 2), key.hex), blob);
    // Not blobs: wrong prefix folder, not a key, a key of the other algorithm.
    await mkdir(join(dir, "sha256", "zz"), { recursive: true });
    await writeFile(join(dir, "sha256", "zz", key.hex), blob);
    await writeFile(join(dir, "sha256", key.hex.slice(0, 2), "notes.txt"), "x");
    await mkdir(join(dir, "sha1", "ab"), { recursive: true });
    await writeFile(join(dir, "sha1", "ab", "ab" + "0".repeat(62)), "x");
    const store = await openStore(dir);
    expect(readdirSync(join(dir, "tmp"))).toEqual([]);
    expect(store.stats().blobs).toBe(1);
    expect(store.stats().bytes).toBe(blob.length);
  });
});

describe("BlobStore.put()", () => {
  test("put() stores a verified blob at <algo>/<first two hex>/<hash> and reports created once", async () => {
    const store = await openStore(dir);
    const blob = text("hello world\n");
    const key = sha256Key(blob);
    expect(await store.put(key, chunks(blob))).toEqual({ key, size: blob.length, created: true });
    const path = join(dir, "sha256", key.hex.slice(0, 2), key.hex);
    expect(store.pathOf(key)).toBe(path);
    expect(new Uint8Array(await readFile(path))).toEqual(blob);
    expect(await store.put(key, chunks(blob))).toEqual({ key, size: blob.length, created: false });
    expect(store.stats()).toEqual({
      blobs: 1,
      bytes: blob.length,
      writtenBytes: blob.length,
      digestMismatches: 0,
      acEntries: 0,
      acBytes: 0,
      acWrittenBytes: 0,
      reservedBytes: 0,
    });
    expect(filesUnder(dir)).toEqual([`sha256/${key.hex.slice(0, 2)}/${key.hex}`]);
  });

  test("put() recreates the tmp dir when it was removed while the store runs", async () => {
    const store = await openStore(dir);
    rmSync(join(dir, "tmp"), { recursive: true, force: true });
    const blob = text("after a tmp cleaner");
    const key = sha256Key(blob);
    expect(await store.put(key, chunks(blob))).toEqual({ key, size: blob.length, created: true });
    expect(new Uint8Array(await readFile(store.pathOf(key)))).toEqual(blob);
    expect(readdirSync(join(dir, "tmp"))).toEqual([]);
  });

  test("put() takes SHA-1 keys", async () => {
    const store = await openStore(dir);
    const blob = text("sha one");
    const key = parseKey(digestHex("sha1", blob))!;
    expect((await store.put(key, chunks(blob))).created).toBe(true);
    expect(filesUnder(dir)).toEqual([`sha1/${key.hex.slice(0, 2)}/${key.hex}`]);
  });

  test("put() with an algorithm names the blob by its digest", async () => {
    const store = await openStore(dir);
    const blob = text("computed by the store");
    const result = await store.put("sha256", chunks(blob));
    expect(result.key).toEqual(sha256Key(blob));
    expect(result.created).toBe(true);
  });

  test("put() stores the empty blob", async () => {
    const store = await openStore(dir);
    const key = sha256Key(new Uint8Array(0));
    expect(await store.put(key, chunks(new Uint8Array(0)))).toEqual({ key, size: 0, created: true });
    expect(await store.sizeOf(key)).toBe(0);
  });

  test("put() keeps blobs intact across write batches and background syncs", async () => {
    const store = await openStore(dir);
    // Small pieces exercise the chunk-count limit of a batch; 40 MiB passes the 32 MiB background sync.
    for (const [bytes, piece] of [
      [2 ** 20 + 3, 1000],
      [40 * 2 ** 20, 65536],
    ] as const) {
      const blob = new Uint8Array(bytes);
      for (let i = 0; i < blob.length; i += 65536) crypto.getRandomValues(blob.subarray(i, i + 65536));
      const key = sha256Key(blob);
      await store.put(key, chunks(blob, piece));
      expect(digestHex("sha256", new Uint8Array(await readFile(store.pathOf(key))))).toBe(key.hex);
    }
  });

  test("put() refuses a digest mismatch and leaves nothing behind", async () => {
    const store = await openStore(dir);
    const key = sha256Key(text("expected"));
    const put = store.put(key, chunks(text("something else")));
    await expect(put).rejects.toBeInstanceOf(StoreError);
    await expect(put).rejects.toMatchObject({ code: "digest_mismatch" });
    expect(filesUnder(dir)).toEqual([]);
    expect(store.stats()).toMatchObject({ blobs: 0, bytes: 0, writtenBytes: 0, digestMismatches: 1, reservedBytes: 0 });
  });

  test("put() of a stored key still refuses a body that does not match", async () => {
    const store = await openStore(dir);
    const blob = text("original");
    const key = sha256Key(blob);
    await store.put(key, chunks(blob));
    await expect(store.put(key, chunks(text("forged")))).rejects.toMatchObject({ code: "digest_mismatch" });
    expect(store.stats().digestMismatches).toBe(1);
  });

  test("put() removes the temp file when the body fails half-way", async () => {
    const store = await openStore(dir);
    const blob = new Uint8Array(3 * 2 ** 20);
    await expect(store.put(sha256Key(blob), aborted(blob))).rejects.toMatchObject({ name: "AbortError" });
    expect(filesUnder(dir)).toEqual([]);
    expect(store.stats().blobs).toBe(0);
  });

  test("put() refuses a declared or streamed size above maxBlobBytes", async () => {
    const store = await openStore(dir, { maxBlobBytes: 10 });
    const blob = text("eleven byte");
    let read = false;
    async function* watched(): AsyncGenerator<Uint8Array> {
      read = true;
      yield blob;
    }
    const declared = store.put(sha256Key(blob), watched(), { declaredSize: 11 });
    await expect(declared).rejects.toMatchObject({ code: "too_large" });
    expect(read).toBe(false);
    await expect(store.put(sha256Key(blob), chunks(blob, 4))).rejects.toMatchObject({ code: "too_large" });
    expect(filesUnder(dir)).toEqual([]);
    expect((await store.put(sha256Key(text("ten bytes!")), chunks(text("ten bytes!")))).created).toBe(true);
  });

  test("put() refuses writes beyond maxBytes and ready() turns false at the quota", async () => {
    const store = await openStore(dir, { maxBytes: 10 });
    expect(await store.ready()).toBe(true);
    const first = text("123456");
    await store.put(sha256Key(first), chunks(first));
    const second = text("abcdef");
    const full = { code: "insufficient_storage" };
    await expect(store.put(sha256Key(second), chunks(second))).rejects.toMatchObject(full);
    await expect(store.put(sha256Key(second), chunks(second), { declaredSize: 6 })).rejects.toMatchObject(full);
    await store.put(sha256Key(text("1234")), chunks(text("1234")));
    expect(store.stats().bytes).toBe(10);
    expect(await store.ready()).toBe(false);
    expect(filesUnder(dir).length).toBe(2);
  });

  test.skipIf(!requireMount())("ready() is false on a full disk and true again once space returns", async () => {
    const disk = mountTmpfs(2 * 2 ** 20);
    try {
      const store = await openStore(join(disk.dir, "data"));
      expect(await store.ready()).toBe(true);
      const ballast = disk.fill();
      const blob = crypto.getRandomValues(new Uint8Array(20_000));
      await expect(store.put(sha256Key(blob), chunks(blob, 4096))).rejects.toMatchObject({
        code: "insufficient_storage",
      });
      expect(await store.ready()).toBe(false);
      rmSync(ballast);
      expect(await store.ready()).toBe(true);
      expect((await store.put(sha256Key(blob), chunks(blob, 4096))).created).toBe(true);
    } finally {
      disk.dispose();
    }
  });

  test("put() of one key from 20 callers at once creates it exactly once", async () => {
    const store = await openStore(dir);
    const blob = crypto.getRandomValues(new Uint8Array(60_000));
    const key = sha256Key(blob);
    const results = await Promise.all(Array.from({ length: 20 }, () => store.put(key, chunks(blob, 4096))));
    expect(results.filter((r) => r.created).length).toBe(1);
    expect(store.stats()).toMatchObject({ blobs: 1, bytes: blob.length });
    expect(filesUnder(dir)).toEqual([`sha256/${key.hex.slice(0, 2)}/${key.hex}`]);
  });
});

describe("BlobStore reads", () => {
  test("sizeOf() and open() answer undefined for a missing blob", async () => {
    const store = await openStore(dir);
    const key: BlobKey = sha256Key(text("absent"));
    expect(await store.sizeOf(key)).toBeUndefined();
    expect(await store.open(key)).toBeUndefined();
  });

  test("fileStream() yields the requested byte range and closes the handle", async () => {
    const store = await openStore(dir);
    const blob = new Uint8Array(600_000).map((_, i) => i % 251);
    const key = sha256Key(blob);
    await store.put(key, chunks(blob, 65536));
    const whole = await store.open(key);
    expect(whole!.size).toBe(blob.length);
    expect(new Uint8Array(await new Response(fileStream(whole!.handle, 0, whole!.size)).arrayBuffer())).toEqual(blob);
    const part = await store.open(key);
    const range = new Uint8Array(await new Response(fileStream(part!.handle, 1000, 400_000)).arrayBuffer());
    expect(range).toEqual(blob.subarray(1000, 400_000));
    // A closed handle refuses further reads.
    await expect(part!.handle.read(new Uint8Array(1), 0, 1, 0)).rejects.toThrow();
  });

  test("pathOf() refuses a key that is not lowercase hex", async () => {
    const store = await openStore(dir);
    expect(() => store.pathOf({ algorithm: "sha256", hex: "../../etc/passwd" })).toThrow(TypeError);
  });
});

describe("BlobStore action-cache entries", () => {
  const key = "ab".repeat(32);

  async function readEntry(store: Awaited<ReturnType<typeof openStore>>, k = key): Promise<string | undefined> {
    const entry = await store.openAction(k);
    if (entry === undefined) return undefined;
    return new Response(fileStream(entry.handle, AC_HEADER_BYTES, AC_HEADER_BYTES + entry.size)).text();
  }

  test("putAction() stores an entry under <dir>/ac/<2 hex>/<key> with its content's SHA-256", async () => {
    const store = await openStore(dir);
    const result = await store.putAction(key, chunks(text("first entry")));
    expect(result).toEqual({ size: 11, digest: digestHex("sha256", "first entry"), created: true });
    expect(store.acPathOf(key)).toBe(join(dir, "ac", "ab", key));
    const entry = await store.openAction(key);
    expect(entry?.digest).toBe(digestHex("sha256", "first entry"));
    await entry?.handle.close();
    expect(await readEntry(store)).toBe("first entry");
    expect(store.stats()).toMatchObject({ acEntries: 1, acBytes: 11, acWrittenBytes: 11, blobs: 0, bytes: 0 });
  });

  test("putAction() replaces an entry; the counts follow the new size", async () => {
    const store = await openStore(dir);
    await store.putAction(key, chunks(text("a long first entry")));
    const second = await store.putAction(key, chunks(text("short")));
    expect(second.created).toBe(false);
    expect(await readEntry(store)).toBe("short");
    expect(store.stats()).toMatchObject({ acEntries: 1, acBytes: 5, acWrittenBytes: 23 });
    expect(filesUnder(join(dir, "tmp"))).toEqual([]);
  });

  test("a reader that opened the old entry reads it whole while a replacement lands", async () => {
    const store = await openStore(dir);
    const old = new Uint8Array(500_000).fill(1);
    await store.putAction(key, chunks(old, 65536));
    const opened = await store.openAction(key);
    await store.putAction(key, chunks(new Uint8Array(500_000).fill(2), 65536));
    const seen = new Uint8Array(
      await new Response(fileStream(opened!.handle, AC_HEADER_BYTES, AC_HEADER_BYTES + opened!.size)).arrayBuffer(),
    );
    expect(seen).toEqual(old);
    const now = await store.openAction(key);
    expect(now?.digest).toBe(digestHex("sha256", new Uint8Array(500_000).fill(2)));
    await now?.handle.close();
  });

  test("the put that finishes last wins, whichever started first", async () => {
    const store = await openStore(dir);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* slow(): AsyncGenerator<Uint8Array> {
      yield text("started first, ");
      await gate;
      yield text("finished last");
    }
    const first = store.putAction(key, slow());
    await store.putAction(key, chunks(text("started second, finished first")));
    expect(await readEntry(store)).toBe("started second, finished first");
    release();
    await first;
    expect(await readEntry(store)).toBe("started first, finished last");
    expect(store.stats()).toMatchObject({ acEntries: 1, acBytes: 28 });
  });

  test("onCommit() runs once per landed entry, in landing order, with the content when it was retained", async () => {
    const store = await openStore(dir);
    const seen: [number, string | undefined][] = [];
    const onCommit = ({ size, bytes }: { size: number; bytes: Uint8Array | undefined }) =>
      seen.push([size, bytes === undefined ? undefined : new TextDecoder().decode(bytes)]);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* slow(): AsyncGenerator<Uint8Array> {
      yield text("lands ");
      await gate;
      yield text("last");
    }
    const last = store.putAction(key, slow(), { retainUpTo: 100, onCommit });
    await store.putAction(key, chunks(text("lands first"), 3), { retainUpTo: 100, onCommit });
    await store.putAction(key, chunks(text("too long to keep")), { retainUpTo: 5, onCommit });
    release();
    await last;
    await expect(
      store.putAction(key, chunks(text("x".repeat(30))), { onCommit, declaredSize: 1e12 }),
    ).rejects.toThrow();
    expect(seen).toEqual([
      [11, "lands first"],
      [16, undefined],
      [10, "lands last"],
    ]);
  });

  test("a failed or too large put leaves the old entry as it was", async () => {
    const store = await openStore(dir, { maxAcBytes: 20 });
    await store.putAction(key, chunks(text("kept")));
    await expect(store.putAction(key, aborted(text("half a new entry")))).rejects.toThrow();
    await expect(store.putAction(key, chunks(text("x".repeat(21))))).rejects.toMatchObject({ code: "too_large" });
    await expect(store.putAction(key, chunks(text("")), { declaredSize: 21 })).rejects.toBeInstanceOf(StoreError);
    expect(await readEntry(store)).toBe("kept");
    expect(store.stats()).toMatchObject({ acEntries: 1, acBytes: 4, reservedBytes: 0 });
    expect(filesUnder(join(dir, "tmp"))).toEqual([]);
    // The limit is the action cache's own: a blob of the same size is fine.
    const blob = text("x".repeat(21));
    expect((await store.put(sha256Key(blob), chunks(blob))).created).toBe(true);
  });

  test("the quota counts blobs and entries together", async () => {
    const store = await openStore(dir, { maxBytes: 100 });
    await store.putAction(key, chunks(text("e".repeat(60))));
    const blob = text("b".repeat(50));
    await expect(store.put(sha256Key(blob), chunks(blob))).rejects.toMatchObject({ code: "insufficient_storage" });
    await store.put(sha256Key(text("b".repeat(40))), chunks(text("b".repeat(40))));
    expect(await store.ready()).toBe(false);
    await expect(store.putAction("cd".repeat(32), chunks(text("1")))).rejects.toMatchObject({
      code: "insufficient_storage",
    });
  });

  test("openStore() counts the entries found, skipping misplaced and truncated files", async () => {
    const first = await openStore(dir);
    await first.putAction(key, chunks(text("twelve bytes")));
    await first.putAction("cd".repeat(32), chunks(text("")));
    await mkdir(join(dir, "ac", "ee"), { recursive: true });
    await writeFile(join(dir, "ac", "ee", "ff".repeat(32)), "misplaced, and longer than a header..");
    await writeFile(join(dir, "ac", "ee", "ee".repeat(32)), "short");
    const store = await openStore(dir);
    expect(store.stats()).toMatchObject({ acEntries: 2, acBytes: 12 });
    expect(await readEntry(store)).toBe("twelve bytes");
    expect(await readEntry(store, "cd".repeat(32))).toBe("");
  });

  test("openAction() answers undefined for a missing entry; acPathOf() refuses what is not a key", async () => {
    const store = await openStore(dir);
    expect(await store.openAction(key)).toBeUndefined();
    expect(() => store.acPathOf("../" + "a".repeat(61))).toThrow(TypeError);
    expect(() => store.acPathOf("AB".repeat(32))).toThrow(TypeError);
  });
});
