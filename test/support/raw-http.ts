/**
 * A raw TCP client for tests that must send bytes exactly as written: request lines no client library would
 * normalise (`../`, NUL), bodies cut off half-way, uploads paused mid-body. Loopback only.
 */

export interface RawConnection {
  /** Queues bytes; they go out as fast as the socket takes them. */
  write(data: string | Uint8Array): void;
  /** Resolves once everything queued so far has been handed to the kernel. */
  flushed(): Promise<void>;
  /** Closes the connection from this side. */
  close(): void;
  /** Everything the server sent, once it closed the connection (or after `timeoutMs`, default 10 s). */
  received(timeoutMs?: number): Promise<string>;
}

/** Opens a connection to 127.0.0.1:`port`. */
export async function rawConnect(port: number): Promise<RawConnection> {
  const queue: Uint8Array[] = [];
  let text = "";
  let closed = false;
  let onClose: (() => void)[] = [];
  let onFlushed: (() => void)[] = [];
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();

  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, data) {
        text += decoder.decode(data, { stream: true });
      },
      drain() {
        pump();
      },
      close() {
        closed = true;
        onClose.forEach((f) => f());
        onClose = [];
        onFlushed.forEach((f) => f());
        onFlushed = [];
      },
      error() {},
    },
  });

  function pump(): void {
    while (queue.length > 0 && !closed) {
      const head = queue[0]!;
      const sent = socket.write(head);
      if (sent < head.length) {
        queue[0] = head.subarray(Math.max(0, sent));
        return;
      }
      queue.shift();
    }
    if (queue.length === 0) {
      onFlushed.forEach((f) => f());
      onFlushed = [];
    }
  }

  return {
    write(data) {
      queue.push(typeof data === "string" ? encoder.encode(data) : data);
      pump();
    },
    flushed() {
      if (queue.length === 0 || closed) return Promise.resolve();
      return new Promise((resolve) => onFlushed.push(resolve));
    },
    close() {
      socket.end();
    },
    async received(timeoutMs = 10_000) {
      if (!closed) {
        await Promise.race([new Promise<void>((resolve) => onClose.push(resolve)), Bun.sleep(timeoutMs)]);
      }
      return text;
    },
  };
}

/** Sends one request (which should say `Connection: close`) and returns the raw response text. */
export async function rawRequest(port: number, request: string | Uint8Array): Promise<string> {
  const conn = await rawConnect(port);
  conn.write(request);
  return conn.received();
}

/** The status code of a raw response, or 0 when the server sent nothing. */
export function statusOf(raw: string): number {
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
  return match ? Number(match[1]) : 0;
}
