/**
 * A streaming multipart/form-data reader (RFC 7578, RFC 2046): parts come one at a time and each part's
 * body is read straight from the request stream, so a large file part never sits in memory whole.
 * Async, no I/O of its own; malformed input throws {@linkcode MultipartError}.
 */

/** The body is not well-formed multipart: the HTTP layer answers 400. */
export class MultipartError extends Error {
  override name = "MultipartError";
}

export interface MultipartPart {
  /** The `name` of its Content-Disposition, or undefined when there is none. */
  name: string | undefined;
  /** The `filename` of its Content-Disposition, if given. */
  filename: string | undefined;
  /** Header fields, names in lowercase. */
  headers: Map<string, string>;
  /** The part's content. Read it before asking for the next part; what is left unread is skipped. */
  body: AsyncIterable<Uint8Array>;
}

export interface MultipartOptions {
  /** Largest header block of one part. @default 16384 */
  maxHeaderBytes?: number;
}

/** The boundary of a `multipart/form-data` Content-Type, or undefined for any other type. */
export function multipartBoundary(contentType: string | null | undefined): string | undefined {
  if (!contentType) return undefined;
  const semi = contentType.indexOf(";");
  const mediaType = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (mediaType !== "multipart/form-data" || semi === -1) return undefined;
  const boundary = parseParams(contentType.slice(semi)).get("boundary");
  if (boundary === undefined || boundary.length < 1 || boundary.length > 70) return undefined;
  return boundary;
}

const CRLF = Buffer.from("\r\n");
const HEADER_END = Buffer.from("\r\n\r\n");

/**
 * Yields the parts of a multipart body. Throws MultipartError for a missing boundary, an oversized or
 * malformed header block, or a body that ends before the closing delimiter.
 */
export async function* readMultipart(
  stream: AsyncIterable<Uint8Array>,
  boundary: string,
  options: MultipartOptions = {},
): AsyncGenerator<MultipartPart> {
  const maxHeaderBytes = options.maxHeaderBytes ?? 16384;
  const delimiter = Buffer.from("\r\n--" + boundary);
  const source = stream[Symbol.asyncIterator]();
  // The first delimiter has no leading CRLF; starting the buffer with one makes every delimiter alike.
  let buffer: Buffer = Buffer.from(CRLF);
  let ended = false;
  let partDone = true;

  async function fill(): Promise<boolean> {
    if (ended) return false;
    const next = await source.next();
    if (next.done) {
      ended = true;
      return false;
    }
    const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    return true;
  }

  async function need(bytes: number): Promise<void> {
    while (buffer.length < bytes) {
      if (!(await fill())) throw new MultipartError("multipart body ended early");
    }
  }

  // Yields the current part's bytes up to the next delimiter, keeping back a tail that might start one.
  async function* partBytes(): AsyncGenerator<Uint8Array> {
    while (!partDone) {
      const at = buffer.indexOf(delimiter);
      if (at !== -1) {
        const content = buffer.subarray(0, at);
        buffer = buffer.subarray(at + delimiter.length);
        partDone = true;
        if (content.length > 0) yield content;
        return;
      }
      const safe = buffer.length - (delimiter.length - 1);
      if (safe > 0) {
        const content = buffer.subarray(0, safe);
        buffer = buffer.subarray(safe);
        yield content;
      }
      if (!(await fill())) throw new MultipartError("multipart body ended before the closing boundary");
    }
  }

  // Skip the preamble up to the first delimiter.
  for (;;) {
    const at = buffer.indexOf(delimiter);
    if (at !== -1) {
      buffer = buffer.subarray(at + delimiter.length);
      break;
    }
    buffer = buffer.subarray(Math.max(0, buffer.length - (delimiter.length - 1)));
    if (!(await fill())) throw new MultipartError("multipart body has no boundary");
  }

  for (;;) {
    // After a delimiter: "--" closes the body; otherwise optional padding and CRLF start a part.
    await need(2);
    if (buffer[0] === 0x2d && buffer[1] === 0x2d) break;
    let lineEnd = buffer.indexOf(CRLF);
    while (lineEnd === -1) {
      if (buffer.length > 256) throw new MultipartError("malformed multipart boundary line");
      await need(buffer.length + 1);
      lineEnd = buffer.indexOf(CRLF);
    }
    if (buffer.subarray(0, lineEnd).some((b) => b !== 0x20 && b !== 0x09)) {
      throw new MultipartError("malformed multipart boundary line");
    }
    buffer = buffer.subarray(lineEnd + 2);
    const headers = await readHeaders();
    const disposition = parseParams(headers.get("content-disposition") ?? "");
    partDone = false;
    yield { name: disposition.get("name"), filename: disposition.get("filename"), headers, body: partBytes() };
    // Skip whatever the caller left unread of this part.
    for await (const _ of partBytes());
  }
  // The epilogue after the closing delimiter carries nothing; read it so the request completes.
  while (await fill()) buffer = Buffer.alloc(0);

  async function readHeaders(): Promise<Map<string, string>> {
    await need(2);
    const headers = new Map<string, string>();
    if (buffer[0] === 0x0d && buffer[1] === 0x0a) {
      buffer = buffer.subarray(2);
      return headers;
    }
    let end = buffer.indexOf(HEADER_END);
    while (end === -1) {
      if (buffer.length > maxHeaderBytes) throw new MultipartError("multipart part headers too large");
      if (!(await fill())) throw new MultipartError("multipart body ended in part headers");
      end = buffer.indexOf(HEADER_END);
    }
    if (end > maxHeaderBytes) throw new MultipartError("multipart part headers too large");
    const text = buffer.subarray(0, end).toString("utf8");
    buffer = buffer.subarray(end + HEADER_END.length);
    for (const line of text.split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon <= 0) throw new MultipartError("malformed multipart part header");
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    return headers;
  }
}

/** Parameters of a header value such as `form-data; name="file"; filename="a \"b\".txt"` (names lowercased). */
function parseParams(value: string): Map<string, string> {
  const params = new Map<string, string>();
  const re = /;\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) {
    const raw = m[2]!.trim();
    const unquoted = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw;
    const name = m[1]!.toLowerCase();
    if (!params.has(name)) params.set(name, unquoted);
  }
  return params;
}
