import { afterAll, describe, expect, test } from "bun:test";
import type { Server, Socket, TCPSocketListener } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Http1Client, type Http1Response } from "../../lib/loadgen/http1-client.ts";
import { prepareRequest } from "../../lib/loadgen/http1-request.ts";

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((f) => f()));

function send(
  client: Http1Client,
  method: string,
  url: string,
  options: { headers?: Record<string, string>; body?: Uint8Array; timeoutMs?: number; keepAlive?: boolean } = {},
): Promise<Http1Response> {
  const request = prepareRequest(method, url, options);
  const deadline = options.timeoutMs === undefined ? Infinity : Bun.nanoseconds() + options.timeoutMs * 1e6;
  return new Promise((resolve) => client.request(request, resolve, deadline, true));
}

/** A Bun.serve test server that records the client port (one per connection) of every request. */
function serve(handler: (req: Request, server: Server<undefined>) => Response | Promise<Response>) {
  const ports: number[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      ports.push(srv.requestIP(req)!.port);
      return handler(req, srv);
    },
  });
  cleanups.push(() => server.stop(true));
  return { url: `http://127.0.0.1:${server.port}`, ports, server };
}

/** A raw TCP server: `onRequest` gets each socket's request bytes and the count of requests on that socket. */
function rawServer(onRequest: (socket: Socket<{ n: number }>, n: number, text: string) => void): {
  url: string;
  listener: TCPSocketListener<{ n: number }>;
} {
  const listener = Bun.listen<{ n: number }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { n: 0 };
      },
      data(socket, data) {
        socket.data.n++;
        onRequest(socket, socket.data.n, data.toString("latin1"));
      },
    },
  });
  cleanups.push(() => listener.stop(true));
  return { url: `http://127.0.0.1:${listener.port}`, listener };
}

const decode = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

describe("Http1Client.request()", () => {
  test("reads a Content-Length body and reuses one connection for sequential requests", async () => {
    const { url, ports } = serve(() => new Response("hello world"));
    const client = new Http1Client();
    for (let i = 0; i < 20; i++) {
      const res = await send(client, "GET", url + "/x");
      expect([res.status, res.statusText, res.bytesIn, decode(res.body), res.error]).toEqual([
        200,
        "OK",
        11,
        "hello world",
        undefined,
      ]);
      expect(res.sentNs).toBeGreaterThan(0);
      expect(res.endNs).toBeGreaterThanOrEqual(res.sentNs);
    }
    expect(new Set(ports).size).toBe(1);
    expect(client.connections).toBe(1);
    client.close();
  });

  test("opens one connection per concurrent request and keeps them", async () => {
    const { url, ports } = serve(async () => {
      await Bun.sleep(5);
      return new Response("ok");
    });
    const client = new Http1Client();
    for (let round = 0; round < 4; round++) {
      const all = await Promise.all(Array.from({ length: 5 }, () => send(client, "GET", url)));
      expect(all.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    }
    expect(ports.length).toBe(20);
    expect(new Set(ports).size).toBe(5);
    client.close();
  });

  test("decodes a chunked body streamed by Bun.serve", async () => {
    const parts = ["first ", "second ", "x".repeat(70_000), " last"];
    const { url } = serve(
      () =>
        new Response(
          new ReadableStream({
            async pull(controller) {
              const part = parts.shift();
              if (part === undefined) controller.close();
              else {
                controller.enqueue(new TextEncoder().encode(part));
                await Bun.sleep(1);
              }
            },
          }),
        ),
    );
    const client = new Http1Client();
    const res = await send(client, "GET", url);
    const expected = "first second " + "x".repeat(70_000) + " last";
    expect(res.status).toBe(200);
    expect(res.bytesIn).toBe(expected.length);
    expect(decode(res.body)).toBe(expected);
    // the connection is still good after a chunked body
    expect((await send(client, "GET", url)).status).toBe(200);
    expect(client.connections).toBe(1);
    client.close();
  });

  test("decodes chunk extensions and trailers split across reads", async () => {
    const response =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5;ext=1\r\nhello\r\n" +
      "A\r\n, chunked!\r\n" +
      "0\r\nX-Trailer: yes\r\n\r\n";
    const { url } = rawServer(async (socket) => {
      // one byte at a time, so every parser state sees a split
      for (const c of response) {
        socket.write(c);
        socket.flush();
        await Bun.sleep(0);
      }
    });
    const client = new Http1Client();
    const res = await send(client, "GET", url);
    expect([res.status, res.bytesIn, decode(res.body), res.error]).toEqual([200, 15, "hello, chunked!", undefined]);
    const again = await send(client, "GET", url);
    expect(decode(again.body)).toBe("hello, chunked!");
    expect(client.connections).toBe(1);
    client.close();
  });

  test("reads no body after HEAD, 204 and 304 and keeps the connection", async () => {
    const { url, ports } = serve((req) => {
      const path = new URL(req.url).pathname;
      if (path === "/204") return new Response(null, { status: 204 });
      if (path === "/304") return new Response(null, { status: 304 });
      return new Response("twelve bytes");
    });
    const client = new Http1Client();
    const head = await send(client, "HEAD", url + "/blob");
    expect([head.status, head.bytesIn, head.error]).toEqual([200, 0, undefined]);
    expect((await send(client, "GET", url + "/204")).status).toBe(204);
    expect((await send(client, "GET", url + "/304")).status).toBe(304);
    const get = await send(client, "GET", url + "/blob");
    expect([get.status, get.bytesIn]).toEqual([200, 12]);
    expect(new Set(ports).size).toBe(1);
    client.close();
  });

  test("sends a body and the headers given", async () => {
    const { url } = serve(async (req) => new Response(`${req.headers.get("x-key")}:${await req.text()}`));
    const client = new Http1Client();
    const res = await send(client, "PUT", url, { headers: { "X-Key": "k" }, body: new TextEncoder().encode("data") });
    expect(decode(res.body)).toBe("k:data");
    client.close();
  });

  test("reports a non-2xx status with its reason", async () => {
    const { url } = serve(() => new Response("nope", { status: 404 }));
    const client = new Http1Client();
    const res = await send(client, "GET", url);
    expect([res.status, res.statusText, res.error]).toEqual([404, "Not Found", undefined]);
    client.close();
  });

  test("reads X-Cache: HIT or MISS in any case into cache, and nothing else", async () => {
    const { url } = serve((req) => {
      const value = new URL(req.url).searchParams.get("v");
      return new Response("ok", value === null ? {} : { headers: { "X-Cache": value } });
    });
    const client = new Http1Client();
    const cases: [string | null, string | undefined][] = [
      ["HIT", "HIT"],
      ["MISS", "MISS"],
      ["hit", "HIT"],
      ["Miss", "MISS"],
      [" HIT from proxy", "HIT"],
      ["MISS, HIT", "MISS"],
      ["HITS", undefined],
      ["BYPASS", undefined],
      ["", undefined],
      [null, undefined],
    ];
    const seen = [];
    for (const [value] of cases) {
      const res = await send(client, "GET", value === null ? url : `${url}/?v=${encodeURIComponent(value)}`);
      expect(res.status).toBe(200);
      seen.push([value, res.cache]);
    }
    expect(seen).toEqual(cases);
    client.close();
  });

  test("matches the X-Cache name in any case, not longer names, and not on a failed or 1xx head", async () => {
    const heads = [
      "X-Cache: HIT",
      "x-cache: MISS",
      "X-CACHE:hit",
      "x-cAcHe:  miss  ",
      "X-Cached: HIT",
      "X-Cache-Lookup: HIT",
      "Cache: HIT",
    ];
    const { url } = rawServer((socket, n) => {
      if (n <= heads.length) socket.write(`HTTP/1.1 200 OK\r\n${heads[n - 1]}\r\nContent-Length: 2\r\n\r\nok`);
      else if (n === heads.length + 1) {
        // a 1xx head's X-Cache is not the final response's
        socket.write("HTTP/1.1 100 Continue\r\nX-Cache: HIT\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      } else socket.write("HTTP/1.1 200 OK\r\nX-Cache: HIT\r\nContent-Length: 5\r\n\r\nok"); // closes short
      if (n > heads.length + 1) socket.end();
    });
    const client = new Http1Client();
    const got = [];
    for (let i = 0; i < heads.length + 2; i++) {
      const res = await send(client, "GET", url);
      got.push([res.status, res.cache]);
    }
    expect(got).toEqual([
      [200, "HIT"],
      [200, "MISS"],
      [200, "HIT"],
      [200, "MISS"],
      [200, undefined],
      [200, undefined],
      [200, undefined],
      [200, undefined],
      [0, undefined],
    ]);
    client.close();
  });

  test("skips 100 Continue and reads the response after it", async () => {
    const { url } = rawServer((socket) => {
      socket.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
    });
    const client = new Http1Client();
    const res = await send(client, "GET", url);
    expect([res.status, res.statusText, decode(res.body)]).toEqual([201, "Created", "ok"]);
    client.close();
  });

  test("closes after Connection: close and reconnects for the next request", async () => {
    const { url, ports } = serve(() => new Response("bye", { headers: { Connection: "close" } }));
    const client = new Http1Client();
    for (let i = 0; i < 3; i++) expect((await send(client, "GET", url)).status).toBe(200);
    expect(new Set(ports).size).toBe(3);
    await Bun.sleep(10);
    expect(client.connections).toBe(0);
  });

  test("without keep-alive asks the server to close and opens a connection per request", async () => {
    const { url, ports } = serve((req) => new Response(req.headers.get("connection") ?? "none"));
    const client = new Http1Client({ keepAlive: false });
    for (let i = 0; i < 3; i++) {
      const res = await send(client, "GET", url, { keepAlive: false });
      expect(decode(res.body)).toBe("close");
    }
    expect(new Set(ports).size).toBe(3);
  });

  test("reads an HTTP/1.0 body without length until the server closes", async () => {
    const { url } = rawServer((socket) => {
      socket.write("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
      socket.end();
    });
    const client = new Http1Client();
    const res = await send(client, "GET", url);
    expect([res.status, decode(res.body), res.error]).toEqual([200, "until the end", undefined]);
  });

  test("reports connection refused as status 0", async () => {
    const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = listener.port;
    listener.stop(true);
    const client = new Http1Client();
    const res = await send(client, "GET", `http://127.0.0.1:${port}/`);
    expect([res.status, res.error]).toEqual([0, "connection refused"]);
    expect(client.connections).toBe(0);
    expect(client.inFlight).toBe(0);
  });

  test("serves a burst of concurrent requests, with or without keep-alive", async () => {
    const { url, ports } = serve(() => new Response("ok"));
    for (const keepAlive of [true, false]) {
      const client = new Http1Client({ keepAlive });
      const all = await Promise.all(Array.from({ length: 40 }, () => send(client, "GET", url, { keepAlive })));
      expect(all.every((r) => r.status === 200)).toBe(true);
      expect(client.inFlight).toBe(0);
      client.close();
    }
    expect(new Set(ports).size).toBeGreaterThanOrEqual(40); // at least one connection per request without keep-alive
  });

  test("fails every request of a burst to a closed port", async () => {
    const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = listener.port;
    listener.stop(true);
    const client = new Http1Client();
    const all = await Promise.all(Array.from({ length: 20 }, () => send(client, "GET", `http://127.0.0.1:${port}/`)));
    expect(all.map((r) => r.error)).toEqual(Array(20).fill("connection refused"));
    expect([client.connections, client.inFlight]).toEqual([0, 0]);
  });

  test("reports a server that closes without answering as EOF, and mid-response as unexpected EOF", async () => {
    const silent = rawServer((socket) => socket.end());
    const partial = rawServer((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
      socket.end();
    });
    const client = new Http1Client();
    const a = await send(client, "GET", silent.url);
    expect([a.status, a.error]).toEqual([0, "EOF"]);
    const b = await send(client, "GET", partial.url);
    expect([b.status, b.bytesIn, b.error]).toEqual([0, 10, "unexpected EOF"]);
    expect(client.connections).toBe(0);
  });

  test("retries an idempotent request once when a reused connection was closed under it", async () => {
    // each connection answers its first request and closes on the second, like a server's idle timeout racing us
    const { url } = rawServer((socket, n) => {
      if (n === 1) socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      else socket.end();
    });
    const client = new Http1Client();
    for (let i = 0; i < 3; i++) {
      const res = await send(client, "GET", url);
      expect([res.status, res.error]).toEqual([200, undefined]);
    }
    // a POST is not repeated: its failure shows
    const post = await send(client, "POST", url, { body: new Uint8Array(1) });
    expect([post.status, post.error]).toEqual([0, "EOF"]);
  });

  test("fails a request past its deadline with timeout and closes that connection", async () => {
    let release = () => {};
    const stalled = new Promise<void>((resolve) => (release = resolve));
    cleanups.push(release);
    const { url } = serve(async (req) => {
      if (new URL(req.url).pathname === "/stall") await stalled;
      return new Response("late");
    });
    const client = new Http1Client({ timeoutResolutionMs: 5 });
    const start = Bun.nanoseconds();
    const res = await send(client, "GET", url + "/stall", { timeoutMs: 100 });
    expect([res.status, res.error]).toEqual([0, "timeout"]);
    expect(res.endNs - start).toBeGreaterThanOrEqual(100e6); // not early: a correctness bound, not a speed one
    expect(client.inFlight).toBe(0);
    const ok = await send(client, "GET", url + "/fine", { timeoutMs: 5_000 });
    expect([ok.status, ok.error]).toEqual([200, undefined]);
    release();
  });

  test("closes a connection whose request body was still being written when the answer came", async () => {
    // A keep-alive server that refuses a large body right after its headers (413), then, like a careful
    // server, skips the declared body and reads the next request. If the client reused that connection, the
    // rest of its body would follow the next request and the server would read garbage.
    const BODY = 32 * 2 ** 20;
    const answers: string[] = [];
    const listener = Bun.listen<{ buf: Buffer; skip: number }>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(socket) {
          socket.data = { buf: Buffer.alloc(0), skip: 0 };
        },
        data(socket, data) {
          const st = socket.data;
          let chunk = data;
          if (st.skip > 0) {
            const n = Math.min(st.skip, chunk.length);
            st.skip -= n;
            chunk = chunk.subarray(n);
          }
          st.buf = Buffer.concat([st.buf, chunk]);
          for (;;) {
            const end = st.buf.indexOf("\r\n\r\n");
            if (end === -1) return;
            const head = st.buf.subarray(0, end).toString("latin1");
            const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
            const rest = st.buf.subarray(end + 4);
            const line = head.split("\r\n")[0]!;
            answers.push(line);
            if (length > 2 ** 20) {
              socket.write("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n");
              const n = Math.min(length, rest.length);
              st.skip = length - n;
              st.buf = Buffer.from(rest.subarray(n));
            } else if (/^GET \/second HTTP\/1\.1$/.test(line)) {
              socket.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nclean");
              st.buf = Buffer.from(rest.subarray(length));
            } else {
              socket.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 7\r\nConnection: close\r\n\r\ngarbage");
              socket.end();
              return;
            }
          }
        },
      },
    });
    cleanups.push(() => listener.stop(true));
    const url = `http://127.0.0.1:${listener.port}`;
    const client = new Http1Client();
    const big = await send(client, "POST", `${url}/upload`, { body: new Uint8Array(BODY), timeoutMs: 5_000 });
    expect([big.status, big.error]).toEqual([413, undefined]);
    const next = await send(client, "GET", `${url}/second`, { timeoutMs: 5_000 });
    expect([next.status, next.error, decode(next.body)]).toEqual([200, undefined, "clean"]);
    expect(answers).toEqual(["POST /upload HTTP/1.1", "GET /second HTTP/1.1"]);
  }, 30_000);

  test("rejects a response that is not HTTP", async () => {
    const { url } = rawServer((socket) => socket.write("SSH-2.0-OpenSSH\r\n\r\n"));
    const client = new Http1Client();
    const res = await send(client, "GET", url);
    expect([res.status, res.error]).toEqual([0, "malformed HTTP response"]);
  });

  test("speaks TLS to https URLs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "http1-tls-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    const made = Bun.spawnSync(
      ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"].concat([
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
      ]),
      { stderr: "pipe" },
    );
    expect(made.exitCode).toBe(0);
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: { key: Bun.file(key), cert: Bun.file(cert) },
      fetch: () => new Response("secret"),
    });
    cleanups.push(() => server.stop(true));
    const url = `https://127.0.0.1:${server.port}/`;
    const strict = await send(new Http1Client(), "GET", url);
    expect(strict.status).toBe(0); // self-signed: refused unless insecure
    expect(strict.error).toBeString();
    const client = new Http1Client({ insecure: true });
    const res = await send(client, "GET", url);
    expect([res.status, decode(res.body)]).toEqual([200, "secret"]);
    client.close();
  });
});
