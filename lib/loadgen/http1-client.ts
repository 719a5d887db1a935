/**
 * A lean HTTP/1.1 client on raw `Bun.connect` sockets for the load generator: a keep-alive pool per host:port,
 * one request per connection at a time (no pipelining), Content-Length, chunked and read-until-close bodies,
 * callbacks instead of promises. Bun's fetch is not used because it closes sockets beyond 64 idle per host.
 * Failures are data (status 0 and an error text), never exceptions. No redirects, no compression, no HTTP/2.
 */
import type { Socket } from "bun";
import type { PreparedRequest } from "./http1-request.ts";

export interface Http1Response {
  /** 0 = no response. */
  status: number;
  statusText: string;
  /** Body bytes after chunked decoding. */
  bytesIn: number;
  /** The body, when asked for. */
  body?: Uint8Array;
  /**
   * What an `X-Cache` response header said (name in any case; value `HIT` or `MISS` in any case, possibly
   * followed by more, as in Squid's `HIT from host`); undefined without one, with another value, or on failure.
   */
  cache?: CacheStatus;
  error?: string;
  /** `Bun.nanoseconds()` when the request was written to the socket; 0 if it never was. */
  sentNs: number;
  /** `Bun.nanoseconds()` when the body was fully read or the request failed. */
  endNs: number;
}

export type ResponseCallback = (response: Http1Response) => void;

/** A cache's verdict on a response, from its `X-Cache` header. */
export type CacheStatus = "HIT" | "MISS";

export interface Http1ClientOptions {
  /**
   * false closes after each response; requests then say `Connection: close` (prepareRequest's keepAlive option).
   * @default true
   */
  keepAlive?: boolean;
  /** Accept any TLS certificate (self-signed test servers). @default false */
  insecure?: boolean;
  /** How often deadlines are checked; a timeout fires up to this late. @default 10 */
  timeoutResolutionMs?: number;
}

const CRLF = Buffer.from("\r\n");
const CRLFCRLF = Buffer.from("\r\n\r\n");

// the parser keeps a small number per exchange (no string per response); these are the shared strings it maps to
const enum Cache {
  None,
  Hit,
  Miss,
}
const CACHE_STATUS: readonly (CacheStatus | undefined)[] = [undefined, "HIT", "MISS"];

/** One request in progress. */
interface Exchange {
  request: PreparedRequest;
  collect: boolean;
  deadlineNs: number;
  done: ResponseCallback;
  sentNs: number;
  /** Sent again once already, after a reused connection closed under it. */
  retried: boolean;
  status: number;
  statusText: string;
  bytesIn: number;
  chunks: Uint8Array[] | undefined;
  cache: Cache;
  /** Some byte of the response arrived. */
  answered: boolean;
}

const enum Phase {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
}

/** A socket and where its response parser stands. */
interface Connection {
  pool: Pool;
  socket: Socket<Connection> | undefined;
  exchange: Exchange | undefined;
  /** Has completed a response: a close before the next one answers may be the server's idle timeout. */
  reused: boolean;
  closed: boolean;
  phase: Phase;
  /** Bytes left in the body (Length) or the current chunk (ChunkData, ChunkEnd). */
  remaining: number;
  /** Part of a head or line split across reads. */
  pending: Buffer | undefined;
  closeAfter: boolean;
  /** close() was called while it was busy or connecting: close it once nobody waits for it. */
  retired: boolean;
  /** Rest of a request the socket did not take at once. */
  unwritten: Uint8Array | undefined;
  error: Error | undefined;
}

interface Pool {
  hostname: string;
  port: number;
  tls: boolean;
  idle: Connection[];
  /** Open or opening connections. */
  size: number;
  connecting: number;
  /** Requests waiting for a connection, oldest first. */
  waiting: Exchange[];
}

/**
 * Most connects in progress per origin. A burst of requests then waits for the first connection to free up or
 * open, instead of each paying for its own handshake in a storm of connects.
 */
const MAX_CONNECTING = 8;

/**
 * Pools keep-alive connections per origin. A request goes out at once on an idle connection, or else waits for
 * the first connection that frees up or opens (one new connect per waiting request, at most 8 at a time). The
 * caller bounds concurrency, and so the number of connections. Calls `done` exactly once per request.
 */
export class Http1Client {
  #pools = new Map<string, Pool>();
  #busy = new Set<Connection>();
  /** Every connection not yet closed, so close() can reach the connecting ones. */
  #all = new Set<Connection>();
  #waiting = 0;
  #keepAlive: boolean;
  #tls: { rejectUnauthorized: boolean } | true;
  #resolutionMs: number;
  #sweeper: Timer | undefined;
  #handlers: Parameters<typeof Bun.connect<Connection>>[0]["socket"];

  constructor(options: Http1ClientOptions = {}) {
    this.#keepAlive = options.keepAlive ?? true;
    this.#tls = options.insecure ? { rejectUnauthorized: false } : true;
    this.#resolutionMs = options.timeoutResolutionMs ?? 10;
    this.#handlers = {
      open: (socket) => this.#onOpen(socket),
      data: (socket, data) => this.#onData(socket.data, data),
      drain: (socket) => this.#onDrain(socket.data),
      close: (socket, error) => this.#onClose(socket.data, error),
      error: (socket, error) => {
        socket.data.error = error;
      },
      connectError: (socket, error) => {
        socket.data.error = error;
        this.#onClose(socket.data, error);
      },
    };
  }

  /** Open connections (busy, idle or connecting) across all origins. */
  get connections(): number {
    let n = 0;
    for (const pool of this.#pools.values()) n += pool.size;
    return n;
  }

  /** Requests in progress, on a connection or waiting for one. */
  get inFlight(): number {
    return this.#busy.size + this.#waiting;
  }

  /**
   * Sends `request`; `done` gets the response once its body is fully read, or the failure. `deadlineNs` is a
   * `Bun.nanoseconds()` value after which the request fails with "timeout" (Infinity for none). With `collect`
   * the response carries its body.
   */
  request(request: PreparedRequest, done: ResponseCallback, deadlineNs = Infinity, collect = false): void {
    this.#dispatch({
      request,
      collect,
      deadlineNs,
      done,
      sentNs: 0,
      retried: false,
      status: 0,
      statusText: "",
      bytesIn: 0,
      chunks: undefined,
      cache: Cache.None,
      answered: false,
    });
  }

  /** Closes idle connections now and the others once done; new requests still work afterwards. */
  close(): void {
    for (const pool of this.#pools.values()) {
      for (const conn of pool.idle.splice(0)) this.#destroy(conn, true);
    }
    for (const conn of this.#all) conn.retired = true;
    if (this.#busy.size === 0 && this.#waiting === 0 && this.#sweeper !== undefined) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  #dispatch(exchange: Exchange): void {
    const request = exchange.request;
    let pool = this.#pools.get(request.origin);
    if (pool === undefined) {
      pool = {
        hostname: request.hostname,
        port: request.port,
        tls: request.tls,
        idle: [],
        size: 0,
        connecting: 0,
        waiting: [],
      };
      this.#pools.set(request.origin, pool);
    }
    const conn = pool.idle.pop();
    if (conn !== undefined) {
      this.#assign(conn, exchange);
      return;
    }
    pool.waiting.push(exchange);
    this.#waiting++;
    this.#watch();
    this.#connectIfNeeded(pool);
  }

  #connectIfNeeded(pool: Pool): void {
    if (pool.connecting >= MAX_CONNECTING || pool.connecting >= pool.waiting.length) return;
    const conn: Connection = {
      pool,
      socket: undefined,
      exchange: undefined,
      reused: false,
      closed: false,
      phase: Phase.Head,
      remaining: 0,
      pending: undefined,
      closeAfter: !this.#keepAlive,
      retired: false,
      unwritten: undefined,
      error: undefined,
    };
    pool.size++;
    pool.connecting++;
    this.#all.add(conn);
    Bun.connect<Connection>({
      hostname: pool.hostname,
      port: pool.port,
      tls: pool.tls ? this.#tls : undefined,
      data: conn,
      socket: this.#handlers,
    }).catch(() => {}); // connectError reports it
  }

  /** Puts `exchange` on the open connection `conn` and writes it. */
  #assign(conn: Connection, exchange: Exchange): void {
    conn.exchange = exchange;
    conn.phase = Phase.Head;
    this.#busy.add(conn);
    this.#watch();
    this.#write(conn, exchange.request.bytes);
  }

  /** Keeps the deadline sweep running while anything is in flight. */
  #watch(): void {
    if (this.#sweeper !== undefined) return;
    // kept running (unref'd, so it holds no process open): starting and stopping it per request costs more
    this.#sweeper = setInterval(() => this.#sweep(), this.#resolutionMs);
    this.#sweeper.unref();
  }

  #onOpen(socket: Socket<Connection>): void {
    const conn = socket.data;
    conn.socket = socket;
    conn.pool.connecting--;
    this.#release(conn);
    this.#connectIfNeeded(conn.pool);
  }

  /** `conn` is open and free: serve the oldest waiting request, or wait idle (or close, once retired). */
  #release(conn: Connection): void {
    const pool = conn.pool;
    const next = pool.waiting.shift();
    if (next !== undefined) {
      this.#waiting--;
      this.#assign(conn, next);
    } else if (conn.retired) this.#destroy(conn, true);
    else pool.idle.push(conn);
  }

  #write(conn: Connection, bytes: Uint8Array): void {
    const socket = conn.socket!;
    conn.exchange!.sentNs = Bun.nanoseconds();
    const written = socket.write(bytes);
    if (written < bytes.length) conn.unwritten = bytes.subarray(Math.max(0, written));
  }

  #onDrain(conn: Connection): void {
    const rest = conn.unwritten;
    if (rest === undefined || conn.socket === undefined) return;
    conn.unwritten = undefined;
    const written = conn.socket.write(rest);
    if (written < rest.length) conn.unwritten = rest.subarray(Math.max(0, written));
  }

  #onData(conn: Connection, data: Buffer): void {
    let buf = data;
    if (conn.pending !== undefined) {
      buf = Buffer.concat([conn.pending, data]);
      conn.pending = undefined;
    }
    let off = 0;
    const end = buf.length;
    while (off < end) {
      const exchange = conn.exchange;
      if (exchange === undefined) {
        // bytes nobody asked for: the connection can no longer be trusted
        this.#destroy(conn);
        return;
      }
      exchange.answered = true;
      switch (conn.phase) {
        case Phase.Head: {
          const stop = buf.indexOf(CRLFCRLF, off);
          if (stop === -1) {
            conn.pending = buf.subarray(off);
            return;
          }
          if (!this.#parseHead(conn, exchange, buf, off, stop)) {
            this.#fail(conn, "malformed HTTP response");
            return;
          }
          off = stop + 4;
          if ((conn.phase as Phase) === Phase.Length && conn.remaining === 0) {
            this.#complete(conn, off < end);
            return;
          }
          break;
        }
        case Phase.Length:
        case Phase.ChunkData: {
          const take = Math.min(conn.remaining, end - off);
          this.#body(exchange, buf, off, take);
          off += take;
          conn.remaining -= take;
          if (conn.remaining === 0) {
            if (conn.phase === Phase.Length) {
              this.#complete(conn, off < end);
              return;
            }
            conn.phase = Phase.ChunkEnd;
            conn.remaining = 2; // the CRLF after the chunk's data
          }
          break;
        }
        case Phase.ChunkEnd: {
          const take = Math.min(conn.remaining, end - off);
          off += take;
          conn.remaining -= take;
          if (conn.remaining === 0) conn.phase = Phase.ChunkSize;
          break;
        }
        case Phase.ChunkSize:
        case Phase.Trailers: {
          const eol = buf.indexOf(CRLF, off);
          if (eol === -1) {
            conn.pending = buf.subarray(off);
            return;
          }
          if (conn.phase === Phase.Trailers) {
            const empty = eol === off;
            off = eol + 2;
            if (empty) {
              this.#complete(conn, off < end);
              return;
            }
            break;
          }
          const size = parseChunkSize(buf, off, eol);
          if (size < 0) {
            this.#fail(conn, "malformed chunked body");
            return;
          }
          off = eol + 2;
          if (size === 0) conn.phase = Phase.Trailers;
          else {
            conn.phase = Phase.ChunkData;
            conn.remaining = size;
          }
          break;
        }
        case Phase.UntilClose: {
          this.#body(exchange, buf, off, end - off);
          off = end;
          break;
        }
      }
    }
  }

  #body(exchange: Exchange, buf: Buffer, off: number, length: number): void {
    exchange.bytesIn += length;
    if (exchange.collect && length > 0) (exchange.chunks ??= []).push(buf.slice(off, off + length));
  }

  /** Reads the status line and the headers that frame the body; false when it is not HTTP/1.x. */
  #parseHead(conn: Connection, exchange: Exchange, buf: Buffer, start: number, stop: number): boolean {
    // "HTTP/1.1 200 OK"
    if (stop - start < 12 || buf[start] !== 0x48 || buf[start + 4] !== 0x2f || buf[start + 5] !== 0x31) return false;
    const status = digit(buf[start + 9]) * 100 + digit(buf[start + 10]) * 10 + digit(buf[start + 11]);
    if (!(status >= 100 && status <= 999)) return false;
    const http10 = buf[start + 7] === 0x30;
    // byte loops rather than indexOf and strings: this runs once per response, tens of thousands of times a second
    let lineEnd = start + 12;
    while (lineEnd < stop && buf[lineEnd] !== 0x0d) lineEnd++;
    exchange.status = status;
    exchange.statusText = reason(buf, start + 13, lineEnd);
    let length = -1;
    let chunked = false;
    let close = false;
    let keepAlive = false;
    exchange.cache = Cache.None; // a 1xx head's header does not speak for the final response
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
          exchange.cache = cacheStatus(buf, colon + 1, eol);
        }
      }
      line = eol + 2;
    }
    if (status < 200) {
      // 100 Continue and friends: the real response follows
      conn.phase = Phase.Head;
      return status !== 101;
    }
    if (close || (http10 && !keepAlive)) conn.closeAfter = true;
    if (exchange.request.head || status === 204 || status === 304) {
      conn.phase = Phase.Length;
      conn.remaining = 0;
    } else if (chunked) {
      conn.phase = Phase.ChunkSize;
    } else if (length >= 0) {
      conn.phase = Phase.Length;
      conn.remaining = length;
    } else {
      conn.phase = Phase.UntilClose;
      conn.closeAfter = true;
    }
    return true;
  }

  /** The response is complete: hand it over and keep the connection for the next request if we can. */
  #complete(conn: Connection, leftover: boolean): void {
    const exchange = conn.exchange!;
    conn.exchange = undefined;
    conn.pending = undefined;
    conn.phase = Phase.Head;
    this.#busy.delete(conn);
    if (conn.unwritten !== undefined) {
      // The server answered before the whole body was sent (413, say). Writing the rest later would put it
      // after the next request on this connection, so the connection goes.
      conn.unwritten = undefined;
      this.#destroy(conn);
    } else if (leftover || conn.closeAfter || conn.closed) this.#destroy(conn, !leftover);
    else {
      conn.reused = true;
      this.#release(conn);
    }
    this.#finish(exchange, undefined);
  }

  /** The request failed on this connection, which is closed. */
  #fail(conn: Connection, error: string): void {
    const exchange = conn.exchange!;
    conn.exchange = undefined;
    this.#busy.delete(conn);
    this.#destroy(conn);
    this.#finish(exchange, error);
  }

  #finish(exchange: Exchange, error: string | undefined): void {
    const response: Http1Response = {
      status: error === undefined ? exchange.status : 0,
      statusText: error === undefined ? exchange.statusText : "",
      bytesIn: exchange.bytesIn,
      cache: error === undefined ? CACHE_STATUS[exchange.cache] : undefined,
      error,
      sentNs: exchange.sentNs,
      endNs: Bun.nanoseconds(),
    };
    if (exchange.collect && error === undefined) response.body = concat(exchange.chunks, exchange.bytesIn);
    try {
      exchange.done(response);
    } catch (e) {
      // the caller's bug must not break the socket handler that called us
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  #onClose(conn: Connection, error: Error | undefined): void {
    if (conn.closed) return;
    conn.closed = true;
    this.#all.delete(conn);
    const pool = conn.pool;
    pool.size--;
    if (conn.socket === undefined) {
      // the connect failed: the oldest waiting request gets the error, the others another try
      pool.connecting--;
      const first = pool.waiting.shift();
      if (first !== undefined) {
        this.#waiting--;
        this.#finish(first, socketError(error ?? conn.error, false));
      }
      this.#connectIfNeeded(pool);
      return;
    }
    const idleAt = pool.idle.indexOf(conn);
    if (idleAt !== -1) pool.idle.splice(idleAt, 1);
    this.#connectIfNeeded(pool); // requests may be waiting for a connection this one would have freed
    const exchange = conn.exchange;
    if (exchange === undefined) return;
    conn.exchange = undefined;
    this.#busy.delete(conn);
    if (conn.phase === Phase.UntilClose) {
      this.#finish(exchange, undefined);
      return;
    }
    if (!exchange.answered && conn.reused && !exchange.retried && exchange.request.idempotent) {
      // the server closed an idle keep-alive connection just as we reused it: try once on a fresh one
      exchange.retried = true;
      this.#dispatch(exchange);
      return;
    }
    this.#finish(exchange, socketError(error ?? conn.error, exchange.answered));
  }

  /** Closes `conn`: politely (FIN) when it is in a clean state, else at once (timeouts, protocol errors). */
  #destroy(conn: Connection, graceful = false): void {
    if (conn.socket === undefined || conn.closed) return;
    if (graceful) conn.socket.end();
    else conn.socket.terminate();
  }

  #sweep(): void {
    const now = Bun.nanoseconds();
    for (const conn of this.#busy) {
      if (conn.exchange !== undefined && conn.exchange.deadlineNs <= now) this.#fail(conn, "timeout");
    }
    if (this.#waiting === 0) return;
    for (const pool of this.#pools.values()) {
      if (!pool.waiting.some((e) => e.deadlineNs <= now)) continue;
      const expired = pool.waiting.filter((e) => e.deadlineNs <= now);
      pool.waiting = pool.waiting.filter((e) => e.deadlineNs > now);
      this.#waiting -= expired.length;
      for (const exchange of expired) this.#finish(exchange, "timeout");
    }
  }
}

/** Go-like error text for a socket failure, as vegeta would print it. */
export function socketError(error: Error | undefined, answered: boolean): string {
  const code = (error as { code?: string } | undefined)?.code;
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ECONNRESET":
      return "connection reset by peer";
    case "ETIMEDOUT":
      return "connect timeout";
    case "ENOTFOUND":
    case "EAI_NONAME":
      return "no such host";
    case "EPIPE":
      return "broken pipe";
  }
  if (error !== undefined && error.message !== "") return error.message;
  return answered ? "unexpected EOF" : "EOF";
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

/** Whether a header value contains `token` (lowercase ASCII), ignoring case. */
function hasToken(buf: Buffer, from: number, to: number, token: string): boolean {
  const last = to - token.length;
  outer: for (let i = from; i <= last; i++) {
    for (let j = 0; j < token.length; j++) {
      if ((buf[i + j]! | 0x20) !== token.charCodeAt(j)) continue outer;
    }
    return true;
  }
  return false;
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

/** A decimal header value between `from` and `to`, spaces allowed around it; -1 when it is not one. */
function parseDecimal(buf: Buffer, from: number, to: number): number {
  let n = 0;
  let digits = 0;
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x39) {
      n = n * 10 + (c - 0x30);
      digits++;
    } else if (c !== 0x20 && c !== 0x09) return -1;
  }
  return digits === 0 ? -1 : n;
}

/** The hex size at the start of a chunk line (extensions after ";" ignored); -1 when malformed. */
function parseChunkSize(buf: Buffer, from: number, to: number): number {
  let n = 0;
  let digits = 0;
  for (let i = from; i < to; i++) {
    const c = buf[i]! | 0x20;
    let v: number;
    if (c >= 0x30 && c <= 0x39) v = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) v = c - 0x61 + 10;
    else if (c === 0x3b || c === 0x20 || c === 0x29)
      break; // ";" starts an extension; space or tab (0x09 | 0x20) pad
    else return -1;
    n = n * 16 + v;
    digits++;
  }
  return digits === 0 ? -1 : n;
}

function concat(chunks: Uint8Array[] | undefined, length: number): Uint8Array {
  if (chunks === undefined) return new Uint8Array(0);
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
