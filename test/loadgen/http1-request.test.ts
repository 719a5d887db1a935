import { describe, expect, test } from "bun:test";
import { prepareRequest } from "../../lib/loadgen/http1-request.ts";

/** Bytes as one char each, so a table can spell out non-ASCII and binary bytes. */
const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");
const text = (s: string) => new TextEncoder().encode(s);

describe("prepareRequest()", () => {
  const table: {
    name: string;
    method: string;
    url: string;
    options?: Parameters<typeof prepareRequest>[2];
    bytes: string;
    origin: string;
    hostname: string;
    port: number;
    tls: boolean;
    head: boolean;
    idempotent: boolean;
  }[] = [
    {
      name: "writes the request line, Host and Content-Length",
      method: "post",
      url: "http://example.test:8080/a/b?c=1",
      options: { headers: { "X-One": "1" }, body: text("hi") },
      bytes: "POST /a/b?c=1 HTTP/1.1\r\nX-One: 1\r\nHost: example.test:8080\r\nContent-Length: 2\r\n\r\nhi",
      origin: "http://example.test:8080",
      hostname: "example.test",
      port: 8080,
      tls: false,
      head: false,
      idempotent: false,
    },
    {
      name: "keeps a given Host, adds Connection: close without keep-alive, defaults the https port",
      method: "GET",
      url: "https://[::1]/x",
      options: { headers: { host: "other" }, keepAlive: false },
      bytes: "GET /x HTTP/1.1\r\nhost: other\r\nConnection: close\r\n\r\n",
      origin: "https://[::1]",
      hostname: "::1",
      port: 443,
      tls: true,
      head: false,
      idempotent: true,
    },
    {
      name: "HEAD: no Content-Length, no body expected",
      method: "HEAD",
      url: "http://h/",
      bytes: "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n",
      origin: "http://h",
      hostname: "h",
      port: 80,
      tls: false,
      head: true,
      idempotent: true,
    },
    {
      name: "an empty path is /; the default port stays out of Host and origin",
      method: "GET",
      url: "http://h:80",
      bytes: "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
      origin: "http://h",
      hostname: "h",
      port: 80,
      tls: false,
      head: false,
      idempotent: true,
    },
    {
      name: "PUT without a body says Content-Length: 0",
      method: "put",
      url: "http://h:1/cas/k",
      bytes: "PUT /cas/k HTTP/1.1\r\nHost: h:1\r\nContent-Length: 0\r\n\r\n",
      origin: "http://h:1",
      hostname: "h",
      port: 1,
      tls: false,
      head: false,
      idempotent: true,
    },
    {
      name: "PATCH without a body says Content-Length: 0 and is not idempotent",
      method: "PATCH",
      url: "http://h/",
      bytes: "PATCH / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
      origin: "http://h",
      hostname: "h",
      port: 80,
      tls: false,
      head: false,
      idempotent: false,
    },
    {
      name: "an empty body is declared but adds no bytes",
      method: "POST",
      url: "http://h/",
      options: { body: new Uint8Array(0) },
      bytes: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
      origin: "http://h",
      hostname: "h",
      port: 80,
      tls: false,
      head: false,
      idempotent: false,
    },
    {
      name: "a GET with a body declares it",
      method: "GET",
      url: "http://h/",
      options: { body: text("abc") },
      bytes: "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
      origin: "http://h",
      hostname: "h",
      port: 80,
      tls: false,
      head: false,
      idempotent: true,
    },
    {
      name: "a given Content-Length or Connection (any case) is not repeated",
      method: "POST",
      url: "http://h/",
      options: { headers: { "content-LENGTH": "9", CONNECTION: "keep-alive" }, body: text("x"), keepAlive: false },
      bytes: "POST / HTTP/1.1\r\ncontent-LENGTH: 9\r\nCONNECTION: keep-alive\r\nHost: h\r\n\r\nx",
      origin: "http://h",
      hostname: "h",
      port: 80,
      tls: false,
      head: false,
      idempotent: false,
    },
    {
      name: "keep-alive (the default, or said) adds no Connection header",
      method: "DELETE",
      url: "http://h/x",
      options: { keepAlive: true },
      bytes: "DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n",
      origin: "http://h",
      hostname: "h",
      port: 80,
      tls: false,
      head: false,
      idempotent: true,
    },
    {
      name: "headers are written as UTF-8, the body byte for byte",
      method: "POST",
      url: "http://h/",
      options: { headers: { "X-Name": "é" }, body: new Uint8Array([0x00, 0xff, 0x0d, 0x0a]) },
      bytes: "POST / HTTP/1.1\r\nX-Name: \xc3\xa9\r\nHost: h\r\nContent-Length: 4\r\n\r\n\x00\xff\r\n",
      origin: "http://h",
      hostname: "h",
      port: 80,
      tls: false,
      head: false,
      idempotent: false,
    },
  ];
  for (const { name, method, url, options, ...expected } of table) {
    test(name, () => {
      const r = prepareRequest(method, url, options);
      expect({
        bytes: latin1(r.bytes),
        origin: r.origin,
        hostname: r.hostname,
        port: r.port,
        tls: r.tls,
        head: r.head,
        idempotent: r.idempotent,
      }).toEqual(expected);
      expect(r.method).toBe(method.toUpperCase());
    });
  }

  test("rejects what it cannot send", () => {
    expect(() => prepareRequest("GET", "not a url")).toThrow('Cannot parse URL "not a url"');
    expect(() => prepareRequest("GET", "ftp://h/x")).toThrow('Cannot send to "ftp://h/x": only http and https');
  });
});
