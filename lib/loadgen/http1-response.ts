/**
 * An incremental HTTP/1.x response parser for the load generator's client: bytes go in as they arrive, steps come
 * out (body bytes, response complete, malformed), whatever the chunk boundaries. Pure and synchronous: no sockets,
 * no timers, no allocation per response beyond an uncommon reason phrase or a line split across pushes. Reads the
 * status line and the headers that frame the body (Content-Length, Transfer-Encoding, Connection) plus X-Cache;
 * skips the rest. Leaves out decompression, upgrades (101 is malformed) and checks beyond what framing needs.
 */

/** A cache's verdict on a response, from its `X-Cache` header. */
export type CacheStatus = "HIT" | "MISS";

/** What {@linkcode Http1ResponseParser.next} found. */
export const enum ParseStep {
  /** Every byte pushed is used up; a partial head or line is kept for the next push. */
  More,
  /** Body bytes (after chunked decoding): `input` from `bodyStart` to `bodyEnd`, a view, not a copy. */
  Body,
  /** The response is complete; `rest` bytes pushed after it are left unread. */
  Done,
  /** The response is malformed; `error` says how. Every later next() says so again until begin(). */
  Error,
}

const CRLF = Buffer.from("\r\n");
const CRLFCRLF = Buffer.from("\r\n\r\n");
const EMPTY: Buffer = Buffer.alloc(0);

// the parser keeps a small number per response (no string per response); these are the shared strings it maps to
const enum Cache {
  None,
  Hit,
  Miss,
}
const CACHE_STATUS: readonly (CacheStatus | undefined)[] = [undefined, "HIT", "MISS"];

const enum Phase {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
  /** The body's last bytes went out as Body: Done comes next, even with no byte left. */
  Complete,
  Failed,
}

/**
 * Reads one response at a time: begin() for each request, push() each chunk that arrives, then next() until it
 * says More (or Done, or Error). One parser serves a connection for its whole life, so nothing is allocated per
 * response.
 */
export class Http1ResponseParser {
  #phase = Phase.Head;
  /** Bytes left in the body (Length) or the current chunk (ChunkData, ChunkEnd). */
  #remaining = 0;
  /** Part of a head or line split across pushes. */
  #pending: Buffer | undefined = undefined;
  #input: Buffer = EMPTY;
  #off = 0;
  /** The request was HEAD: no body whatever the headers say. */
  #head = false;
  #status = 0;
  #statusText = "";
  #cache = Cache.None;
  #closeAfter = false;
  #bodyStart = 0;
  #bodyEnd = 0;
  #rest = 0;
  #error = "";

  /** Status code of the last head read (a 1xx until the final one arrives); 0 before any. */
  get status(): number {
    return this.#status;
  }

  /** Reason phrase of the last head read, "" without one. */
  get statusText(): string {
    return this.#statusText;
  }

  /**
   * What the final head's `X-Cache` header said (name in any case; value `HIT` or `MISS` in any case as its first
   * word); undefined without one or with another value.
   */
  get cache(): CacheStatus | undefined {
    return CACHE_STATUS[this.#cache];
  }

  /**
   * The connection cannot carry another request after this response: `Connection: close`, HTTP/1.0 without
   * `Connection: keep-alive`, or a body that runs until the close.
   */
  get closeAfter(): boolean {
    return this.#closeAfter;
  }

  /** The body runs until the connection closes, so a close completes the response instead of cutting it short. */
  get untilClose(): boolean {
    return this.#phase === Phase.UntilClose;
  }

  /** The bytes a Body step points into. */
  get input(): Buffer {
    return this.#input;
  }

  get bodyStart(): number {
    return this.#bodyStart;
  }

  get bodyEnd(): number {
    return this.#bodyEnd;
  }

  /** After Done: how many bytes of the last push came after the response (a pipelined or stray answer). */
  get rest(): number {
    return this.#rest;
  }

  /** After Error: what was wrong. */
  get error(): string {
    return this.#error;
  }

  /** Starts on the response to a new request; `head` for a HEAD request, whose response has no body. */
  begin(head: boolean): void {
    this.#phase = Phase.Head;
    this.#remaining = 0;
    this.#pending = undefined;
    this.#input = EMPTY;
    this.#off = 0;
    this.#head = head;
    this.#status = 0;
    this.#statusText = "";
    this.#cache = Cache.None;
    this.#closeAfter = false;
    this.#rest = 0;
    this.#error = "";
  }

  /** Hands over the next bytes received; next() then reads them. */
  push(data: Buffer): void {
    if (this.#pending !== undefined) {
      this.#input = Buffer.concat([this.#pending, data]);
      this.#pending = undefined;
    } else this.#input = data;
    this.#off = 0;
  }

  /** Reads on from where the last step stopped. */
  next(): ParseStep {
    const buf = this.#input;
    const end = buf.length;
    let off = this.#off;
    while (off < end || this.#phase === Phase.Complete || this.#phase === Phase.Failed) {
      switch (this.#phase) {
        case Phase.Head: {
          const stop = buf.indexOf(CRLFCRLF, off);
          if (stop === -1) {
            this.#pending = buf.subarray(off);
            return this.#more();
          }
          if (!this.#parseHead(buf, off, stop)) return this.#fail("malformed HTTP response");
          off = stop + 4;
          if ((this.#phase as Phase) === Phase.Length && this.#remaining === 0) return this.#done(off);
          break;
        }
        case Phase.Length:
        case Phase.ChunkData: {
          const take = Math.min(this.#remaining, end - off);
          this.#bodyStart = off;
          off += take;
          this.#bodyEnd = off;
          this.#off = off;
          this.#remaining -= take;
          if (this.#remaining === 0) {
            if (this.#phase === Phase.Length) this.#phase = Phase.Complete;
            else {
              this.#phase = Phase.ChunkEnd;
              this.#remaining = 2; // the CRLF after the chunk's data
            }
          }
          return ParseStep.Body;
        }
        case Phase.ChunkEnd: {
          const take = Math.min(this.#remaining, end - off);
          off += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#phase = Phase.ChunkSize;
          break;
        }
        case Phase.ChunkSize:
        case Phase.Trailers: {
          const eol = buf.indexOf(CRLF, off);
          if (eol === -1) {
            this.#pending = buf.subarray(off);
            return this.#more();
          }
          if (this.#phase === Phase.Trailers) {
            const empty = eol === off;
            off = eol + 2;
            if (empty) return this.#done(off);
            break;
          }
          const size = parseChunkSize(buf, off, eol);
          if (size < 0) return this.#fail("malformed chunked body");
          off = eol + 2;
          if (size === 0) this.#phase = Phase.Trailers;
          else {
            this.#phase = Phase.ChunkData;
            this.#remaining = size;
          }
          break;
        }
        case Phase.UntilClose: {
          this.#bodyStart = off;
          this.#bodyEnd = end;
          this.#off = end;
          return ParseStep.Body;
        }
        case Phase.Complete:
          return this.#done(off);
        case Phase.Failed:
          return ParseStep.Error;
      }
    }
    return this.#more();
  }

  #more(): ParseStep {
    this.#input = EMPTY; // held in #pending if still needed
    this.#off = 0;
    return ParseStep.More;
  }

  #done(off: number): ParseStep {
    this.#rest = this.#input.length - off;
    this.#phase = Phase.Head;
    this.#pending = undefined;
    this.#input = EMPTY;
    this.#off = 0;
    return ParseStep.Done;
  }

  #fail(error: string): ParseStep {
    this.#error = error;
    this.#phase = Phase.Failed;
    this.#input = EMPTY;
    this.#off = 0;
    return ParseStep.Error;
  }

  /** Reads the status line and the headers that frame the body; false when it is not HTTP/1.x. */
  #parseHead(buf: Buffer, start: number, stop: number): boolean {
    // "HTTP/1.1 200 OK"
    if (stop - start < 12 || !nameIs(buf, start, "http/1.") || buf[start + 8] !== 0x20) return false;
    const status = digit(buf[start + 9]) * 100 + digit(buf[start + 10]) * 10 + digit(buf[start + 11]);
    if (!(status >= 100 && status <= 999)) return false;
    const http10 = buf[start + 7] === 0x30;
    // byte loops rather than indexOf and strings: this runs once per response, tens of thousands of times a second
    let lineEnd = start + 12;
    while (lineEnd < stop && buf[lineEnd] !== 0x0d) lineEnd++;
    this.#status = status;
    this.#statusText = reason(buf, start + 13, lineEnd);
    let length = -1;
    let chunked = false;
    let close = false;
    let keepAlive = false;
    this.#cache = Cache.None; // a 1xx head's header does not speak for the final response
    let line = lineEnd + 2;
    while (line < stop) {
      let colon = -1;
      let eol = line;
      for (; eol < stop; eol++) {
        const c = buf[eol];
        if (c === 0x0d) break;
        if (c === 0x3a && colon === -1) colon = eol;
      }
      if (colon !== -1) {
        const nameLength = colon - line;
        if (nameLength === 14 && nameIs(buf, line, "content-length")) {
          length = parseDecimal(buf, colon + 1, eol);
          if (length < 0) return false;
        } else if (nameLength === 17 && nameIs(buf, line, "transfer-encoding")) {
          chunked = hasToken(buf, colon + 1, eol, "chunked");
        } else if (nameLength === 10 && nameIs(buf, line, "connection")) {
          close = hasToken(buf, colon + 1, eol, "close");
          keepAlive = hasToken(buf, colon + 1, eol, "keep-alive");
        } else if (nameLength === 7 && nameIs(buf, line, "x-cache")) {
          this.#cache = cacheStatus(buf, colon + 1, eol);
        }
      }
      line = eol + 2;
    }
    if (status < 200) {
      // 100 Continue and friends: the real response follows
      this.#phase = Phase.Head;
      return status !== 101;
    }
    if (close || (http10 && !keepAlive)) this.#closeAfter = true;
    if (this.#head || status === 204 || status === 304) {
      this.#phase = Phase.Length;
      this.#remaining = 0;
    } else if (chunked) {
      this.#phase = Phase.ChunkSize;
    } else if (length >= 0) {
      this.#phase = Phase.Length;
      this.#remaining = length;
    } else {
      this.#phase = Phase.UntilClose;
      this.#closeAfter = true;
    }
    return true;
  }
}

function digit(byte: number | undefined): number {
  return byte !== undefined && byte >= 0x30 && byte <= 0x39 ? byte - 0x30 : NaN;
}

/** Compares a header name case-insensitively with a lowercase ASCII name. */
function nameIs(buf: Buffer, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    if ((buf[at + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** The reason phrase; the common "OK" without building a string. */
function reason(buf: Buffer, from: number, to: number): string {
  if (to - from === 2 && buf[from] === 0x4f && buf[from + 1] === 0x4b) return "OK";
  return to > from ? buf.toString("latin1", from, to) : "";
}

/** Whether a comma-separated header value lists `token` (lowercase ASCII) as a whole item, ignoring case. */
function hasToken(buf: Buffer, from: number, to: number, token: string): boolean {
  const last = to - token.length;
  outer: for (let i = from; i <= last; i++) {
    for (let j = 0; j < token.length; j++) {
      if ((buf[i + j]! | 0x20) !== token.charCodeAt(j)) continue outer;
    }
    if (i > from && !isListSeparator(buf[i - 1]!)) continue;
    const after = i + token.length;
    if (after < to && !isListSeparator(buf[after]!) && buf[after] !== 0x3b) continue; // ";" starts parameters
    return true;
  }
  return false;
}

function isListSeparator(byte: number): boolean {
  return byte === 0x2c || byte === 0x20 || byte === 0x09;
}

/** `X-Cache`'s value: HIT or MISS (any case) as its first word, after optional spaces; anything else is None. */
function cacheStatus(buf: Buffer, from: number, to: number): Cache {
  let at = from;
  while (at < to && (buf[at] === 0x20 || buf[at] === 0x09)) at++;
  if (startsWord(buf, at, to, "hit")) return Cache.Hit;
  if (startsWord(buf, at, to, "miss")) return Cache.Miss;
  return Cache.None;
}

/** Whether `word` (lowercase ASCII) starts at `at`, in any case, and is not the start of a longer word. */
function startsWord(buf: Buffer, at: number, to: number, word: string): boolean {
  const after = at + word.length;
  if (after > to || !nameIs(buf, at, word)) return false;
  if (after === to) return true;
  const c = buf[after]! | 0x20;
  return !(c >= 0x61 && c <= 0x7a) && !(c >= 0x30 && c <= 0x39) && c !== 0x7f; // 0x5f | 0x20 = 0x7f: "_"
}

/** A decimal header value between `from` and `to`, spaces allowed around it (not inside); -1 when it is not one. */
function parseDecimal(buf: Buffer, from: number, to: number): number {
  let n = 0;
  let digits = 0;
  let ended = false;
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x39) {
      if (ended) return -1;
      n = n * 10 + (c - 0x30);
      digits++;
    } else if (c === 0x20 || c === 0x09) ended = digits > 0;
    else return -1;
  }
  return digits === 0 ? -1 : n;
}

/** The hex size at the start of a chunk line (extensions after ";" ignored); -1 when malformed. */
function parseChunkSize(buf: Buffer, from: number, to: number): number {
  let n = 0;
  let digits = 0;
  for (let i = from; i < to; i++) {
    const raw = buf[i]!;
    if (raw === 0x3b || raw === 0x20 || raw === 0x09) break; // ";" starts an extension; space or tab pad
    const c = raw | 0x20;
    let v: number;
    if (c >= 0x30 && c <= 0x39) v = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) v = c - 0x61 + 10;
    else return -1;
    n = n * 16 + v;
    digits++;
  }
  return digits === 0 ? -1 : n;
}
