/**
 * The disk store: blob `<dir>/<algo>/<first two hex>/<hash>`, verified while it streams into a temp file
 * in `<dir>/tmp`, fsynced, then linked into place, so a blob is either absent or complete. Action-cache entries
 * (`<dir>/ac/<first two hex>/<key>`) take the same path but are renamed into place, replacing any older entry.
 * Async file I/O. One process per data directory: counts and byte totals are scanned at open, then kept in memory.
 */
import type { FileHandle } from "node:fs/promises";
import { access, link, lstat, mkdir, open, readdir, rename, rm, stat, statfs, unlink } from "node:fs/promises";
import { constants } from "node:fs";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { hasherFor, parseActionKey, parseKey, type BlobKey, type HashAlgorithm } from "../common/key.ts";

/** Largest blob accepted unless configured: 1 GiB (also bounds one upload's time and temp space). */
export const DEFAULT_MAX_BLOB_BYTES = 2 ** 30;
/**
 * Largest action-cache entry accepted unless configured: 64 MiB. Bazel's entries are a few hundred bytes, but
 * ccache keeps whole (compressed) object files there, which can run to megabytes.
 */
export const DEFAULT_MAX_AC_BYTES = 64 * 2 ** 20;
/**
 * An entry file starts with the SHA-256 of its content (the entry's ETag, computed once as it streams in), then
 * the content. Renaming the file into place replaces both at once.
 */
export const AC_HEADER_BYTES = 32;

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
  /** Largest action-cache entry in bytes. @default DEFAULT_MAX_AC_BYTES */
  maxAcBytes?: number;
  /** Quota on the sum of stored blob and action-cache entry sizes; 0 means unlimited. @default 0 */
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

/** An opened action-cache entry: its content is `size` bytes from offset AC_HEADER_BYTES of the file. */
export interface OpenEntry extends OpenBlob {
  /** Lowercase hex SHA-256 of the content. */
  digest: string;
}

export interface ActionPutOptions extends PutOptions {
  /** Keep the content in memory while it streams in, when it is at most this many bytes. @default 0 (never) */
  retainUpTo?: number;
  /**
   * Called once the new entry is in place, synchronously after the rename (so calls come in the order the entries
   * replaced one another), with its content when it was retained.
   */
  onCommit?: (entry: CommittedEntry) => void;
}

/** An entry just renamed into place. */
export interface CommittedEntry {
  size: number;
  /** Lowercase hex SHA-256 of the content. */
  digest: string;
  /** The content, when it was retained (see ActionPutOptions.retainUpTo). */
  bytes: Uint8Array<ArrayBuffer> | undefined;
}

export interface ActionPutResult {
  size: number;
  /** Lowercase hex SHA-256 of the content. */
  digest: string;
  /** True when no entry was there before; false when this one replaced it. */
  created: boolean;
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
  /** Action-cache entries stored. */
  acEntries: number;
  /** Sum of their content sizes (headers not counted). */
  acBytes: number;
  /** Bytes of action-cache entries written since start, replacements included. */
  acWrittenBytes: number;
  /** Bytes received by uploads still in flight, held against the quota. */
  reservedBytes: number;
}

export interface BlobStore {
  readonly dir: string;
  readonly maxBlobBytes: number;
  readonly maxAcBytes: number;
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
  /** The file of an action-cache entry; `key` must come from parseActionKey. */
  acPathOf(key: string): string;
  /** Opens an action-cache entry, or undefined when there is none. */
  openAction(key: string): Promise<OpenEntry | undefined>;
  /**
   * Streams `body` in as the entry for `key`, replacing any entry there once it is complete and fsynced (the
   * last to finish wins). Throws StoreError (`too_large`, `insufficient_storage`); on failure the old entry stays.
   */
  putAction(key: string, body: AsyncIterable<Uint8Array>, options?: ActionPutOptions): Promise<ActionPutResult>;
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
  const maxAcBytes = options.maxAcBytes ?? DEFAULT_MAX_AC_BYTES;
  const maxBytes = options.maxBytes ?? 0;
  const minFreeBytes = options.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
  const tmpDir = join(dir, "tmp");
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  const counted = await scan(dir);
  const countedAc = await scanActions(dir);
  let blobs = counted.blobs;
  let bytes = counted.bytes;
  let writtenBytes = 0;
  let digestMismatches = 0;
  let acEntries = countedAc.entries;
  let acBytes = countedAc.bytes;
  let acWrittenBytes = 0;
  // Bytes received by uploads still in flight, so concurrent uploads cannot overshoot the quota together.
  let reserved = 0;
  const madeDirs = new Set<string>();
  // Commits of one action-cache key run one after another, so each sees the size of the entry it replaces.
  const committing = new Map<string, Promise<unknown>>();

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

  function checkAcSize(size: number): void {
    if (size > maxAcBytes) throw new StoreError("too_large", `action-cache entry larger than ${maxAcBytes} bytes`);
  }

  // Both kinds count: an entry being replaced still holds its bytes until the new one lands.
  function checkQuota(extra: number): void {
    if (maxBytes > 0 && bytes + acBytes + reserved + extra > maxBytes) {
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
    const handle = await openIfPresent(pathOf(key));
    if (handle === undefined) return undefined;
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

    return withTempFile(async ({ handle, path, held }) => {
      const hasher = hasherFor(algorithm);
      const size = await streamInto(handle, body, { hasher, checkSize, held });
      const hex = hasher.digest("hex");
      if (expected !== undefined && hex !== expected.hex) {
        digestMismatches++;
        throw new StoreError("digest_mismatch", `content does not hash to ${expected.hex}`);
      }
      await handle.sync();
      await handle.close();
      const key = expected ?? { algorithm, hex };
      const created = await commit(path, key);
      if (created) {
        blobs++;
        bytes += size;
        writtenBytes += size;
      }
      return { key, size, created };
    });
  }

  /**
   * Runs `write` on a fresh file in `<dir>/tmp`. Whatever happens, the quota it held is given back and the
   * temp name closed and removed (a committed file has been linked or renamed away by then), and a full
   * volume becomes `insufficient_storage`.
   */
  async function withTempFile<T>(
    write: (temp: { handle: FileHandle; path: string; held: { bytes: number } }) => Promise<T>,
  ): Promise<T> {
    const path = join(tmpDir, randomUUID());
    const held = { bytes: 0 };
    let handle: FileHandle | undefined;
    try {
      handle = await openTemp(path);
      return await write({ handle, path, held });
    } catch (err) {
      throw storageError(err);
    } finally {
      reserved -= held.bytes;
      // Closing a handle that `write` already closed does nothing.
      await handle?.close().catch(() => {});
      await unlink(path).catch(() => {});
    }
  }

  /**
   * Writes `body` to the end of the open temp file in batches while hashing it, holding quota for every byte
   * received (added to `held`, which the caller gives back), and keeping the chunks in `retained` while the body
   * is at most `retainUpTo` bytes (dropped beyond). Returns the body's size once all of it is written.
   */
  async function streamInto(
    handle: FileHandle,
    body: AsyncIterable<Uint8Array>,
    into: {
      hasher: Bun.CryptoHasher;
      checkSize: (size: number) => void;
      held: { bytes: number };
      retain?: { upTo: number; chunks: Uint8Array[] | undefined };
    },
  ): Promise<number> {
    let pending: Promise<unknown> | undefined;
    let syncing: Promise<unknown> | undefined;
    let unsynced = 0;
    let size = 0;
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    try {
      for await (const chunk of body) {
        size += chunk.byteLength;
        into.checkSize(size);
        checkQuota(chunk.byteLength);
        reserved += chunk.byteLength;
        into.held.bytes += chunk.byteLength;
        into.hasher.update(chunk);
        if (into.retain?.chunks !== undefined) {
          if (size <= into.retain.upTo) into.retain.chunks.push(chunk);
          else into.retain.chunks = undefined;
        }
        batch.push(chunk);
        batchBytes += chunk.byteLength;
        if (batchBytes >= WRITE_BATCH_BYTES || batch.length >= WRITE_BATCH_CHUNKS) {
          await pending;
          pending = writeAll(handle, batch, batchBytes);
          unsynced += batchBytes;
          // Flush to disk while the upload goes on, so the final fsync has little left to do.
          if (unsynced >= SYNC_EVERY_BYTES && syncing === undefined) {
            unsynced = 0;
            syncing = pending.then(() => handle.datasync()).finally(() => (syncing = undefined));
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
      return size;
    } finally {
      // A write may still be running when the body failed; let it settle before the caller closes the handle.
      await pending?.catch(() => {});
      await syncing?.catch(() => {});
    }
  }

  function acPathOf(key: string): string {
    // Defence in depth, as for blobs: only a parsed key ever becomes a file name.
    if (parseActionKey(key) !== key) throw new TypeError(`Cannot build a path: "${key}" is not an action key`);
    return join(dir, "ac", key.slice(0, 2), key);
  }

  async function openAction(key: string): Promise<OpenEntry | undefined> {
    const handle = await openIfPresent(acPathOf(key));
    if (handle === undefined) return undefined;
    try {
      const fileSize = (await handle.stat()).size;
      const header = new Uint8Array(AC_HEADER_BYTES);
      const { bytesRead } = await handle.read(header, 0, AC_HEADER_BYTES, 0);
      if (bytesRead !== AC_HEADER_BYTES) throw new Error(`action-cache entry ${key} is shorter than its header`);
      return { handle, size: fileSize - AC_HEADER_BYTES, digest: Buffer.from(header).toString("hex") };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async function putAction(
    key: string,
    body: AsyncIterable<Uint8Array>,
    putOptions: ActionPutOptions = {},
  ): Promise<ActionPutResult> {
    const finalPath = acPathOf(key);
    if (putOptions.declaredSize !== undefined) {
      checkAcSize(putOptions.declaredSize);
      checkQuota(putOptions.declaredSize);
    }
    return withTempFile(async ({ handle, path, held }) => {
      // Room for the header, written once the content's digest is known.
      await writeAll(handle, [new Uint8Array(AC_HEADER_BYTES)], AC_HEADER_BYTES);
      const hasher = hasherFor("sha256");
      const retainUpTo = putOptions.retainUpTo ?? 0;
      const retain = { upTo: retainUpTo, chunks: retainUpTo > 0 ? ([] as Uint8Array[]) : undefined };
      const size = await streamInto(handle, body, { hasher, checkSize: checkAcSize, held, retain });
      const digest = hasher.digest();
      const { bytesWritten } = await handle.write(digest, 0, AC_HEADER_BYTES, 0);
      if (bytesWritten !== AC_HEADER_BYTES) throw new ShortWriteError("short header write");
      await handle.sync();
      await handle.close();
      const committed = { size, digest: digest.toString("hex"), bytes: joined(retain.chunks, size) };
      const created = await serialized(key, () =>
        replaceEntry(path, finalPath, size, () => putOptions.onCommit?.(committed)),
      );
      acWrittenBytes += size;
      return { size, digest: committed.digest, created };
    });
  }

  // rename() replaces atomically: a reader has the old entry or the new one, never a mix or nothing.
  async function replaceEntry(
    tmpPath: string,
    finalPath: string,
    size: number,
    onRenamed: () => void,
  ): Promise<boolean> {
    const parent = join(finalPath, "..");
    if (!madeDirs.has(parent)) {
      await mkdir(parent, { recursive: true });
      madeDirs.add(parent);
    }
    const old = await entrySize(finalPath);
    await rename(tmpPath, finalPath);
    acBytes += size - (old ?? 0);
    if (old === undefined) acEntries++;
    onRenamed();
    await syncDir(parent);
    return old === undefined;
  }

  async function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (committing.get(key) ?? Promise.resolve()).then(fn);
    const settled = run.catch(() => {});
    committing.set(key, settled);
    try {
      return await run;
    } finally {
      if (committing.get(key) === settled) committing.delete(key);
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
    if (maxBytes > 0 && bytes + acBytes >= maxBytes) return false;
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
    maxAcBytes,
    maxBytes,
    pathOf,
    sizeOf,
    open: openBlob,
    put,
    acPathOf,
    openAction,
    putAction,
    ready,
    stats: () => ({
      blobs,
      bytes,
      writtenBytes,
      digestMismatches,
      acEntries,
      acBytes,
      acWrittenBytes,
      reservedBytes: reserved,
    }),
  };
}

/** A full volume, whatever way it shows, is `insufficient_storage`; anything else passes unchanged. */
function storageError(err: unknown): unknown {
  if (isCode(err, "ENOSPC") || isCode(err, "EDQUOT") || err instanceof ShortWriteError) {
    return new StoreError("insufficient_storage", "no space left on the data volume");
  }
  return err;
}

/** The retained chunks as one buffer, or undefined when they were not kept. */
function joined(chunks: Uint8Array[] | undefined, size: number): Uint8Array<ArrayBuffer> | undefined {
  if (chunks === undefined) return undefined;
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** The content size of the entry file at `path`, or undefined when there is none. */
async function entrySize(path: string): Promise<number | undefined> {
  try {
    return Math.max(0, (await stat(path)).size - AC_HEADER_BYTES);
  } catch (err) {
    if (isCode(err, "ENOENT")) return undefined;
    throw err;
  }
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

/** Reads `size` bytes from `start` of an opened file into one buffer; the caller closes the handle. */
export async function readWhole(handle: FileHandle, size: number, start = 0): Promise<Uint8Array<ArrayBuffer>> {
  const body = new Uint8Array(size);
  let offset = 0;
  while (offset < size) {
    const { bytesRead } = await handle.read(body, offset, size - offset, start + offset);
    if (bytesRead === 0) throw new Error("blob ended early");
    offset += bytesRead;
  }
  return body;
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

/** Counts the action-cache entries under `<dir>/ac` (files named by a key, in the right prefix folder). */
async function scanActions(dir: string): Promise<{ entries: number; bytes: number }> {
  let entries = 0;
  let bytes = 0;
  const acDir = join(dir, "ac");
  for (const prefix of await listDir(acDir)) {
    for (const name of await listDir(join(acDir, prefix))) {
      if (parseActionKey(name) !== name || !name.startsWith(prefix)) continue;
      const info = await lstat(join(acDir, prefix, name));
      if (!info.isFile() || info.size < AC_HEADER_BYTES) continue;
      entries++;
      bytes += info.size - AC_HEADER_BYTES;
    }
  }
  return { entries, bytes };
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (err) {
    if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) return [];
    throw err;
  }
}

/** Opens a file for reading; undefined when it does not exist. */
async function openIfPresent(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, "r");
  } catch (err) {
    if (isCode(err, "ENOENT")) return undefined;
    throw err;
  }
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === code;
}
