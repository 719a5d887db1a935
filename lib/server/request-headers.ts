/**
 * The request headers that decide how the origin answers, read the same way on every route: the declared
 * body size (`Content-Length`) and conditional reads (`If-None-Match`). Pure.
 */

/** The body size a request declares with `Content-Length`, or undefined (chunked, or not a plain number). */
export function declaredLength(req: Request): number | undefined {
  const raw = req.headers.get("content-length");
  if (raw === null || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/** True when an If-None-Match list names `etag` (weak comparison, as RFC 9110 asks) or is `*`. */
export function etagMatches(header: string, etag: string): boolean {
  if (header === etag) return true;
  return header.split(",").some((item) => {
    const tag = item.trim();
    return tag === "*" || tag === etag || tag === "W/" + etag;
  });
}
