/**
 * A stored entry's answer, prepared once: what the origin's read cache holds for blobs and action-cache entries
 * alike. The body is a Blob and the headers a Headers object because Bun builds a Response from those without
 * copying or converting (a Uint8Array body is copied per response, a plain header object converted): about
 * 1 µs per response instead of 5 to 7 µs. Plain data, no I/O.
 */

export interface BlobView {
  size: number;
  etag: string;
  /** The whole content when it is small enough to hold. */
  body: Blob | undefined;
  ok: ResponseInit & { headers: Headers };
  notModified: ResponseInit;
}

export const OCTET_STREAM = "application/octet-stream";

/** The view of `size` bytes (held when `bytes` is given) under `etag`, sent with `cacheControl`. */
export function blobView(
  etag: string,
  cacheControl: string,
  size: number,
  bytes: Uint8Array<ArrayBuffer> | undefined,
  extraHeaders: Record<string, string> = {},
): BlobView {
  return {
    size,
    etag,
    body: bytes === undefined ? undefined : new Blob([bytes], { type: OCTET_STREAM }),
    ok: {
      status: 200,
      headers: new Headers({
        "content-type": OCTET_STREAM,
        "content-length": String(size),
        etag,
        "cache-control": cacheControl,
        ...extraHeaders,
      }),
    },
    notModified: { status: 304, headers: new Headers({ etag, "cache-control": cacheControl }) },
  };
}
