import { describe, expect, test } from "bun:test";
import { Http1ResponseParser, ParseStep, type CacheStatus } from "../../lib/loadgen/http1-response.ts";

/** What a parser made of some bytes: a response read (in full or in part), or an error. */
type Outcome =
  | {
      status: number;
      statusText: string;
      cache: CacheStatus | undefined;
      body: string;
      closeAfter: boolean;
      /** done: complete; until close: the body runs on until the connection closes; more: cut short. */
      end: "done" | "until close" | "more";
      /** Bytes after the response, never read. */
      extra: number;
    }
  | { error: string; body: string };

// bytes as one char each (latin1), so tables can spell out any byte
const bytes = (s: string) => Buffer.from(s, "latin1");

/** Pushes `chunks` one after the other into a fresh parser and reads every step, as a connection does. */
function parse(chunks: string[], head = false): Outcome {
  const parser = new Http1ResponseParser();
  parser.begin(head);
  let body = "";
  for (let i = 0; i < chunks.length; i++) {
    parser.push(bytes(chunks[i]!));
    for (let step = parser.next(); step !== ParseStep.More; step = parser.next()) {
      if (step === ParseStep.Body) body += parser.input.toString("latin1", parser.bodyStart, parser.bodyEnd);
      else if (step === ParseStep.Error) return { error: parser.error, body };
      else {
        const unpushed = chunks.slice(i + 1).reduce((n, chunk) => n + chunk.length, 0);
        return { ...headOf(parser), body, end: "done", extra: parser.rest + unpushed };
      }
    }
  }
  return { ...headOf(parser), body, end: parser.untilClose ? "until close" : "more", extra: 0 };
}

function headOf(parser: Http1ResponseParser) {
  return {
    status: parser.status,
    statusText: parser.statusText,
    cache: parser.cache,
    closeAfter: parser.closeAfter,
  };
}

/** The usual outcome; rows change only what differs. */
const OK = {
  status: 200,
  statusText: "OK",
  cache: undefined,
  body: "",
  closeAfter: false,
  end: "done",
  extra: 0,
} as const satisfies Outcome; // `as const` keeps `end` a literal for the rows that spread it

const CL2 = "Content-Length: 2\r\n\r\nok";
const CHUNKED = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
const MALFORMED = { error: "malformed HTTP response", body: "" };
const BAD_CHUNK = { error: "malformed chunked body", body: "" };

const table: { name: string; input: string; head?: boolean; want: Outcome }[] = [
  // status lines
  {
    name: "a Content-Length body",
    input: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    want: { ...OK, body: "hello" },
  },
  {
    name: "a reason phrase with spaces",
    input: "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope",
    want: { ...OK, status: 404, statusText: "Not Found", body: "nope" },
  },
  {
    name: "no reason phrase",
    input: "HTTP/1.1 201\r\nContent-Length: 0\r\n\r\n",
    want: { ...OK, status: 201, statusText: "" },
  },
  {
    name: "an empty reason phrase",
    input: "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
    want: { ...OK, statusText: "" },
  },
  {
    name: "a reason phrase read as latin1",
    input: "HTTP/1.1 200 Tr\xe8s bien\r\nContent-Length: 0\r\n\r\n",
    want: { ...OK, statusText: "Tr\xe8s bien" },
  },
  {
    name: "status 999 is a status",
    input: "HTTP/1.1 999 Odd\r\n" + CL2,
    want: { ...OK, status: 999, statusText: "Odd", body: "ok" },
  },
  {
    name: "HTTP/1.0 closes after the response",
    input: "HTTP/1.0 200 OK\r\n" + CL2,
    want: { ...OK, body: "ok", closeAfter: true },
  },
  {
    name: "HTTP/1.0 with Connection: keep-alive stays open",
    input: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n" + CL2,
    want: { ...OK, body: "ok" },
  },
  {
    name: "Connection: close (any case)",
    input: "HTTP/1.1 200 OK\r\nconnection: Close\r\n" + CL2,
    want: { ...OK, body: "ok", closeAfter: true },
  },
  // headers
  {
    name: "header names in any case",
    input: "HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh: 2\r\n\r\nok",
    want: { ...OK, body: "ok" },
  },
  {
    name: "spaces around Content-Length",
    input: "HTTP/1.1 200 OK\r\nContent-Length: \t 2 \r\n\r\nok",
    want: { ...OK, body: "ok" },
  },
  {
    name: "no space after the colon",
    input: "HTTP/1.1 200 OK\r\nContent-Length:2\r\n\r\nok",
    want: { ...OK, body: "ok" },
  },
  { name: "Content-Length: 0 ends at the head", input: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", want: OK },
  {
    name: "'chunked' inside another word is not chunked",
    input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: notchunked\r\n" + CL2,
    want: { ...OK, body: "ok" },
  },
  {
    name: "Transfer-Encoding: gzip, chunked is chunked",
    input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    want: { ...OK, body: "ok" },
  },
  {
    name: "other headers and lines without a colon are skipped",
    input: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nnot a header\r\nX-Content-Length: 9\r\n" + CL2,
    want: { ...OK, body: "ok" },
  },
  {
    name: "X-Cache: HIT",
    input: "HTTP/1.1 200 OK\r\nX-Cache: HIT\r\n" + CL2,
    want: { ...OK, cache: "HIT", body: "ok" },
  },
  {
    name: "x-cache: MISS",
    input: "HTTP/1.1 200 OK\r\nx-cache: MISS\r\n" + CL2,
    want: { ...OK, cache: "MISS", body: "ok" },
  },
  { name: "X-CACHE:hit", input: "HTTP/1.1 200 OK\r\nX-CACHE:hit\r\n" + CL2, want: { ...OK, cache: "HIT", body: "ok" } },
  {
    name: "x-cAcHe:  miss  ",
    input: "HTTP/1.1 200 OK\r\nx-cAcHe:  miss  \r\n" + CL2,
    want: { ...OK, cache: "MISS", body: "ok" },
  },
  {
    name: "X-Cache: HIT from proxy (Squid)",
    input: "HTTP/1.1 200 OK\r\nX-Cache: HIT from proxy\r\n" + CL2,
    want: { ...OK, cache: "HIT", body: "ok" },
  },
  {
    name: "X-Cache: MISS, HIT takes the first",
    input: "HTTP/1.1 200 OK\r\nX-Cache: MISS, HIT\r\n" + CL2,
    want: { ...OK, cache: "MISS", body: "ok" },
  },
  {
    name: "X-Cache: HITS is no verdict",
    input: "HTTP/1.1 200 OK\r\nX-Cache: HITS\r\n" + CL2,
    want: { ...OK, body: "ok" },
  },
  {
    name: "X-Cache: HIT_1 is no verdict",
    input: "HTTP/1.1 200 OK\r\nX-Cache: HIT_1\r\n" + CL2,
    want: { ...OK, body: "ok" },
  },
  {
    name: "X-Cache: BYPASS is no verdict",
    input: "HTTP/1.1 200 OK\r\nX-Cache: BYPASS\r\n" + CL2,
    want: { ...OK, body: "ok" },
  },
  {
    name: "an empty X-Cache is no verdict",
    input: "HTTP/1.1 200 OK\r\nX-Cache:\r\n" + CL2,
    want: { ...OK, body: "ok" },
  },
  { name: "X-Cached is not X-Cache", input: "HTTP/1.1 200 OK\r\nX-Cached: HIT\r\n" + CL2, want: { ...OK, body: "ok" } },
  {
    name: "X-Cache-Lookup is not X-Cache",
    input: "HTTP/1.1 200 OK\r\nX-Cache-Lookup: HIT\r\n" + CL2,
    want: { ...OK, body: "ok" },
  },
  { name: "Cache is not X-Cache", input: "HTTP/1.1 200 OK\r\nCache: HIT\r\n" + CL2, want: { ...OK, body: "ok" } },
  // chunked
  {
    name: "chunked, with extensions, both hex cases and trailers",
    input:
      CHUNKED + "5;ext=1\r\nhello\r\nA\r\n, chunked!\r\nb\r\n more bytes\r\n0\r\nX-Trailer: yes\r\nX-Other: 2\r\n\r\n",
    want: { ...OK, body: "hello, chunked! more bytes" },
  },
  { name: "chunked without trailers", input: CHUNKED + "2\r\nok\r\n0\r\n\r\n", want: { ...OK, body: "ok" } },
  { name: "chunked and empty", input: CHUNKED + "0\r\n\r\n", want: OK },
  {
    name: "chunk sizes with leading zeros and padding",
    input: CHUNKED + "002 \r\nok\r\n1\t;x\r\n!\r\n000\r\n\r\n",
    want: { ...OK, body: "ok!" },
  },
  {
    name: "chunked wins over Content-Length",
    input: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    want: { ...OK, body: "ok" },
  },
  {
    name: "chunked last in a list of codings",
    input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    want: { ...OK, body: "ok" },
  },
  {
    name: "the two bytes after a chunk's data are skipped unchecked",
    input: CHUNKED + "2\r\nokXY0\r\n\r\n",
    want: { ...OK, body: "ok" },
  },
  // read until close
  {
    name: "HTTP/1.0 without a length reads until close",
    input: "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
    want: { ...OK, body: "until the end", closeAfter: true, end: "until close" },
  },
  {
    name: "HTTP/1.1 without a length reads until close",
    input: "HTTP/1.1 200 OK\r\n\r\nall of it",
    want: { ...OK, body: "all of it", closeAfter: true, end: "until close" },
  },
  {
    name: "a coding other than chunked without a length reads until close",
    input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz",
    want: { ...OK, body: "zz", closeAfter: true, end: "until close" },
  },
  // no body
  { name: "HEAD ignores Content-Length", input: "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", head: true, want: OK },
  {
    name: "HEAD ignores chunked",
    input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    head: true,
    want: OK,
  },
  { name: "HEAD without a length does not read until close", input: "HTTP/1.1 200 OK\r\n\r\n", head: true, want: OK },
  {
    name: "HEAD over HTTP/1.0 still closes",
    input: "HTTP/1.0 200 OK\r\n\r\n",
    head: true,
    want: { ...OK, closeAfter: true },
  },
  {
    name: "204 has no body",
    input: "HTTP/1.1 204 No Content\r\n\r\n",
    want: { ...OK, status: 204, statusText: "No Content" },
  },
  {
    name: "304 has no body whatever its Content-Length",
    input: "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n",
    want: { ...OK, status: 304, statusText: "Not Modified" },
  },
  {
    name: "204 with a Content-Length: the bytes after the head are not its body",
    input: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello",
    want: { ...OK, status: 204, statusText: "No Content", extra: 5 },
  },
  // 1xx
  {
    name: "100 Continue, then the response",
    input: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n" + CL2,
    want: { ...OK, status: 201, statusText: "Created", body: "ok" },
  },
  {
    name: "two 1xx heads, then the response",
    input: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n" + CL2,
    want: { ...OK, body: "ok" },
  },
  {
    name: "a 1xx head's X-Cache is not the response's",
    input: "HTTP/1.1 100 Continue\r\nX-Cache: HIT\r\n\r\nHTTP/1.1 200 OK\r\n" + CL2,
    want: { ...OK, body: "ok" },
  },
  {
    name: "a 1xx head's Connection: close is not the response's",
    input: "HTTP/1.1 103 Early Hints\r\nConnection: close\r\n\r\nHTTP/1.1 200 OK\r\n" + CL2,
    want: { ...OK, body: "ok" },
  },
  {
    name: "a 1xx head alone waits for the response",
    input: "HTTP/1.1 100 Continue\r\n\r\n",
    want: { ...OK, status: 100, statusText: "Continue", end: "more" },
  },
  // cut short
  {
    name: "half a head",
    input: "HTTP/1.1 200 OK\r\nContent-Le",
    want: { ...OK, status: 0, statusText: "", end: "more" },
  },
  {
    name: "part of a Content-Length body",
    input: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b",
    want: { ...OK, body: "only ten b", end: "more" },
  },
  { name: "part of a chunk", input: CHUNKED + "5\r\nhel", want: { ...OK, body: "hel", end: "more" } },
  {
    name: "before the trailers end",
    input: CHUNKED + "2\r\nok\r\n0\r\nX-T: 1\r\n",
    want: { ...OK, body: "ok", end: "more" },
  },
  // bytes after the response
  {
    name: "a second response after a Content-Length one",
    input: "HTTP/1.1 200 OK\r\n" + CL2 + "HTTP/1.1 200 OK\r\n" + CL2,
    want: { ...OK, body: "ok", extra: 40 },
  },
  {
    name: "bytes after a chunked body",
    input: CHUNKED + "2\r\nok\r\n0\r\n\r\nXYZ",
    want: { ...OK, body: "ok", extra: 3 },
  },
  {
    name: "bytes after a HEAD response",
    input: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    head: true,
    want: { ...OK, extra: 5 },
  },
  // malformed
  { name: "not HTTP", input: "SSH-2.0-OpenSSH\r\n\r\n", want: MALFORMED },
  { name: "an empty head", input: "\r\n\r\n", want: MALFORMED },
  { name: "a status line too short", input: "HTTP/1.1 20\r\n\r\n", want: MALFORMED },
  { name: "HTTP/2", input: "HTTP/2.0 200 OK\r\n\r\n", want: MALFORMED },
  { name: "a status that is not three digits", input: "HTTP/1.1 2x0 OK\r\n\r\n", want: MALFORMED },
  { name: "a status below 100", input: "HTTP/1.1 099 Low\r\n\r\n", want: MALFORMED },
  {
    name: "101 Switching Protocols",
    input: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    want: MALFORMED,
  },
  {
    name: "a Content-Length that is not a number",
    input: "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
    want: MALFORMED,
  },
  { name: "a negative Content-Length", input: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", want: MALFORMED },
  { name: "an empty Content-Length", input: "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", want: MALFORMED },
  { name: "a chunk size that is not hex", input: CHUNKED + "zz\r\n", want: BAD_CHUNK },
  { name: "a chunk size followed by ')'", input: CHUNKED + "2)\r\nok\r\n0\r\n\r\n", want: BAD_CHUNK },
  { name: "a status line that is not HTTP/1.x", input: "HXXX/1.1 200 OK\r\n" + CL2, want: MALFORMED },
  { name: "a status line without the space", input: "HTTP/1.1_200 OK\r\n" + CL2, want: MALFORMED },
  {
    name: "a Content-Length with a space inside",
    input: "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
    want: MALFORMED,
  },

  { name: "an empty chunk size line", input: CHUNKED + "\r\nok\r\n", want: BAD_CHUNK },
  { name: "a chunk size with 0x", input: CHUNKED + "0x2\r\nok\r\n", want: BAD_CHUNK },
  {
    name: "a bad chunk after a good one",
    input: CHUNKED + "5\r\nhello\r\n-1\r\n",
    want: { ...BAD_CHUNK, body: "hello" },
  },
];

const STEP_NAMES: Record<ParseStep, string> = {
  [ParseStep.More]: "More",
  [ParseStep.Body]: "Body",
  [ParseStep.Done]: "Done",
  [ParseStep.Error]: "Error",
};

/** Every way to cut `input` in two. */
function splits(input: string): string[][] {
  return Array.from({ length: input.length - 1 }, (_, i) => [input.slice(0, i + 1), input.slice(i + 1)]);
}

describe("Http1ResponseParser", () => {
  for (const { name, input, head, want } of table) {
    test(`reads ${name}`, () => {
      expect(parse([input], head)).toEqual(want);
    });
  }

  test("reads the same when the bytes are cut at any boundary, or arrive one by one", () => {
    const differ: string[] = [];
    for (const { name, input, head, want } of table) {
      for (const chunks of [...splits(input), input.split("")]) {
        if (!Bun.deepEquals(parse(chunks, head), want)) differ.push(`${name} at ${chunks[0]!.length}`);
      }
    }
    expect(differ).toEqual([]);
  });

  test("next() steps: Body for each piece of body, then Done even with no byte left", () => {
    const steps = (chunks: string[], head = false) => {
      const parser = new Http1ResponseParser();
      parser.begin(head);
      const seen: string[] = [];
      for (const chunk of chunks) {
        parser.push(bytes(chunk));
        for (;;) {
          const step = parser.next();
          if (step === ParseStep.Body)
            seen.push(`body ${parser.input.toString("latin1", parser.bodyStart, parser.bodyEnd)}`);
          else seen.push(STEP_NAMES[step]);
          if (step !== ParseStep.Body) break;
        }
      }
      return seen;
    };
    expect(steps(["HTTP/1.1 200 OK\r\n" + CL2])).toEqual(["body ok", "Done"]);
    expect(steps(["HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab", "cd"])).toEqual([
      "body ab",
      "More",
      "body cd",
      "Done",
    ]);
    expect(steps([CHUNKED + "5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n"])).toEqual(["body hello", "body abc", "Done"]);
    expect(steps(["HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"], true)).toEqual(["Done"]);
    expect(steps(["HTTP/1.1 200 OK\r\n", "\r\nab", "c"])).toEqual(["More", "body ab", "More", "body c", "More"]);
    expect(steps(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", ""])).toEqual(["body ok", "Done", "More"]);
  });

  test("an Error stays until begin(), which starts afresh", () => {
    const parser = new Http1ResponseParser();
    parser.begin(false);
    parser.push(bytes("NOPE\r\n\r\n"));
    expect([parser.next(), parser.error]).toEqual([ParseStep.Error, "malformed HTTP response"]);
    parser.push(bytes("HTTP/1.1 200 OK\r\n" + CL2));
    expect(parser.next()).toBe(ParseStep.Error);
    parser.begin(false);
    parser.push(bytes("HTTP/1.1 200 OK\r\n" + CL2));
    expect([parser.next(), parser.next(), parser.status]).toEqual([ParseStep.Body, ParseStep.Done, 200]);
  });

  test("begin() forgets the last response's head, HEAD flag and partial line", () => {
    const parser = new Http1ResponseParser();
    parser.begin(true);
    parser.push(bytes("HTTP/1.0 203 Cached\r\nX-Cache: HIT\r\nContent-Length: 2\r\n\r\n"));
    expect([parser.next(), parser.status, parser.cache, parser.closeAfter]).toEqual([ParseStep.Done, 203, "HIT", true]);
    parser.begin(false);
    expect([parser.status, parser.statusText, parser.cache, parser.closeAfter]).toEqual([0, "", undefined, false]);
    parser.push(bytes("HTTP/1.1 200 OK\r\nContent-Le"));
    expect(parser.next()).toBe(ParseStep.More);
    parser.begin(false);
    parser.push(bytes("HTTP/1.1 200 OK\r\n" + CL2));
    expect([parser.next(), parser.next(), parser.status]).toEqual([ParseStep.Body, ParseStep.Done, 200]);
  });

  test("Body points into the pushed bytes instead of copying them", () => {
    const parser = new Http1ResponseParser();
    parser.begin(false);
    const data = bytes("HTTP/1.1 200 OK\r\n" + CL2);
    parser.push(data);
    expect(parser.next()).toBe(ParseStep.Body);
    expect(parser.input).toBe(data);
    expect([parser.bodyStart, parser.bodyEnd]).toEqual([data.length - 2, data.length]);
  });
});
