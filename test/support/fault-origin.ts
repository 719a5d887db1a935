/**
 * A misbehaving origin for the fault suite: a raw TCP server (Bun.listen) that speaks just enough HTTP/1.1 to
 * serve the blobs it holds, each honestly or with a fault of its own, sized (Content-Length) or chunked (as
 * Go's net/http sends bodies larger than its buffer). It stands in for a foreign server, not for one of ours.
 */
import type { Socket, TCPSocketListener } from "bun";

/** How the origin answers a blob request. */
export type OriginFault =
  | "none"
  /** Accepts the request and never answers. */
  | "silent"
  /** Sends other bytes than the key's, of the same length. */
  | "lying"
  /** Declares the full length (or starts chunking), sends part of it, then closes cleanly. */
  | "short"
  /** Sends half the body, then resets the connection. */
  | "reset"
  /** Sends the body in small pieces at `dripBytesPerSecond`. */
  | "drip"
  /** Answers 500 with a JSON error. */
  | "error500";

export type Framing = "sized" | "chunked";

export interface Behaviour {
  /** @default "none" */
  fault?: OriginFault;
  /** @default "sized" */
  framing?: Framing;
}

interface Held {
  bytes: Uint8Array;
  fault: OriginFault;
  framing: Framing;
}

export interface FaultOrigin {
  url: string;
  port: number;
  /** Holds `bytes` under its SHA-256 and serves them as told; returns the key. */
  serve(bytes: Uint8Array, behaviour?: Behaviour): string;
  /** Changes how a held blob is served. */
  set(key: string, behaviour: Behaviour): void;
  /** Rate of the "drip" fault. @default 2048 */
  dripBytesPerSecond: number;
  /** Blob requests received (GET and HEAD), by key. */
  requests: Map<string, number>;
  /** Stops listening and drops every connection. */
  stop(): void;
}

interface Conn {
  buffer: string;
  timers: ReturnType<typeof setInterval>[];
}

const PIECE = 256;

/** Starts the origin on 127.0.0.1 and `port` (default: an ephemeral one). */
export function startFaultOrigin(port = 0): FaultOrigin {
  const sockets = new Set<Socket<Conn>>();
  const blobs = new Map<string, Held>();
  const origin: FaultOrigin = {
    url: "",
    port: 0,
    serve(bytes, behaviour = {}) {
      const key = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
      blobs.set(key, { bytes, fault: behaviour.fault ?? "none", framing: behaviour.framing ?? "sized" });
      return key;
    },
    set(key, behaviour) {
      const held = blobs.get(key);
      if (held === undefined) throw new Error(`no blob ${key}`);
      Object.assign(held, behaviour);
    },
    dripBytesPerSecond: 2048,
    requests: new Map(),
    stop() {
      listener.stop(true);
      for (const s of sockets) end(s, true);
    },
  };

  function end(socket: Socket<Conn>, reset = false): void {
    for (const t of socket.data.timers) clearInterval(t);
    socket.data.timers = [];
    if (reset) socket.terminate();
    else socket.end();
  }

  function head(status: number, headers: Record<string, string>): string {
    const reason = status === 200 ? "OK" : status === 404 ? "Not Found" : "Internal Server Error";
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
    return `HTTP/1.1 ${status} ${reason}\r\n${lines.join("")}\r\n`;
  }

  function frame(bytes: Uint8Array, framing: Framing): Uint8Array {
    if (framing === "sized") return bytes;
    return Buffer.concat([Buffer.from(`${bytes.byteLength.toString(16)}\r\n`), bytes, Buffer.from("\r\n")]);
  }

  function answer(socket: Socket<Conn>, method: string, path: string): void {
    const key = path.startsWith("/cas/") ? path.slice(5).toLowerCase() : "";
    const held = blobs.get(key);
    origin.requests.set(key, (origin.requests.get(key) ?? 0) + 1);
    const fault = held?.fault ?? "none";
    const framing = held?.framing ?? "sized";
    if (fault === "silent") return;
    if (fault === "error500") {
      const body = '{"error":"internal","message":"internal server error"}';
      socket.write(head(500, { "content-type": "application/json", "content-length": String(body.length) }) + body);
      return;
    }
    if (held === undefined) {
      const body = '{"error":"not_found","message":"no such blob"}';
      socket.write(head(404, { "content-type": "application/json", "content-length": String(body.length) }) + body);
      return;
    }
    const bytes = fault === "lying" ? held.bytes.map((b) => b ^ 0xff) : held.bytes;
    const headers: Record<string, string> = { "content-type": "application/octet-stream", etag: `"${key}"` };
    if (framing === "sized") headers["content-length"] = String(bytes.byteLength);
    else headers["transfer-encoding"] = "chunked";
    if (fault !== "none" && fault !== "lying") headers.connection = "close";
    socket.write(head(200, headers));
    if (method === "HEAD") return;
    const trailer = framing === "chunked" ? "0\r\n\r\n" : "";
    if (fault === "none" || fault === "lying") {
      // Chunked as Go does it: one chunk per buffer of a few KiB.
      for (let i = 0; i < bytes.byteLength; i += 4096) socket.write(frame(bytes.subarray(i, i + 4096), framing));
      socket.write(trailer);
      return;
    }
    if (fault === "short" || fault === "reset") {
      const cut = fault === "short" ? Math.max(0, bytes.byteLength - 100) : Math.floor(bytes.byteLength / 2);
      socket.write(frame(bytes.subarray(0, cut), framing));
      // Let the bytes go out before the close, so the cache sees a body that stops, not a refused request.
      setTimeout(() => end(socket, fault === "reset"), 50);
      return;
    }
    // drip: PIECE bytes every PIECE/rate seconds.
    let sent = 0;
    const timer = setInterval(
      () => {
        if (sent >= bytes.byteLength) {
          socket.write(trailer);
          end(socket);
          return;
        }
        socket.write(frame(bytes.subarray(sent, sent + PIECE), framing));
        sent += PIECE;
      },
      (PIECE * 1000) / origin.dripBytesPerSecond,
    );
    socket.data.timers.push(timer);
  }

  const listener: TCPSocketListener<Conn> = Bun.listen<Conn>({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(socket) {
        socket.data = { buffer: "", timers: [] };
        sockets.add(socket);
      },
      data(socket, chunk) {
        socket.data.buffer += chunk.toString("latin1");
        let at: number;
        // Requests without bodies only (GET and HEAD): each ends at its blank line.
        while ((at = socket.data.buffer.indexOf("\r\n\r\n")) !== -1) {
          const request = socket.data.buffer.slice(0, at);
          socket.data.buffer = socket.data.buffer.slice(at + 4);
          const [method = "", path = ""] = request.split("\r\n", 1)[0]!.split(" ");
          answer(socket, method, path);
        }
      },
      close(socket) {
        for (const t of socket.data.timers) clearInterval(t);
        sockets.delete(socket);
      },
      error() {},
    },
  });
  origin.port = listener.port;
  origin.url = `http://127.0.0.1:${listener.port}`;
  return origin;
}
