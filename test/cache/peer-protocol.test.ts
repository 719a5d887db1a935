/**
 * The peer protocol on its own: the owner's share of the asker's deadline, and how the asker reads each kind of
 * answer from an owner (final verdict or the peer's own failure). The answers come from a stand-in peer, since a
 * real cache never sends most of them; the real owner's answers are in handler.test.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { HttpError } from "../../lib/common/http-error.ts";
import { type BlobKey, parseKey } from "../../lib/common/key.ts";
import {
  DEADLINE_HEADER,
  fetchFromPeer,
  isFinalPeerAnswer,
  PEER_PATH,
  PeerVerdict,
  peerBudget,
} from "../../lib/cache/peer-protocol.ts";
import { randomBytes, sha256 } from "../support/cache-fixtures.ts";

describe("peerBudget()", () => {
  test("leaves a tenth of the asker's time, at most 100 ms, for the way back; ignores unusable headers", () => {
    const rows: Array<[header: string | undefined, budget: number | undefined]> = [
      ["1000", 900],
      ["50", 45],
      ["2000", 1900],
      ["10000", 9900],
      ["0", undefined],
      ["-5", undefined],
      ["soon", undefined],
      ["", undefined],
      [undefined, undefined],
    ];
    for (const [header, budget] of rows) {
      const headers: Record<string, string> = header === undefined ? {} : { [DEADLINE_HEADER]: header };
      const req = new Request(`http://owner.test${PEER_PATH}${"a".repeat(64)}`, { headers });
      expect({ header, budget: peerBudget(req) }).toEqual({ header, budget });
    }
  });
});

describe("isFinalPeerAnswer()", () => {
  test("the owner's verdict and its 404 are final; every other failure leads to a local load", () => {
    expect(isFinalPeerAnswer(new PeerVerdict(504, "upstream_timeout", "late"))).toBe(true);
    expect(isFinalPeerAnswer(new HttpError(404, "not_found", "no blob"))).toBe(true);
    expect(isFinalPeerAnswer(new HttpError(502, "upstream_unavailable", "refused"))).toBe(false);
    expect(isFinalPeerAnswer(new HttpError(502, "bad_upstream_digest", "wrong bytes"))).toBe(false);
    expect(isFinalPeerAnswer(new Error("boom"))).toBe(false);
  });
});

describe("fetchFromPeer()", () => {
  const data = randomBytes(600);
  const key: BlobKey = parseKey(sha256(data))!;
  let answer: () => Response = () => new Response(data);
  // What the owner was asked, copied while the request is live (Bun recycles it once answered).
  const asked: Array<{ path: string; headers: Headers }> = [];
  // Not our component: a stand-in owner whose answer each test sets.
  const owner = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      asked.push({ path: new URL(req.url).pathname, headers: new Headers(req.headers) });
      return answer();
    },
  });
  const peer = `http://127.0.0.1:${owner.port}`;
  afterAll(() => owner.stop(true));

  function ask(fresh = false) {
    return fetchFromPeer(peer, key, {
      timeoutMs: 10_000,
      maxItemBytes: 1 << 20,
      deadline: performance.now() + 10_000,
      fresh,
    });
  }

  test("asks the peer route with the time it has left, and no-cache only for a forced miss", async () => {
    answer = () => new Response(data);
    for (const fresh of [false, true]) {
      const blob = await ask(fresh);
      expect(blob.kind).toBe("held");
      const req = asked.at(-1)!;
      expect(req.path).toBe(`${PEER_PATH}${key.hex}`);
      const left = Number(req.headers.get(DEADLINE_HEADER));
      expect(Number.isInteger(left) && left > 0 && left <= 10_000).toBe(true);
      expect(req.headers.get("cache-control")).toBe(fresh ? "no-cache" : null);
    }
  });

  test("reads each kind of owner answer as a final verdict or as the peer's own failure", async () => {
    const verdict = (status: number, error: string) => () =>
      Response.json({ error, message: "the origin said so" }, { status });
    const rows: Array<
      [what: string, answer: () => Response, expected: { status: number; code: string; final: boolean }]
    > = [
      [
        "504 upstream_timeout",
        verdict(504, "upstream_timeout"),
        { status: 504, code: "upstream_timeout", final: true },
      ],
      [
        "502 upstream_unavailable",
        verdict(502, "upstream_unavailable"),
        { status: 502, code: "upstream_unavailable", final: true },
      ],
      [
        "502 bad_upstream_digest",
        verdict(502, "bad_upstream_digest"),
        { status: 502, code: "bad_upstream_digest", final: true },
      ],
      ["404", () => new Response(null, { status: 404 }), { status: 404, code: "not_found", final: true }],
      ["500 internal", verdict(500, "internal"), { status: 502, code: "bad_upstream_status", final: false }],
      [
        "500 html",
        () => new Response("<html>proxy error</html>", { status: 500 }),
        { status: 502, code: "bad_upstream_status", final: false },
      ],
      ["429", verdict(429, "upstream_timeout"), { status: 502, code: "bad_upstream_status", final: false }],
      [
        "200 wrong bytes",
        () => new Response(new Uint8Array(600).fill(3)),
        { status: 502, code: "bad_upstream_digest", final: false },
      ],
    ];
    for (const [what, respond, expected] of rows) {
      answer = respond;
      const err: unknown = await ask().then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(err instanceof HttpError)) throw new Error(`${what}: expected an HttpError, got ${String(err)}`);
      expect({ what, status: err.status, code: err.code, final: isFinalPeerAnswer(err) }).toEqual({
        what,
        ...expected,
      });
      if (expected.final && err.status >= 500) expect(err.message).toContain("(answered by the owning peer)");
    }
  });
});
