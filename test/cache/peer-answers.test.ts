/**
 * How a cache treats its owning peer's answers, with a stand-in peer: the owner's verdict on the origin is
 * final (no second load), while a peer that fails itself (malformed answer, wrong bytes) is a PeerErrors
 * followed by a verified local load.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { HashRing } from "../../lib/cache/hash-ring.ts";
import { freePort, type ProgramProcess } from "../../lib/common/program-process.ts";
import { cacheStats, originGets, putBlob, randomBytes, sha256, startCacheProcess } from "../support/cache-fixtures.ts";
import { startServer, type ServerProcess } from "../support/server-process.ts";

let origin: ServerProcess;
let cache: ProgramProcess;
let answer: () => Response = () => new Response("unset", { status: 500 });
let peerAsked = 0;
const ring = new HashRing();
// Not our component: a stand-in peer whose answer each test sets.
const peer = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch() {
    peerAsked++;
    return answer();
  },
});
const peerUrl = `http://127.0.0.1:${peer.port}`;

beforeAll(async () => {
  origin = await startServer();
  const port = freePort();
  const self = `http://127.0.0.1:${port}`;
  ring.set([self, peerUrl]);
  cache = await startCacheProcess(origin.url, [
    "--port",
    String(port),
    "--self",
    self,
    "--peers",
    `${self},${peerUrl}`,
    // each test here sees how one answer is taken: a failure must not pass the peer over for the next test
    "--peer-ejection",
    "0",
  ]);
});

afterAll(async () => {
  await cache.stop("SIGKILL");
  peer.stop(true);
  await origin.close();
});

/** A blob at the origin whose key the stand-in peer owns. */
async function peerOwnedBlob(): Promise<{ key: string; data: Uint8Array<ArrayBuffer> }> {
  for (;;) {
    const data = randomBytes(1500);
    if (ring.get(sha256(data)) === peerUrl) return { key: await putBlob(origin.url, data), data };
  }
}

test("the owner's verdict on the origin (504 upstream_timeout) is passed on without a local load", async () => {
  const { key } = await peerOwnedBlob();
  answer = () =>
    Response.json({ error: "upstream_timeout", message: "the origin did not answer within 10 ms" }, { status: 504 });
  const before = await originGets(origin.url);
  const statsBefore = await cacheStats(cache.url);
  const res = await fetch(`${cache.url}/cas/${key}`);
  expect(res.status).toBe(504);
  expect(await res.json()).toMatchObject({ error: "upstream_timeout" });
  expect(await originGets(origin.url)).toBe(before);
  const stats = await cacheStats(cache.url);
  expect(stats.PeerErrors).toBe(statsBefore.PeerErrors as number);
  expect(stats.LocalLoads).toBe(statsBefore.LocalLoads as number);
});

test("a peer that fails itself (500 without a verdict) is a peer error, and the blob comes from the origin", async () => {
  const { key, data } = await peerOwnedBlob();
  answer = () => new Response("<html>proxy error</html>", { status: 500 });
  const before = await originGets(origin.url);
  const statsBefore = await cacheStats(cache.url);
  const res = await fetch(`${cache.url}/cas/${key}`);
  expect(res.status).toBe(200);
  expect(new Uint8Array(await res.arrayBuffer())).toEqual(data);
  expect(await originGets(origin.url)).toBe(before + 1);
  expect((await cacheStats(cache.url)).PeerErrors).toBe((statsBefore.PeerErrors as number) + 1);
});

test("a lying peer (wrong bytes for a key it owns) is a failed peer: PeerErrors, then a verified local load", async () => {
  const { key, data } = await peerOwnedBlob();
  answer = () => new Response(new Uint8Array(1500).fill(9));
  const asked = peerAsked;
  const before = await originGets(origin.url);
  const statsBefore = await cacheStats(cache.url);
  const res = await fetch(`${cache.url}/cas/${key}`);
  expect(res.status).toBe(200);
  expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(key);
  expect(peerAsked).toBe(asked + 1);
  expect(await originGets(origin.url)).toBe(before + 1);
  const stats = await cacheStats(cache.url);
  expect(stats.PeerErrors).toBe((statsBefore.PeerErrors as number) + 1);
  expect(stats.PeerLoads).toBe(statsBefore.PeerLoads as number);
  // The origin's verified bytes went into the main cache, the lie nowhere: the next get is a hit on them.
  const again = await fetch(`${cache.url}/cas/${key}`);
  expect(again.headers.get("x-cache")).toBe("HIT");
  expect(new Uint8Array(await again.arrayBuffer())).toEqual(data);
});
