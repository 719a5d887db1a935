/**
 * The disk store: blob `<dir>/<algo>/<first two hex>/<hash>`, verified while it streams into a temp file
 * in `<dir>/tmp`, fsynced, then linked into place, so a blob is either absent or complete. Async file I/O.
 * One process per data directory: the blob count and byte total are scanned at open and then kept in memory.
 */
import type { FileHandle } from "node:fs/promises";
import { access, link, lstat, mkdir, open, readdir, rm, stat, statfs, unlink } from "node:fs/promises";
import { constants } from "node:fs";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { hasherFor, parseKey, type BlobKey, type HashAlgorithm } from "../common/key.ts";

/** Largest blob accepted unless configured: 1 GiB (also bounds one upload's time and temp space). */
export const DEFAULT_MAX_BLOB_BYTES = 2 ** 30;

/**
 * Free space below which the store is not ready for writes unless configured: 1 MiB. A full disk keeps the
 * temp dir writable (permission is not space), so readiness also asks the file system what is left.
 */
export const DEFAULT_MIN_FREE_BYTES = 2 ** 20;

/** Why a put was refused; the HTTP layer maps each code to a status (400, 413, 507). */
export type StoreErrorCode = "digest_mismatch" | "too_large" | "insufficient_storage";

export class StoreError extends Error {
  override name = "StoreError";
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface StoreOptions {
  /** Largest single blob in bytes. @default DEFAULT_MAX_BLOB_BYTES */
  maxBlobBytes?: number;
  /** Quota on the sum of stored blob sizes; 0 means unlimited. @default 0 */
  maxBytes?: number;
  /** ready() is false while the data volume has less free space than this. @default DEFAULT_MIN_FREE_BYTES */
  minFreeBytes?: number;
}

export interface PutOptions {
  /** The size the client announced (Content-Length of a raw body): checked before any byte is read. */
  declaredSize?: number;
}

export interface PutResult {
  key: BlobKey;
  size: number;
  /** True for the one put that stored the blob; false when it was already there. */
  created: boolean;
}

/** An opened blob: read it, then close the handle (or hand it to {@linkcode fileStream}, which closes it). */
export interface OpenBlob {
  handle: FileHandle;
  size: number;
}

export interface StoreStats {
  /** Blobs stored. */
  blobs: number;
  /** Sum of their sizes. */
  bytes: number;
  /** Bytes of blobs newly stored since start. */
  writtenBytes: number;
  /** Uploads whose content did not hash to their key. */
  digestMismatches: number;
}

export interface BlobStore {
  readonly dir: string;
  readonly maxBlobBytes: number;
  readonly maxBytes: number;
  /** The blob's file name; the key must come from parseKey, so it is plain hex. */
  pathOf(key: BlobKey): string;
  /** The blob's size, or undefined when it is not stored. */
  sizeOf(key: BlobKey): Promise<number | undefined>;
  /** Opens the blob for reading, or undefined when it is not stored. */
  open(key: BlobKey): Promise<OpenBlob | undefined>;
  /**
   * Streams `body` into the store. With a key, the content must hash to it; with an algorithm alone the
   * key is the content's digest. Throws StoreError; on any failure nothing is left behind.
   */
  put(target: BlobKey | HashAlgorithm, body: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<PutResult>;
  /**
   * True when the store can take writes: the temp dir is writable, the quota not reached, and the volume has
   * at least `minFreeBytes` and a free inode left.
   */
  ready(): Promise<boolean>;
  stats(): StoreStats;
}

const ALGORITHMS: readonly HashAlgorithm[] = ["sha1", "sha256"];
const HEX_NAME = /^[0-9a-f]+$/;
// Writes go out in batches of about this size, one batch in flight while the next one fills.
const WRITE_BATCH_BYTES = 1 << 20;
// Stay well below IOV_MAX (1024) when a client sends many tiny chunks.
const WRITE_BATCH_CHUNKS = 256;
const READ_CHUNK_BYTES = 256 * 1024;
const SYNC_EVERY_BYTES = 32 * 2 ** 20;

/** Opens (creating as needed) the store in `dir`: removes temp leftovers, then counts the stored blobs. */
export async function openStore(dir: string, options: StoreOptions = {}): Promise<BlobStore> {
  const maxBlobBytes = options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
  const maxBytes = options.maxBytes ?? 0;
  const minFreeBytes = options.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
  const tmpDir = join(dir, "tmp");
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  const counted = await scan(dir);
  let blobs = counted.blobs;
  let bytes = counted.bytes;
  let writtenBytes = 0;
  let digestMismatches = 0;
  // Bytes received by uploads still in flight, so concurrent uploads cannot overshoot the quota together.
  let reserved = 0;
  const madeDirs = new Set<string>();

  // An operator (or a tmp cleaner) may remove <dir>/tmp while we run; recreate it rather than fail every PUT.
  async function openTemp(path: string): Promise<FileHandle> {
    try {
      return await open(path, "wx", 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      await mkdir(tmpDir, { recursive: true });
      return await open(path, "wx", 0o644);
    }
  }

  function pathOf(key: BlobKey): string {
    // Defence in depth: only plain lowercase hex ever becomes a file name.
    if (!HEX_NAME.test(key.hex)) throw new TypeError(`Cannot build a path: key "${key.hex}" is not lowercase hex`);
    return join(dir, key.algorithm, key.hex.slice(0, 2), key.hex);
  }

  function checkSize(size: number): void {
    if (size > maxBlobBytes) throw new StoreError("too_large", `blob larger than ${maxBlobBytes} bytes`);
  }

  function checkQuota(extra: number): void {
    if (maxBytes > 0 && bytes + reserved + extra > maxBytes) {
      throw new StoreError("insufficient_storage", `store quota of ${maxBytes} bytes reached`);
    }
  }

  async function sizeOf(key: BlobKey): Promise<number | undefined> {
    try {
      return (await stat(pathOf(key))).size;
    } catch (err) {
      if (isCode(err, "ENOENT")) return undefined;
      throw err;
    }
  }

  async function openBlob(key: BlobKey): Promise<OpenBlob | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(pathOf(key), "r");
    } catch (err) {
      if (isCode(err, "ENOENT")) return undefined;
      throw err;
    }
    try {
      return { handle, size: (await handle.stat()).size };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  // A key already stored: the body is still hashed so a wrong body is refused, but nothing is written.
  async function verifyOnly(key: BlobKey, body: AsyncIterable<Uint8Array>): Promise<PutResult> {
    const hasher = hasherFor(key.algorithm);
    let size = 0;
    for await (const chunk of body) {
      size += chunk.byteLength;
      checkSize(size);
      hasher.update(chunk);
    }
    if (hasher.digest("hex") !== key.hex) {
      digestMismatches++;
      throw new StoreError("digest_mismatch", `content does not hash to ${key.hex}`);
    }
    return { key, size, created: false };
  }

  async function put(
    target: BlobKey | HashAlgorithm,
    body: AsyncIterable<Uint8Array>,
    putOptions: PutOptions = {},
  ): Promise<PutResult> {
    const expected = typeof target === "string" ? undefined : target;
    const algorithm = typeof target === "string" ? target : target.algorithm;
    if (putOptions.declaredSize !== undefined) checkSize(putOptions.declaredSize);
    if (expected !== undefined && (await sizeOf(expected)) !== undefined) return verifyOnly(expected, body);
    if (putOptions.declaredSize !== undefined) checkQuota(putOptions.declaredSize);

    const tmpPath = join(tmpDir, randomUUID());
    let handle: FileHandle | undefined;
    let pending: Promise<unknown> | undefined;
    let syncing: Promise<unknown> | undefined;
    let unsynced = 0;
    let held = 0;
    try {
      handle = await openTemp(tmpPath);
      const hasher = hasherFor(algorithm);
      let size = 0;
      let batch: Uint8Array[] = [];
      let batchBytes = 0;
      for await (const chunk of body) {
        size += chunk.byteLength;
        checkSize(size);
        checkQuota(chunk.byteLength);
        reserved += chunk.byteLength;
        held += chunk.byteLength;
        hasher.update(chunk);
        batch.push(chunk);
        batchBytes += chunk.byteLength;
        if (batchBytes >= WRITE_BATCH_BYTES || batch.length >= WRITE_BATCH_CHUNKS) {
          await pending;
          const file = handle;
          pending = writeAll(file, batch, batchBytes);
          unsynced += batchBytes;
          // Flush to disk while the upload goes on, so the final fsync has little left to do.
          if (unsynced >= SYNC_EVERY_BYTES && syncing === undefined) {
            unsynced = 0;
            syncing = pending.then(() => file.datasync()).finally(() => (syncing = undefined));
          }
          // Marked handled now: a failure is reported by the next await, not as an unhandled rejection.
          pending.catch(() => {});
          syncing?.catch(() => {});
          batch = [];
          batchBytes = 0;
        }
      }
      await pending;
      pending = undefined;
      if (batch.length > 0) await writeAll(handle, batch, batchBytes);
      await syncing;
      const hex = hasher.digest("hex");
      if (expected !== undefined && hex !== expected.hex) {
        digestMismatches++;
        throw new StoreError("digest_mismatch", `content does not hash to ${expected.hex}`);
      }
      await handle.sync();
      await handle.close();
      handle = undefined;
      const key = expected ?? { algorithm, hex };
      const created = await commit(tmpPath, key);
      if (created) {
        blobs++;
        bytes += size;
        writtenBytes += size;
      }
      return { key, size, created };
    } catch (err) {
      if (isCode(err, "ENOSPC") || isCode(err, "EDQUOT") || err instanceof ShortWriteError) {
        throw new StoreError("insufficient_storage", "no space left on the data volume");
      }
      throw err;
    } finally {
      reserved -= held;
      // A write may still be running when the body failed; let it settle before closing the handle.
      await pending?.catch(() => {});
      await syncing?.catch(() => {});
      await handle?.close().catch(() => {});
      await unlink(tmpPath).catch(() => {});
    }
  }

  // link() fails with EEXIST when the blob is there already, so exactly one concurrent put creates it,
  // and the final name only ever points at a complete, verified file.
  async function commit(tmpPath: string, key: BlobKey): Promise<boolean> {
    const finalPath = pathOf(key);
    const parent = join(dir, key.algorithm, key.hex.slice(0, 2));
    if (!madeDirs.has(parent)) {
      await mkdir(parent, { recursive: true });
      madeDirs.add(parent);
    }
    try {
      await link(tmpPath, finalPath);
    } catch (err) {
      if (isCode(err, "EEXIST")) return false;
      throw err;
    }
    await syncDir(parent);
    return true;
  }

  async function ready(): Promise<boolean> {
    if (maxBytes > 0 && bytes >= maxBytes) return false;
    try {
      // Recreated if it vanished, as a PUT would; a file in its place (EEXIST) is not ready.
      await mkdir(tmpDir, { recursive: true });
      await access(tmpDir, constants.W_OK);
      return await hasRoom(tmpDir, minFreeBytes);
    } catch {
      return false;
    }
  }

  return {
    dir,
    maxBlobBytes,
    maxBytes,
    pathOf,
    sizeOf,
    open: openBlob,
    put,
    ready,
    stats: () => ({ blobs, bytes, writtenBytes, digestMismatches }),
  };
}

/**
 * A stream of bytes [start, end) of an opened blob, read in 256 KiB pieces; it closes the handle when
 * it ends, fails or is cancelled (a client that goes away).
 */
export function fileStream(handle: FileHandle, start: number, end: number): ReadableStream<Uint8Array> {
  let position = start;
  let closed = false;
  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    await handle.close().catch(() => {});
  }
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const want = Math.min(READ_CHUNK_BYTES, end - position);
        if (want <= 0) {
          await close();
          controller.close();
          return;
        }
        try {
          const buffer = new Uint8Array(want);
          const { bytesRead } = await handle.read(buffer, 0, want, position);
          if (bytesRead === 0) throw new Error("blob ended early");
          position += bytesRead;
          controller.enqueue(bytesRead === want ? buffer : buffer.subarray(0, bytesRead));
        } catch (err) {
          await close();
          controller.error(err);
        }
      },
      cancel: close,
    },
    { highWaterMark: 0 },
  );
}

/** Whether the volume holding `path` has `minFree` bytes and an inode left for this process to use. */
async function hasRoom(path: string, minFree: number): Promise<boolean> {
  const fs = await statfs(path);
  // Root may also use the blocks reserved for it (ext4 keeps 5%); anyone else only the available ones.
  const blocks = process.getuid?.() === 0 ? fs.bfree : fs.bavail;
  // Some file systems (btrfs) report no inode counts at all: files = 0 there means "not limited".
  const inodes = fs.files === 0 || fs.ffree > 0;
  return blocks * fs.bsize >= minFree && inodes;
}

class ShortWriteError extends Error {
  override name = "ShortWriteError";
}

async function writeAll(handle: FileHandle, chunks: Uint8Array[], total: number): Promise<void> {
  const { bytesWritten } = await handle.writev(chunks);
  // A regular file only writes short when the volume is full.
  if (bytesWritten !== total) throw new ShortWriteError(`wrote ${bytesWritten} of ${total} bytes`);
}

async function syncDir(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Counts the blobs under `dir` (files whose names are keys of their algorithm, in the right prefix folder). */
async function scan(dir: string): Promise<{ blobs: number; bytes: number }> {
  let blobs = 0;
  let bytes = 0;
  for (const algorithm of ALGORITHMS) {
    const algoDir = join(dir, algorithm);
    for (const prefix of await listDir(algoDir)) {
      for (const name of await listDir(join(algoDir, prefix))) {
        const key = parseKey(name);
        if (key === undefined || key.algorithm !== algorithm || key.hex !== name || !name.startsWith(prefix)) continue;
        const info = await lstat(join(algoDir, prefix, name));
        if (!info.isFile()) continue;
        blobs++;
        bytes += info.size;
      }
    }
  }
  return { blobs, bytes };
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (err) {
    if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) return [];
    throw err;
  }
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === code;
}
