/**
 * Parses an HTTP `Range` header (RFC 9110 §14) against a known size. Pure. Only a single byte range is
 * served; a list of ranges, another unit or bad syntax is ignored (the whole blob is sent, as the RFC allows).
 */

/** What to send: the whole blob, bytes [start, end) with 206, or 416. */
export type RangeResult =
  { kind: "full" } | { kind: "partial"; start: number; end: number } | { kind: "unsatisfiable" };

const FULL: RangeResult = { kind: "full" };
const SINGLE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i;

/** Resolves `header` (null when absent) for a blob of `size` bytes. */
export function parseByteRange(header: string | null, size: number): RangeResult {
  if (header === null) return FULL;
  const m = SINGLE.exec(header);
  if (m === null) return FULL;
  const [, first = "", last = ""] = m;
  if (first === "") {
    // "-N": the last N bytes.
    if (last === "") return FULL;
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(first);
  if (last !== "" && Number(last) < start) return FULL;
  if (start >= size) return { kind: "unsatisfiable" };
  const end = last === "" ? size : Math.min(size, Number(last) + 1);
  return { kind: "partial", start, end };
}

/** The `Content-Range` value for a 206 (`bytes 0-99/1000`) or, without a range, for a 416 (`bytes *\/1000`). */
export function contentRange(size: number, range?: { start: number; end: number }): string {
  return range === undefined ? `bytes */${size}` : `bytes ${range.start}-${range.end - 1}/${size}`;
}
