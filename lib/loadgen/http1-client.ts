/**
 * A lean HTTP/1.1 client on raw `Bun.connect` sockets for the load generator: a keep-alive pool per host:port,
 * one request per connection at a time (no pipelining), callbacks instead of promises. Requests come ready-made
 * from http1-request.ts; each connection reads its responses with http1-response.ts's parser. Bun's fetch is not
 * used because it closes sockets beyond 64 idle per host. Failures are data (status 0 and an error text), never
 * exceptions. No redirects, no compression, no HTTP/2.
 */
import type { Socket } from "bun";
import type { PreparedRequest } from "./http1-request.ts";
import { Http1ResponseParser, ParseStep, type CacheStatus } from "./http1-response.ts";

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
  cache: CacheStatus | undefined;
  /** Some byte of the response arrived. */
  answered: boolean;
}

/** A socket and where its response parser stands. */
interface Connection {
  pool: Pool;
  socket: Socket<Connection> | undefined;
  exchange: Exchange | undefined;
  /** Has completed a response: a close before the next one answers may be the server's idle timeout. */
  reused: boolean;
  closed: boolean;
  parser: Http1ResponseParser;
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
      cache: undefined,
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
      parser: new Http1ResponseParser(),
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
    conn.parser.begin(exchange.request.head);
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
    if (data.length === 0) return;
    const exchange = conn.exchange;
    if (exchange === undefined) {
      // bytes nobody asked for: the connection can no longer be trusted
      this.#destroy(conn);
      return;
    }
    exchange.answered = true;
    const parser = conn.parser;
    parser.push(data);
    for (;;) {
      switch (parser.next()) {
        case ParseStep.More:
          return;
        case ParseStep.Body:
          this.#body(exchange, parser.input, parser.bodyStart, parser.bodyEnd);
          break;
        case ParseStep.Done:
          this.#complete(conn, parser.rest > 0);
          return;
        case ParseStep.Error:
          this.#fail(conn, parser.error);
          return;
      }
    }
  }

  #body(exchange: Exchange, buf: Buffer, from: number, to: number): void {
    exchange.bytesIn += to - from;
    if (exchange.collect && to > from) (exchange.chunks ??= []).push(buf.slice(from, to));
  }

  /** The response is complete: hand it over and keep the connection for the next request if we can. */
  #complete(conn: Connection, leftover: boolean): void {
    const exchange = conn.exchange!;
    conn.exchange = undefined;
    keepHead(exchange, conn.parser);
    this.#busy.delete(conn);
    if (conn.unwritten !== undefined) {
      // The server answered before the whole body was sent (413, say). Writing the rest later would put it
      // after the next request on this connection, so the connection goes.
      conn.unwritten = undefined;
      this.#destroy(conn);
    } else if (leftover || !this.#keepAlive || conn.parser.closeAfter || conn.closed) this.#destroy(conn, !leftover);
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
      cache: error === undefined ? exchange.cache : undefined,
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
    if (conn.parser.untilClose) {
      keepHead(exchange, conn.parser);
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

/** Copies the response's head into `exchange` before its connection moves on to another request. */
function keepHead(exchange: Exchange, parser: Http1ResponseParser): void {
  exchange.status = parser.status;
  exchange.statusText = parser.statusText;
  exchange.cache = parser.cache;
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
