/**
 * Malformed and hostile HTTP/1.1 for the fault suite's fuzz case: a seeded generator of raw requests
 * (methods, encoded and overlong paths, duplicate and huge headers, bad lengths and chunking, broken
 * multipart, bad ranges, pipelining, garbage) and a runner that sends them over raw sockets and sorts the
 * answers into ours (a JSON error body) and Bun's own (its HTTP layer's bare answers). Loopback only.
 */
import { prng } from "./prng.ts";
import { rawConnect } from "./raw-http.ts";

export interface FuzzCase {
  kind: string;
  bytes: Uint8Array;
}

const enc = new TextEncoder();

/** Builds the generator over `keys` (blobs that exist, so that some requests reach the deep paths). */
export function fuzzCases(seed: number, keys: readonly string[]): () => FuzzCase {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const int = (n: number) => Math.floor(rnd() * n);
  const hex = (n: number) => Array.from({ length: n }, () => "0123456789abcdef"[int(16)]).join("");
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const key = () => (keys.length > 0 && rnd() < 0.6 ? pick(keys) : hex(pick([40, 64])));

  const methods = [
    "GET",
    "HEAD",
    "PUT",
    "POST",
    "DELETE",
    "PATCH",
    "OPTIONS",
    "TRACE",
    "CONNECT",
    "get",
    "FOO",
    "G ET",
  ];
  const paths = (): string =>
    pick([
      () => `/cas/${key()}`,
      () => `/cas/${key().toUpperCase()}`,
      () => `/_peer/cas/${key()}`,
      () => `/cas/${hex(int(80))}`,
      () => `/cas/${key()}?x=${"y".repeat(int(100))}`,
      () => `/cas/%2e%2e/%2e%2e/etc/passwd`,
      () => `/cas/..%2f..%2fetc%2fpasswd`,
      () => `/cas/../../../../etc/passwd`,
      () => `/cas/${key().slice(0, 20)}%00${key().slice(20)}`,
      () => `/cas/${"%41".repeat(int(300))}`,
      () => `/cas/\\..\\..\\tmp`,
      () => `//cas//${key()}`,
      () => `/${"a/".repeat(int(2000))}`,
      () => `/cas/${"f".repeat(8192 + int(60000))}`,
      () => `http://evil.example/cas/${key()}`,
      () => "*",
      () => `/cas`,
      () => pick(["/stats", "/metrics", "/healthz", "/readyz", "/", "/favicon.ico"]),
      () => `/cas/${key()}#frag`,
      () => `/cas/\u00e9\u0301${key()}`,
    ])();

  const headerSets = (): string[] =>
    pick([
      () => [],
      () => [
        `Range: ${pick(["bytes=0-0", "bytes=-0", "bytes=5-1", "bytes=0-1,3-4", "bytes=99999999999999999999-", "bytes=-", "pages=1-2", "bytes=0-" + "9".repeat(40)])}`,
      ],
      () => [`If-None-Match: ${pick(['"x"', "*", "W/", '"' + key() + '"', "\u0000"])}`, "If-Range: garbage"],
      () => ["Cache-Control: no-cache", "Cache-Control: no-cache"],
      () => [`X-Big: ${"x".repeat(16_000 + int(100_000))}`],
      () => Array.from({ length: 100 + int(400) }, (_, i) => `X-H${i}: ${i}`),
      () => ["Host: a", "Host: b"],
      () => [`Authorization: Bearer ${"t".repeat(int(5000))}`],
      () => ["Expect: 100-continue"],
      () => [`Content-Type: multipart/form-data; boundary=${pick(["", "x".repeat(100), "abc", '"q"'])}`],
      () => [": no-name", "Bad Header Name: x", "X-Fold: a\r\n folded"],
    ])();

  function request(
    method: string,
    path: string,
    headers: string[],
    body: Uint8Array | string,
    framing: string[],
  ): Uint8Array {
    const head = [`${method} ${path} HTTP/1.1`, "Host: 127.0.0.1", ...headers, ...framing, "Connection: close"];
    const b = typeof body === "string" ? enc.encode(body) : body;
    return Buffer.concat([enc.encode(head.join("\r\n") + "\r\n\r\n"), b]);
  }

  const bodies: (() => FuzzCase)[] = [
    () => ({ kind: "request", bytes: request(pick(methods), paths(), headerSets(), "", []) }),
    () => {
      const b = bytes(int(3000));
      return {
        kind: "body",
        bytes: request(pick(["PUT", "POST"]), paths(), headerSets(), b, [`Content-Length: ${b.length}`]),
      };
    },
    () => {
      const b = bytes(int(500));
      const cl = pick([
        `${b.length + 1 + int(1000)}`,
        "-1",
        "abc",
        "1e3",
        " 5",
        "99999999999999999999",
        `${b.length}, ${b.length + 1}`,
      ]);
      return { kind: "bad-length", bytes: request("PUT", `/cas/${key()}`, [], b, [`Content-Length: ${cl}`]) };
    },
    () => ({
      kind: "duplicate-length",
      bytes: request("PUT", `/cas/${key()}`, [], "abcd", [
        "Content-Length: 4",
        `Content-Length: ${pick(["4", "2", "400"])}`,
      ]),
    }),
    () => {
      const chunked = pick([
        "4\r\nabcd\r\n0\r\n\r\n",
        "zz\r\nabcd\r\n0\r\n\r\n",
        "ffffffffffffffff\r\nab\r\n",
        "4\r\nabcdef\r\n0\r\n\r\n",
        "4;ext=1\r\nabcd\r\n0\r\nTrailer: x\r\n\r\n",
        "-1\r\n\r\n",
        "4\nabcd\n0\n\n",
        "4\r\nab",
      ]);
      const te = pick(["chunked", "chunked, gzip", "gzip", "identity", " chunked", "CHUNKED"]);
      const extra = rnd() < 0.3 ? ["Content-Length: 4"] : [];
      return {
        kind: "chunking",
        bytes: request("PUT", `/cas/${key()}`, [], chunked, [`Transfer-Encoding: ${te}`, ...extra]),
      };
    },
    () => {
      const boundary = "b" + hex(8);
      const body = pick([
        `--${boundary}\r\nContent-Disposition: form-data; name="file"\r\n\r\nhello\r\n--${boundary}--\r\n`,
        `--${boundary}\r\nContent-Disposition: form-data; name="file"\r\n\r\nno end`,
        `--${boundary}\r\n${"X: y\r\n".repeat(5000)}\r\n\r\n--${boundary}--\r\n`,
        `--other\r\n\r\n--other--\r\n`,
        `--${boundary}--\r\n`,
        `garbage`,
      ]);
      return {
        kind: "multipart",
        bytes: request(
          pick(["PUT", "POST"]),
          pick([`/cas/${key()}`, "/cas"]),
          [`Content-Type: multipart/form-data; boundary=${boundary}`],
          body,
          [`Content-Length: ${enc.encode(body).length}`],
        ),
      };
    },
    () => {
      // A valid request, then more on the same connection: valid, malformed or garbage.
      const first = `GET /cas/${key()} HTTP/1.1\r\nHost: a\r\n\r\n`;
      const second = pick([
        `GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n`,
        "BAD\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "\u0000\u0001\u0002\r\n\r\n",
      ]);
      return {
        kind: "pipelining",
        bytes: enc.encode(first + second + `GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`),
      };
    },
    () =>
      pick([
        () => ({ kind: "garbage", bytes: bytes(1 + int(4000)) }),
        () => ({ kind: "garbage", bytes: enc.encode(`GET /cas/${key()} HTTP/1.1\nHost: a\nConnection: close\n\n`) }),
        () => ({ kind: "garbage", bytes: enc.encode("GET /\r\n") }),
        () => ({ kind: "garbage", bytes: enc.encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") }),
        () => ({
          kind: "garbage",
          bytes: Uint8Array.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]),
        }),
        () => ({ kind: "garbage", bytes: enc.encode(`GET /cas/${key()} HTTP/1.1\r\n${"A".repeat(100_000)}`) }),
        () => ({ kind: "garbage", bytes: enc.encode(`${"GET ".repeat(5000)}\r\n\r\n`) }),
      ])(),
  ];
  return () => pick(bodies)();
}

export interface Answer {
  status: number;
  /**
   * True when a handler of ours (or Bun's error page for a handler that threw) produced it. Bun's HTTP layer
   * answers what it cannot parse itself (400, 413, 431, 505) with a status line and `Connection: close` only;
   * anything a handler returns carries a Date header.
   */
  ours: boolean;
  body: string;
}

/** Splits what a connection received into its HTTP answers. */
export function answersIn(raw: string): Answer[] {
  // A pipelined answer starts right after the previous body, with no line break before it.
  const starts = [...raw.matchAll(/HTTP\/1\.[01] (\d{3}) [^\r\n]*\r\n/g)];
  return starts.map((m, i) => {
    const end = i + 1 < starts.length ? starts[i + 1]!.index : raw.length;
    const text = raw.slice(m.index, end);
    const split = text.indexOf("\r\n\r\n");
    const headers = split === -1 ? text : text.slice(0, split);
    const body = split === -1 ? "" : text.slice(split + 4);
    return { status: Number(m[1]), ours: /\r\ndate: /i.test(headers), body: body.slice(0, 300) };
  });
}

export interface FuzzStats {
  sent: number;
  /** Connections that got no answer before the runner gave up on them (bodies never completed, say). */
  unanswered: number;
  byStatus: Map<number, number>;
  /** 5xx answers from our own handlers, with the case that caused them. */
  ours5xx: { kind: string; status: number; body: string; request: string }[];
}

/** Sends `count` generated requests to 127.0.0.1:`port`, `concurrency` connections at a time. */
export async function runFuzz(
  port: number,
  next: () => FuzzCase,
  options: { count: number; concurrency: number; waitMs: number },
): Promise<FuzzStats> {
  const stats: FuzzStats = { sent: 0, unanswered: 0, byStatus: new Map(), ours5xx: [] };
  async function one(): Promise<void> {
    const c = next();
    stats.sent++;
    let raw = "";
    try {
      const conn = await rawConnect(port);
      conn.write(c.bytes);
      raw = await conn.received(options.waitMs);
      conn.close();
    } catch {
      // The server closed before we finished writing: an answer of sorts, nothing to classify.
    }
    const answers = answersIn(raw);
    if (answers.length === 0) stats.unanswered++;
    for (const a of answers) {
      stats.byStatus.set(a.status, (stats.byStatus.get(a.status) ?? 0) + 1);
      if (a.status >= 500 && a.ours) {
        const request = new TextDecoder().decode(c.bytes.subarray(0, 200));
        stats.ours5xx.push({ kind: c.kind, status: a.status, body: a.body, request });
      }
    }
  }
  let started = 0;
  async function lane(): Promise<void> {
    while (started < options.count) {
      started++;
      await one();
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  return stats;
}
