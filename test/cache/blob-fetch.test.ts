/**
 * lib/cache/blob-fetch.ts against a foreign origin (test/support/fault-origin.ts): a body without Content-Length
 * (chunked, as Go's server sends anything over its buffer) is read up to maxItemBytes, verified and held exactly
 * as a sized one, and streamed only beyond it; a streamed body must keep up a minimum rate once the timeout's
 * grace is over, counting only the time spent waiting for the upstream, never for the client.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { fetchFromOrigin, type FetchedBlob } from "../../lib/cache/blob-fetch.ts";
import { HttpError } from "../../lib/common/http-error.ts";
import { parseKey } from "../../lib/common/key.ts";
import { randomBytes, sha256 } from "../support/cache-fixtures.ts";
import { startFaultOrigin, type Behaviour } from "../support/fault-origin.ts";

const origin = startFaultOrigin();
afterAll(() => origin.stop());

const MAX_ITEM = 32 * 1024;

function get(key: string, options: { timeoutMs?: number; minBytesPerSecond?: number } = {}): Promise<FetchedBlob> {
  return fetchFromOrigin(origin.url, parseKey(key)!, {
    timeoutMs: options.timeoutMs ?? 2000,
    maxItemBytes: MAX_ITEM,
    minBytesPerSecond: options.minBytesPerSecond,
  });
}

function serve(size: number, behaviour: Behaviour): string {
  return origin.serve(randomBytes(size), behaviour);
}

async function bytesOf(blob: FetchedBlob, pauseMs = 0): Promise<Uint8Array> {
  if (blob.kind === "held") return new Uint8Array(await blob.body.arrayBuffer());
  const parts: Uint8Array[] = [];
  for await (const chunk of blob.response.body!) {
    parts.push(chunk);
    if (pauseMs > 0) await Bun.sleep(pauseMs);
  }
  return new Uint8Array(Buffer.concat(parts));
}

describe("fetchFromOrigin() with a body of unknown size", () => {
  test("a chunked body up to maxItemBytes is held and verified, as a sized one is", async () => {
    for (const size of [0, 2500, 25_000, MAX_ITEM]) {
      const key = serve(size, { framing: "chunked" });
      const blob = await get(key);
      expect({ size, kind: blob.kind }).toEqual({ size, kind: "held" });
      expect(sha256(await bytesOf(blob))).toBe(key);
    }
  });

  test("a chunked body with wrong bytes up to maxItemBytes is a clean 502 bad_upstream_digest", async () => {
    const err = await get(serve(25_000, { framing: "chunked", fault: "lying" })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ status: 502, code: "bad_upstream_digest" });
  });

  test("a chunked body cut off before maxItemBytes is a clean 502, never a held blob", async () => {
    for (const fault of ["short", "reset"] as const) {
      const err = await get(serve(25_000, { framing: "chunked", fault })).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 502, code: "upstream_unavailable" });
    }
  });

  test("a chunked body larger than maxItemBytes streams, verified, with the bytes read so far first", async () => {
    const key = serve(5 * MAX_ITEM + 123, { framing: "chunked" });
    const blob = await get(key);
    expect(blob.kind).toBe("streamed");
    expect(blob.kind === "streamed" && blob.size).toBeUndefined();
    expect(sha256(await bytesOf(blob))).toBe(key);
  });

  test("a chunked body that drips is 504 within the deadline while it is still small enough to hold", async () => {
    const err = await get(serve(25_000, { framing: "chunked", fault: "drip" }), { timeoutMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ status: 504, code: "upstream_timeout" });
  });
});

describe("fetchFromOrigin() streaming a large body", () => {
  test("a drip-fed stream is broken off once it falls below the minimum rate, not after the whole body", async () => {
    // 100 KB at 2 KiB/s would take 50 s; at least 64 KiB/s after 300 ms of grace cuts it within a second.
    const blob = await get(serve(100_000, { fault: "drip" }), { timeoutMs: 300, minBytesPerSecond: 65536 });
    expect(blob.kind).toBe("streamed");
    // The stream errors without a reason (Bun prints none then): only whether it broke off matters.
    expect(
      await bytesOf(blob).then(
        () => "complete",
        () => "broken off",
      ),
    ).toBe("broken off");
  }, 10_000);

  test("a drip-fed chunked body is 504 before it has outgrown maxItemBytes: its first part has the deadline", async () => {
    const err = await get(serve(100_000, { framing: "chunked", fault: "drip" }), { timeoutMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ status: 504, code: "upstream_timeout" });
  });

  test("a client that reads slowly is not blamed on the upstream: the stream completes", async () => {
    const key = serve(20 * MAX_ITEM, { framing: "sized" });
    const blob = await get(key, { timeoutMs: 300, minBytesPerSecond: 10 * 2 ** 20 });
    expect(sha256(await bytesOf(blob, 30))).toBe(key);
  });
});
