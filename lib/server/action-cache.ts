/**
 * The origin's action cache: `GET`/`HEAD`/`PUT /ac/<key>` over the store's mutable entries (Bazel's and
 * ccache's `layout=bazel` HTTP protocol). A PUT replaces the entry atomically, the last writer winning; a read
 * carries an ETag that is the SHA-256 of the content and `Cache-Control: no-cache`, since an entry can change
 * under its key. Entries are not checked for shape (ccache keeps its own format there, not ActionResults).
 * Small entries share the blobs' read cache, written through on PUT and kept coherent with the disk because one
 * process owns the store.
 */
import { errorResponse } from "../common/http-error.ts";
import type { Lru } from "../lru.ts";
import { blobView, type BlobView } from "./blob-view.ts";
import { declaredLength, etagMatches } from "./request-headers.ts";
import { AC_HEADER_BYTES, fileStream, readWhole, type BlobStore } from "./store.ts";

/** Entries may change, so caches must ask again (with If-None-Match) before reusing one. */
export const AC_CACHE_CONTROL = "no-cache";

export interface ActionCacheOptions {
  store: BlobStore;
  /** Entries up to this size are read whole (and kept in `readCache`); larger ones stream from disk. */
  itemBytes: number;
  /** Called for every GET or HEAD with whether the entry was there. */
  onRead?: (found: boolean) => void;
  /** The origin's read cache; entries are kept under `ac/<key>`, apart from blobs' hex keys. */
  readCache?: Lru<string, BlobView>;
}

export interface ActionCache {
  /**
   * GET or HEAD of an entry (`key` from parseActionKey): 200, 304 on a matching If-None-Match, 404 when absent.
   * An entry in the read cache is answered synchronously.
   */
  read(req: Request, key: string, head: boolean): Response | Promise<Response>;
  /** PUT of an entry whose content is `body` (the request's, maybe rate-bounded): 201 when new, 200 when it replaced one; throws StoreError. */
  write(req: Request, key: string, body: AsyncIterable<Uint8Array>): Promise<Response>;
}

export function createActionCache(options: ActionCacheOptions): ActionCache {
  const { store, itemBytes, readCache } = options;
  const onRead = options.onRead ?? (() => {});
  // Counts entries renamed into place. A read keeps what it read only when no entry landed meanwhile: it may
  // have read the one just replaced.
  let writes = 0;

  function read(req: Request, key: string, head: boolean): Response | Promise<Response> {
    const cached = readCache?.get(`ac/${key}`);
    if (cached === undefined) return readFromDisk(req, key, head);
    onRead(true);
    return answer(req, cached, head);
  }

  async function readFromDisk(req: Request, key: string, head: boolean): Promise<Response> {
    const writesBefore = writes;
    const entry = await store.openAction(key);
    onRead(entry !== undefined);
    if (entry === undefined) return errorResponse(404, "not_found", `no action-cache entry ${key}`);
    const { handle, size } = entry;
    const etag = `"${entry.digest}"`;
    if (size > itemBytes) {
      const view = blobView(etag, AC_CACHE_CONTROL, size, undefined);
      if (head || isNotModified(req, view)) {
        await handle.close();
        return answer(req, view, head);
      }
      return new Response(fileStream(handle, AC_HEADER_BYTES, AC_HEADER_BYTES + size), view.ok);
    }
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = await readWhole(handle, size, AC_HEADER_BYTES);
    } finally {
      await handle.close();
    }
    const view = blobView(etag, AC_CACHE_CONTROL, size, body);
    if (writes === writesBefore) readCache?.set(`ac/${key}`, view);
    return answer(req, view, head);
  }

  async function write(req: Request, key: string, body: AsyncIterable<Uint8Array>): Promise<Response> {
    const result = await store.putAction(key, body, {
      declaredSize: declaredLength(req),
      retainUpTo: readCache === undefined ? 0 : itemBytes,
      // Runs right after the rename, in the order the entries landed: the cache then holds what the disk holds.
      // A build tool often reads an entry soon after it is written (the next build, another machine).
      onCommit({ size, digest, bytes }) {
        writes++;
        if (bytes === undefined) readCache?.delete(`ac/${key}`);
        else readCache?.set(`ac/${key}`, blobView(`"${digest}"`, AC_CACHE_CONTROL, size, bytes));
      },
    });
    return Response.json(
      { key, size: result.size },
      { status: result.created ? 201 : 200, headers: { etag: `"${result.digest}"`, location: `/ac/${key}` } },
    );
  }

  return { read, write };
}

function isNotModified(req: Request, view: BlobView): boolean {
  const ifNoneMatch = req.headers.get("if-none-match");
  return ifNoneMatch !== null && etagMatches(ifNoneMatch, view.etag);
}

/** 304, or 200 with the held body (none for HEAD). */
function answer(req: Request, view: BlobView, head: boolean): Response {
  if (isNotModified(req, view)) return new Response(null, view.notModified);
  return new Response(head ? null : view.body, view.ok);
}
