/**
 * Peer ejection: the table on its own (with a clock of the test's), then a real cache whose owning peer is cut
 * off (it takes the connection and never answers, as a peer behind a network partition does). The first miss
 * on the peer's keys waits out --upstream-timeout on it; with ejection the next ones load from the origin at
 * once, without it every one of them asks the silent peer and waits again (whether the few milliseconds left
 * then are enough for the origin is a race, so the tests count the asks).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { HashRing } from "../../lib/cache/hash-ring.ts";
import { createPeerEjection } from "../../lib/cache/peer-ejection.ts";
import { freePort, type ProgramProcess } from "../../lib/common/program-process.ts";
import { cacheStats, originGets, putBlob, randomBytes, sha256, startCacheProcess } from "../support/cache-fixtures.ts";
import { startServer, type ServerProcess } from "../support/server-process.ts";

describe("createPeerEjection", () => {
  test("a failed peer is not asked for the ejection time, then by one probe at a time", () => {
    let t = 1_000;
    const ejection = createPeerEjection({ forMs: 5_000, now: () => t });
    expect(ejection.ask("http://a")).toBe(true);
    expect(ejection.failed("http://a")).toBe(true);
    expect(ejection.ask("http://a")).toBe(false);
    expect(ejection.ask("http://b")).toBe(true);
    t += 4_000;
    // a miss that asked it before the ejection fails now: nothing changes
    expect(ejection.failed("http://a")).toBe(false);
    expect(ejection.total).toBe(1);
    t += 1_000;
    expect(ejection.ask("http://a")).toBe(true); // the probe
    expect(ejection.ask("http://a")).toBe(false); // the others still go to the origin
    expect(ejection.ejected()).toEqual(["http://a"]);
    // the probe fails: ejected again, counted again
    expect(ejection.failed("http://a")).toBe(false);
    expect(ejection.total).toBe(2);
    expect(ejection.ask("http://a")).toBe(false);
    t += 5_000;
    expect(ejection.ask("http://a")).toBe(true); // the next probe
    ejection.answered("http://a");
    expect(ejection.ask("http://a")).toBe(true);
    expect(ejection.ask("http://a")).toBe(true);
    expect(ejection.ejected()).toEqual([]);
  });

  test("a probe never heard of again lets another go after one more ejection time", () => {
    let t = 0;
    const ejection = createPeerEjection({ forMs: 100, now: () => t });
    ejection.failed("http://a");
    t = 100;
    expect(ejection.ask("http://a")).toBe(true);
    t = 150;
    expect(ejection.ask("http://a")).toBe(false);
    t = 200;
    expect(ejection.ask("http://a")).toBe(true);
  });

  test("an ejection time of 0 never ejects", () => {
    const ejection = createPeerEjection({ forMs: 0 });
    expect(ejection.failed("http://a")).toBe(false);
    expect(ejection.ask("http://a")).toBe(true);
    expect(ejection.total).toBe(0);
  });
});

describe("a cache whose owning peer is cut off", () => {
  let origin: ServerProcess;
  const caches: ProgramProcess[] = [];
  const held: Socket<undefined>[] = [];
  let asked = 0;
  // Set to make the peer answer again, with the blobs it was given.
  let answering = false;
  const blobs = new Map<string, Uint8Array>();
  // Not our component: a peer that takes connections and requests and never answers, until it is told to.
  const silent = Bun.listen<undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open: (socket) => void held.push(socket),
      data: (socket, data) => {
        for (const [, key] of data.toString("latin1").matchAll(/GET \/_peer\/cas\/([0-9a-f]+)/g)) {
          asked++;
          const blob = blobs.get(key!);
          if (!answering || blob === undefined) continue;
          socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${blob.length}\r\n\r\n`);
          socket.write(blob);
        }
      },
    },
  });
  const peerUrl = `http://127.0.0.1:${silent.port}`;

  beforeAll(async () => {
    origin = await startServer();
  });

  afterAll(async () => {
    for (const cache of caches) await cache.stop("SIGKILL");
    for (const socket of held) socket.terminate();
    silent.stop(true);
    await origin.close();
  });

  async function startFront(ejection: string): Promise<{ cache: ProgramProcess; ring: HashRing }> {
    const port = freePort();
    const self = `http://127.0.0.1:${port}`;
    const ring = new HashRing();
    ring.set([self, peerUrl]);
    const cache = await startCacheProcess(origin.url, [
      ...["--port", String(port), "--self", self, "--peers", `${self},${peerUrl}`],
      ...["--upstream-timeout", "1s", "--peer-ejection", ejection],
    ]);
    caches.push(cache);
    return { cache, ring };
  }

  /** A blob at the origin, and with the stand-in peer, whose key the peer owns. */
  async function peerOwnedBlob(ring: HashRing): Promise<{ key: string; data: Uint8Array<ArrayBuffer> }> {
    for (;;) {
      const data = randomBytes(2000);
      if (ring.get(sha256(data)) !== peerUrl) continue;
      const key = await putBlob(origin.url, data);
      blobs.set(key, data);
      return { key, data };
    }
  }

  test("after the first miss waits out the deadline, the peer's keys come from the origin", async () => {
    const { cache, ring } = await startFront("1m");
    const first = await peerOwnedBlob(ring);
    const askedBefore = asked;
    await (await fetch(`${cache.url}/cas/${first.key}`)).arrayBuffer();
    expect(asked).toBe(askedBefore + 1);
    const afterFirst = await cacheStats(cache.url);
    expect(afterFirst.PeerErrors).toBe(1);
    expect(afterFirst.EjectedPeers).toEqual([peerUrl]);
    const metrics = await (await fetch(`${cache.url}/metrics`)).text();
    expect(metrics).toContain("cas_cache_peer_ejections_total 1");

    const originBefore = await originGets(origin.url);
    for (let i = 0; i < 3; i++) {
      const { key, data } = await peerOwnedBlob(ring);
      const res = await fetch(`${cache.url}/cas/${key}`);
      expect(res.status).toBe(200);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(data);
    }
    expect(await originGets(origin.url)).toBe(originBefore + 3);
    expect(asked).toBe(askedBefore + 1); // the ejected peer was not asked again
    const stats = await cacheStats(cache.url);
    expect(stats.PeerErrors).toBe(1);
    expect(stats.LocalLoads).toBe((afterFirst.LocalLoads as number) + 3);
  });

  test("with --peer-ejection 0 every miss on the peer's keys asks it and waits out the deadline again", async () => {
    const { cache, ring } = await startFront("0");
    const askedBefore = asked;
    for (let i = 0; i < 2; i++) {
      const { key } = await peerOwnedBlob(ring);
      await (await fetch(`${cache.url}/cas/${key}`)).arrayBuffer();
    }
    expect(asked).toBe(askedBefore + 2);
    const stats = await cacheStats(cache.url);
    expect(stats.PeerErrors).toBe(2);
    expect(stats.EjectedPeers).toEqual([]);
  });

  test("after the ejection time one miss probes the peer, the others still go to the origin; an answer takes it back", async () => {
    answering = false;
    const { cache, ring } = await startFront("300ms");
    const read = async (key: string) => {
      const res = await fetch(`${cache.url}/cas/${key}`);
      await res.arrayBuffer();
      return res.status;
    };
    const askedBefore = asked;
    await read((await peerOwnedBlob(ring)).key); // ejects it
    expect(asked).toBe(askedBefore + 1);
    await Bun.sleep(400);
    const keys = await Promise.all([0, 1, 2].map(async () => (await peerOwnedBlob(ring)).key));
    const statuses = await Promise.all(keys.map(read));
    expect(asked).toBe(askedBefore + 2); // one probe, which fails: ejected again
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
    expect((await cacheStats(cache.url)).EjectedPeers).toEqual([peerUrl]);

    answering = true;
    await Bun.sleep(400);
    const peerLoads = (await cacheStats(cache.url)).PeerLoads as number;
    for (let i = 0; i < 3; i++) expect(await read((await peerOwnedBlob(ring)).key)).toBe(200);
    // the probe got its answer, so the two misses after it asked the peer too
    expect(asked).toBe(askedBefore + 5);
    const stats = await cacheStats(cache.url);
    expect(stats.PeerLoads).toBe(peerLoads + 3);
    expect(stats.EjectedPeers).toEqual([]);
    expect(await (await fetch(`${cache.url}/metrics`)).text()).toContain("cas_cache_peer_ejections_total 2");
  });
});
