/**
 * forwardToOrigin() against stand-in origins on ephemeral ports that misbehave on purpose: silent, stalling
 * mid-body, not reading an upload, failing; and what it passes on and holds back. The real origin behind a
 * real cache is in handler.test.ts and test/clients/build-cache.test.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { forwardToOrigin } from "../../lib/cache/origin-forward.ts";

const servers: Array<Server<undefined>> = [];
afterAll(() => {
  for (const server of servers) server.stop(true);
});

/** A stand-in origin; returns its base URL. */
function standIn(fetch: (req: Request) => Response | Promise<Response>): string {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 30, fetch });
  servers.push(server);
  return `http://127.0.0.1:${server.port}`;
}

const never = () => new Promise<Response>(() => {});
const TIMEOUT_MS = 300;

async function errorOf(res: Response): Promise<{ status: number; error: string }> {
  const body = (await res.json()) as { error: string };
  return { status: res.status, error: body.error };
}

describe("forwardToOrigin()", () => {
  test("passes the request's method, body and judging headers, and the answer's status, body and headers", async () => {
    let seen: { method: string; headers: Record<string, string | null>; body: string } | undefined;
    const url = standIn(async (req) => {
      const names = ["authorization", "content-type", "content-length", "if-none-match", "cookie", "x-other"];
      seen = {
        method: req.method,
        headers: Object.fromEntries(names.map((n) => [n, req.headers.get(n)])),
        body: await req.text(),
      };
      return new Response("stored", { status: 201, headers: { location: "/ac/k", etag: '"e"', "x-secret": "no" } });
    });
    const req = new Request("http://cache.test/ac/k", {
      method: "PUT",
      body: "entry bytes",
      // As Bun's server hands a request over: with its Content-Length.
      headers: {
        authorization: "Bearer t",
        "content-type": "application/octet-stream",
        "content-length": "11",
        cookie: "c",
        "x-other": "o",
      },
    });
    const res = await forwardToOrigin(req, `${url}/ac/k`, { timeoutMs: 5000 });
    expect(seen).toEqual({
      method: "PUT",
      headers: {
        authorization: "Bearer t",
        "content-type": "application/octet-stream",
        "content-length": "11",
        "if-none-match": null,
        cookie: null,
        "x-other": null,
      },
      body: "entry bytes",
    });
    expect([res.status, await res.text()]).toEqual([201, "stored"]);
    expect([res.headers.get("location"), res.headers.get("etag"), res.headers.get("x-secret")]).toEqual([
      "/ac/k",
      '"e"',
      null,
    ]);
  });

  test("a Content-Length that is not one number (repeated headers, joined) is dropped and the body sent chunked", async () => {
    const url = standIn(async (req) =>
      Response.json({ length: req.headers.get("content-length"), body: await req.text() }),
    );
    const req = new Request("http://cache.test/cas/x", {
      method: "PUT",
      body: "abcd",
      headers: { "content-length": "4, 4" },
    });
    const res = await forwardToOrigin(req, `${url}/cas/x`, { timeoutMs: 5000 });
    expect([res.status, await res.json()]).toEqual([200, { length: null, body: "abcd" }]);
  });

  test("an origin that never answers is 504 upstream_timeout", async () => {
    const url = standIn(never);
    const res = await forwardToOrigin(new Request("http://cache.test/ac/k"), `${url}/ac/k`, { timeoutMs: TIMEOUT_MS });
    expect(await errorOf(res)).toEqual({ status: 504, error: "upstream_timeout" });
  });

  test("an origin that stops reading an upload is 504 upstream_timeout, however long the client goes on", async () => {
    // Reads nothing and never answers: once the socket buffers fill, the upload stalls.
    const url = standIn(never);
    const chunk = new Uint8Array(1 << 20);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 64) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const req = new Request("http://cache.test/cas/x", { method: "PUT", body });
    const res = await forwardToOrigin(req, `${url}/cas/x`, { timeoutMs: TIMEOUT_MS });
    expect(await errorOf(res)).toEqual({ status: 504, error: "upstream_timeout" });
    expect(sent).toBeLessThan(64);
  });

  test("an origin that stalls mid-answer breaks the body off", async () => {
    const url = standIn(
      () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode("the first part"));
            },
          }),
        ),
    );
    const res = await forwardToOrigin(new Request("http://cache.test/ac/k"), `${url}/ac/k`, { timeoutMs: TIMEOUT_MS });
    expect(res.status).toBe(200);
    const outcome = await res.text().then(
      () => "complete",
      () => "broken off",
    );
    expect(outcome).toBe("broken off");
  });

  test("the origin's 5xx is 502 bad_upstream_status, except 507, which passes as it is", async () => {
    const url = standIn((req) =>
      req.url.endsWith("/full")
        ? Response.json({ error: "insufficient_storage", message: "full" }, { status: 507 })
        : new Response("boom", { status: 500 }),
    );
    const put = (path: string) =>
      forwardToOrigin(new Request("http://cache.test/x", { method: "PUT", body: "x" }), `${url}${path}`, {
        timeoutMs: 5000,
      });
    expect(await errorOf(await put("/broken"))).toEqual({ status: 502, error: "bad_upstream_status" });
    expect(await errorOf(await put("/full"))).toEqual({ status: 507, error: "insufficient_storage" });
  });

  test("a client whose body breaks off gets 400 aborted", async () => {
    const url = standIn(async (req) => new Response(await req.text()));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(10));
        controller.error(new Error("client went away"));
      },
    });
    const req = new Request("http://cache.test/cas/x", { method: "PUT", body });
    expect(await errorOf(await forwardToOrigin(req, `${url}/cas/x`, { timeoutMs: 5000 }))).toEqual({
      status: 400,
      error: "aborted",
    });
  });
});
