/**
 * The origin's action cache: `GET`/`HEAD`/`PUT /ac/<key>` over the store's mutable entries (Bazel's and
 * ccache's `layout=bazel` HTTP protocol). A PUT replaces the entry atomically, the last writer winning; a read
 * carries an ETag that is the SHA-256 of the content and `Cache-Control: no-cache`, since an entry can change
 * under its key. Entries are not checked for shape (ccache keeps its own format there, not ActionResults).
 */
import { errorResponse } from "../common/http-error.ts";
import { declaredLength, etagMatches } from "./request-headers.ts";
import { AC_HEADER_BYTES, fileStream, readWhole, type BlobStore } from "./store.ts";

/** Entries may change, so caches must ask again (with If-None-Match) before reusing one. */
export const AC_CACHE_CONTROL = "no-cache";
const OCTET_STREAM = "application/octet-stream";

export interface ActionCacheOptions {
  store: BlobStore;
  /** Entries up to this size are read whole; larger ones stream from disk. */
  itemBytes: number;
  /** Called for every GET or HEAD with whether the entry was there. */
  onRead?: (found: boolean) => void;
}

export interface ActionCache {
  /** GET or HEAD of an entry: 200, 304 on a matching If-None-Match, 404 when absent. `key` from parseActionKey. */
  read(req: Request, key: string, head: boolean): Promise<Response>;
  /** PUT of an entry: 201 when new, 200 when it replaced one; throws StoreError. */
  write(req: Request, key: string): Promise<Response>;
}

export function createActionCache(options: ActionCacheOptions): ActionCache {
  const { store, itemBytes } = options;
  const onRead = options.onRead ?? (() => {});

  async function read(req: Request, key: string, head: boolean): Promise<Response> {
    const entry = await store.openAction(key);
    onRead(entry !== undefined);
    if (entry === undefined) return errorResponse(404, "not_found", `no action-cache entry ${key}`);
    const { handle, size } = entry;
    const etag = `"${entry.digest}"`;
    const ifNoneMatch = req.headers.get("if-none-match");
    const notModified = ifNoneMatch !== null && etagMatches(ifNoneMatch, etag);
    if (notModified || head) await handle.close();
    if (notModified) return new Response(null, { status: 304, headers: { etag, "cache-control": AC_CACHE_CONTROL } });
    const headers = new Headers({
      "content-type": OCTET_STREAM,
      "content-length": String(size),
      etag,
      "cache-control": AC_CACHE_CONTROL,
    });
    if (head) return new Response(null, { headers });
    if (size > itemBytes) return new Response(fileStream(handle, AC_HEADER_BYTES, AC_HEADER_BYTES + size), { headers });
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = await readWhole(handle, size, AC_HEADER_BYTES);
    } finally {
      await handle.close();
    }
    return new Response(new Blob([body], { type: OCTET_STREAM }), { headers });
  }

  async function write(req: Request, key: string): Promise<Response> {
    const result = await store.putAction(key, req.body ?? new Blob().stream(), { declaredSize: declaredLength(req) });
    return Response.json(
      { key, size: result.size },
      { status: result.created ? 201 : 200, headers: { etag: `"${result.digest}"`, location: `/ac/${key}` } },
    );
  }

  return { read, write };
}
