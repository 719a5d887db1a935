import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HashRing } from "../../lib/cache/hash-ring.ts";
import { freePort, type ProgramProcess } from "../../lib/common/program-process.ts";
import { cacheStats, originGets, putBlob, randomBytes, sha256, startCacheProcess } from "../support/cache-fixtures.ts";
import { startServer, type ServerProcess } from "../support/server-process.ts";

let origin: ServerProcess;
let caches: ProgramProcess[] = [];

beforeAll(async () => {
  origin = await startServer();
  // Every peer must know every other's URL before it starts, so the ports are chosen up front.
  const ports = [freePort(), freePort(), freePort()];
  const urls = ports.map((port) => `http://127.0.0.1:${port}`);
  caches = await Promise.all(
    ports.map((port, i) =>
      startCacheProcess(origin.url, ["--port", String(port), "--self", urls[i]!, "--peers", urls.join(",")]),
    ),
  );
});

afterAll(async () => {
  await Promise.all(caches.map((c) => c.stop("SIGKILL")));
  await origin.close();
});

async function getOk(cache: string, key: string): Promise<void> {
  const res = await fetch(`${cache}/cas/${key}`);
  const body = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200 || sha256(body) !== key) throw new Error(`GET ${cache}/cas/${key}: ${res.status}`);
}

async function seed(count: number, size: number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = Array.from({ length: Math.min(50, count - i) }, () => putBlob(origin.url, randomBytes(size)));
    keys.push(...(await Promise.all(batch)));
  }
  return keys;
}

describe("three cache peers in front of one origin", () => {
  test("1,000 concurrent GETs of one cold key, spread over the peers: the origin sees 1 GET", async () => {
    const [key] = await seed(1, 25_000);
    const before = await originGets(origin.url);
    await Promise.all(Array.from({ length: 1000 }, (_, i) => getOk(caches[i % 3]!.url, key!)));
    expect(await originGets(origin.url)).toBe(before + 1);
  });

  test("300 distinct keys, each requested through every peer: the origin sees 300 GETs", async () => {
    const keys = await seed(300, 2_000);
    const before = await originGets(origin.url);
    const statsBefore = await Promise.all(caches.map((c) => cacheStats(c.url)));
    for (let i = 0; i < keys.length; i += 30) {
      await Promise.all(keys.slice(i, i + 30).flatMap((key) => caches.map((c) => getOk(c.url, key))));
    }
    expect(await originGets(origin.url)).toBe(before + 300);
    const statsAfter = await Promise.all(caches.map((c) => cacheStats(c.url)));
    const delta = (field: string) =>
      statsAfter.reduce((sum, s, i) => sum + (s[field] as number) - (statsBefore[i]![field] as number), 0);
    expect(delta("LocalLoads")).toBe(300);
    expect(delta("PeerErrors")).toBe(0);
    // Each key's two non-owners asked its owner, unless their hot cache already held it.
    expect(delta("ServerRequests")).toBeGreaterThan(0);
    expect(delta("ServerRequests")).toBeLessThanOrEqual(600);
    // Every peer owns a share of the keys.
    for (const [i, s] of statsAfter.entries()) {
      expect((s.LocalLoads as number) - (statsBefore[i]!.LocalLoads as number)).toBeGreaterThan(50);
    }
  });

  test("a forced miss through any peer reaches the origin exactly once", async () => {
    const [key] = await seed(1, 3_000);
    for (const c of caches) await getOk(c.url, key!);
    const before = await originGets(origin.url);
    for (const c of caches) {
      const res = await fetch(`${c.url}/cas/${key}`, { headers: { "cache-control": "no-cache" } });
      expect(res.headers.get("x-cache")).toBe("MISS");
      expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(key!);
    }
    expect(await originGets(origin.url)).toBe(before + 3);
  });

  test("killing one peer mid-run: requests through the others keep succeeding", async () => {
    const keys = await seed(300, 2_000);
    const [a, b, c] = caches as [ProgramProcess, ProgramProcess, ProgramProcess];
    let failures = 0;
    let killed: Promise<number> | undefined;
    for (let i = 0; i < keys.length; i += 20) {
      // Killed while this batch is in flight: some of its peer fetches break off half-way.
      if (i === 100) killed = Bun.sleep(1).then(() => c.stop("SIGKILL"));
      const results = await Promise.allSettled(
        keys.slice(i, i + 20).flatMap((key) => [getOk(a.url, key), getOk(b.url, key)]),
      );
      failures += results.filter((r) => r.status === "rejected").length;
    }
    await killed;
    expect(failures).toBe(0);
    const errors = [await cacheStats(a.url), await cacheStats(b.url)].map((s) => s.PeerErrors as number);
    expect(errors[0]! + errors[1]!).toBeGreaterThan(0);
  });
});

describe("two cache peers in front of an origin slower than --upstream-timeout", () => {
  test("a miss through the non-owner is answered 504 once, and the origin is asked once", async () => {
    let asked = 0;
    // Not our component: a stand-in for a broken origin that answers long after the deadline.
    const slow = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch() {
        asked++;
        await Bun.sleep(5000);
        return new Response("late");
      },
    });
    const ports = [freePort(), freePort()];
    const urls = ports.map((port) => `http://127.0.0.1:${port}`);
    const pair = await Promise.all(
      ports.map((port, i) =>
        startCacheProcess(`http://127.0.0.1:${slow.port}`, [
          "--port",
          String(port),
          "--self",
          urls[i]!,
          "--peers",
          urls.join(","),
          "--upstream-timeout",
          "600ms",
        ]),
      ),
    );
    try {
      const ring = new HashRing();
      ring.set(urls);
      let key = sha256(randomBytes(8));
      while (ring.get(key) !== urls[1]) key = sha256(randomBytes(8));
      // Through the non-owner: the owner's 504 is the answer (told the non-owner's deadline, it gives up on the
      // origin first); the origin is not asked a second time with a fresh deadline.
      const res = await fetch(`${pair[0]!.url}/cas/${key}`);
      expect(res.status).toBe(504);
      expect(await res.json()).toMatchObject({ error: "upstream_timeout" });
      expect(asked).toBe(1);
      const [nonOwner, owner] = await Promise.all(pair.map((c) => cacheStats(c.url)));
      expect(nonOwner!.LocalLoads).toBe(0);
      expect(nonOwner!.PeerErrors).toBe(0);
      expect(owner!.ServerRequests).toBe(1);
    } finally {
      await Promise.all(pair.map((c) => c.stop("SIGKILL")));
      slow.stop(true);
    }
  });
});
