import { describe, expect, test } from "bun:test";
import { Group, type GroupOptions } from "../../lib/cache/group.ts";

/** A loader that counts its calls and can be held open until released. */
function counter(prefix = "v") {
  let calls = 0;
  const gates: Array<() => void> = [];
  return {
    get calls() {
      return calls;
    },
    load: async (key: string) => {
      calls++;
      return `${prefix}:${key}`;
    },
    held: (key: string) => {
      calls++;
      return new Promise<string>((resolve) => gates.push(() => resolve(`${prefix}:${key}`)));
    },
    release: () => gates.splice(0).forEach((open) => open()),
  };
}

function group(options: Partial<GroupOptions<string>> & Pick<GroupOptions<string>, "load">): Group<string> {
  return new Group<string>({ cacheBytes: 1 << 20, sizeOf: (v) => v.length, ...options });
}

describe("Group", () => {
  test("get() loads on a miss, then serves hits from the main cache", async () => {
    const origin = counter();
    const g = group({ load: origin.load });
    expect(await g.get("k")).toEqual({ value: "v:k", hit: false });
    expect(await g.get("k")).toEqual({ value: "v:k", hit: true });
    expect(g.lookup("k")).toBe("v:k");
    expect(origin.calls).toBe(1);
    expect(g.stats()).toEqual({
      Gets: 3,
      CacheHits: 2,
      PeerLoads: 0,
      PeerErrors: 0,
      Loads: 1,
      LoadsDeduped: 1,
      LocalLoads: 1,
      LocalLoadErrs: 0,
      ServerRequests: 0,
    });
    // An entry costs its key's length plus the value's.
    expect(g.cacheStats("main")).toMatchObject({ Bytes: 1 + 3, Items: 1, Hits: 2, Evictions: 0 });
  });

  test("concurrent misses of one key share a single load", async () => {
    const origin = counter();
    const g = group({ load: origin.held });
    const all = Array.from({ length: 100 }, () => g.get("k"));
    await Bun.sleep(0);
    origin.release();
    const results = await Promise.all(all);
    expect(results.every((r) => r.value === "v:k" && !r.hit)).toBe(true);
    expect(origin.calls).toBe(1);
    expect(g.stats()).toMatchObject({ Gets: 100, Loads: 100, LoadsDeduped: 1, LocalLoads: 1 });
  });

  test("a failed load reaches every waiter, is not cached, and the next get retries", async () => {
    let calls = 0;
    const g = group({
      load: async () => {
        calls++;
        await Bun.sleep(1);
        throw new Error("origin down");
      },
    });
    const results = await Promise.allSettled([g.get("k"), g.get("k"), g.get("k")]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(calls).toBe(1);
    await expect(g.get("k")).rejects.toThrow("origin down");
    expect(calls).toBe(2);
    expect(g.stats()).toMatchObject({ LocalLoadErrs: 2, LocalLoads: 0, CacheHits: 0 });
    expect(g.cacheStats("main").Items).toBe(0);
  });

  test("a key owned by a peer is fetched from it and kept in the hot cache when the dice say so", async () => {
    const origin = counter("origin");
    const asked: string[] = [];
    let dice = 0.5;
    const g = group({
      load: origin.load,
      pickPeer: () => "http://peer-b",
      fetchFromPeer: async (peer, key) => {
        asked.push(`${peer} ${key}`);
        return `peer:${key}`;
      },
      hotFillRatio: 0.1,
      random: () => dice,
    });
    expect(await g.get("a")).toEqual({ value: "peer:a", hit: false });
    expect(g.cacheStats("hot").Items).toBe(0); // 0.5 >= 0.1: not kept
    dice = 0.05;
    expect(await g.get("a")).toEqual({ value: "peer:a", hit: false });
    expect(await g.get("a")).toEqual({ value: "peer:a", hit: true });
    expect(asked).toEqual(["http://peer-b a", "http://peer-b a"]);
    expect(origin.calls).toBe(0);
    expect(g.cacheStats("hot")).toMatchObject({ Items: 1, Hits: 1 });
    expect(g.cacheStats("main").Items).toBe(0);
    expect(g.stats()).toMatchObject({ PeerLoads: 2, LocalLoads: 0, CacheHits: 1 });
  });

  test("a peer error counts PeerErrors and loads locally into the main cache", async () => {
    const origin = counter("origin");
    const errors: string[] = [];
    const g = group({
      load: origin.load,
      pickPeer: () => "http://peer-b",
      fetchFromPeer: async () => {
        throw new Error("connection refused");
      },
      onPeerError: (peer, key) => errors.push(`${peer} ${key}`),
    });
    expect(await g.get("a")).toEqual({ value: "origin:a", hit: false });
    expect(await g.get("a")).toEqual({ value: "origin:a", hit: true });
    expect(errors).toEqual(["http://peer-b a"]);
    expect(g.stats()).toMatchObject({ PeerErrors: 1, PeerLoads: 0, LocalLoads: 1 });
    expect(g.cacheStats("main").Items).toBe(1);
  });

  test("one deadline per get: the local load after a peer error gets the peer's deadline, not a fresh one", async () => {
    const deadlines: number[] = [];
    const g = group({
      timeoutMs: 5000,
      load: async (_key, { deadline }) => {
        deadlines.push(deadline);
        return "origin";
      },
      pickPeer: () => "http://peer-b",
      fetchFromPeer: async (_peer, _key, { deadline }) => {
        deadlines.push(deadline);
        await Bun.sleep(20);
        throw new Error("peer timed out");
      },
    });
    const before = performance.now();
    expect(await g.get("a")).toEqual({ value: "origin", hit: false });
    expect(deadlines).toHaveLength(2);
    expect(deadlines[1]).toBe(deadlines[0]!);
    expect(deadlines[0]!).toBeGreaterThanOrEqual(before + 5000);
  });

  test("a get's own timeoutMs (an asking peer's time left) shortens the deadline, never lengthens it", async () => {
    const deadlines: number[] = [];
    const g = group({
      timeoutMs: 5000,
      load: async (key, { deadline }) => {
        deadlines.push(deadline);
        return key;
      },
    });
    const before = performance.now();
    await g.get("a", { fromPeer: true, timeoutMs: 1000 });
    await g.get("b", { fromPeer: true, timeoutMs: 60_000 });
    expect(deadlines[0]!).toBeLessThan(before + 5000);
    expect(deadlines[1]!).toBeLessThan(before + 60_000);
    expect(deadlines[1]!).toBeGreaterThanOrEqual(before + 5000);
  });

  test("a final peer answer (not found) is passed on without a local load", async () => {
    const origin = counter("origin");
    const g = group({
      load: origin.load,
      pickPeer: () => "http://peer-b",
      fetchFromPeer: async () => {
        throw new Error("not found");
      },
      isFinal: (err) => err instanceof Error && err.message === "not found",
    });
    await expect(g.get("a")).rejects.toThrow("not found");
    expect(origin.calls).toBe(0);
    expect(g.stats()).toMatchObject({ PeerErrors: 0, PeerLoads: 0, LocalLoads: 0 });
  });

  test("a get from a peer counts ServerRequests and is never passed to another peer", async () => {
    const origin = counter("origin");
    let asked = 0;
    const g = group({
      load: origin.load,
      pickPeer: () => "http://peer-c",
      fetchFromPeer: async () => {
        asked++;
        return "peer";
      },
    });
    expect(await g.get("a", { fromPeer: true })).toEqual({ value: "origin:a", hit: false });
    expect(asked).toBe(0);
    expect(g.stats()).toMatchObject({ ServerRequests: 1, LocalLoads: 1 });
  });

  test("a fresh get skips the cache and loads again", async () => {
    const origin = counter();
    const g = group({ load: origin.load });
    await g.get("k");
    expect(await g.get("k", { fresh: true })).toEqual({ value: "v:k", hit: false });
    expect(origin.calls).toBe(2);
    expect(g.stats()).toMatchObject({ Gets: 2, CacheHits: 0, Loads: 2, LocalLoads: 2 });
  });

  test("main and hot share the byte budget; hot is evicted while it holds over 1/8 of main", async () => {
    // Entries of 1 (key) + 99 (value) = 100 bytes; a budget of 1,000 holds ten.
    const value = (key: string) => key + "x".repeat(99 - key.length);
    const g = new Group<string>({
      cacheBytes: 1000,
      sizeOf: (v) => v.length,
      load: async (key) => value(key),
      pickPeer: (key) => (key >= "m" ? "http://peer-b" : undefined),
      fetchFromPeer: async (_peer, key) => value(key),
      hotFillRatio: 1,
    });
    for (const key of "abcdefgh") await g.get(key); // 8 in main: 800 bytes
    for (const key of "mn") await g.get(key); // 2 in hot: 200 bytes, budget full
    expect(g.cacheStats("main")).toMatchObject({ Bytes: 800, Items: 8, Evictions: 0 });
    expect(g.cacheStats("hot")).toMatchObject({ Bytes: 200, Items: 2, Evictions: 0 });
    await g.get("i"); // main 900 + hot 200: hot (200) > 900/8, so hot's oldest ("m") goes
    expect(g.cacheStats("hot")).toMatchObject({ Items: 1, Evictions: 1 });
    expect(g.lookup("m")).toBeUndefined();
    await g.get("j"); // main 1000 + hot 100: hot (100) <= 1000/8, so main's oldest ("a") goes
    expect(g.cacheStats("main")).toMatchObject({ Items: 9, Evictions: 1 });
    expect(g.lookup("a")).toBeUndefined();
    expect(g.lookup("b")).toBeDefined();
  });

  test("cacheBytes 0 turns caching off", async () => {
    const origin = counter();
    const g = group({ load: origin.load, cacheBytes: 0 });
    await g.get("k");
    await g.get("k");
    expect(origin.calls).toBe(2);
    expect(g.cacheStats("main").Items).toBe(0);
  });

  test("values that cannot be cached are loaded again for each concurrent caller", async () => {
    const origin = counter("stream");
    const g = group({ load: origin.held, cacheable: (v) => !v.startsWith("stream") });
    const all = [g.get("big"), g.get("big"), g.get("big")];
    await Bun.sleep(0);
    origin.release(); // the shared flight
    await Bun.sleep(0);
    origin.release(); // the two callers' own loads
    const results = await Promise.all(all);
    expect(results.map((r) => r.value)).toEqual(["stream:big", "stream:big", "stream:big"]);
    expect(origin.calls).toBe(3);
    expect(g.cacheStats("main").Items).toBe(0);
  });

  test("constructor rejects a negative budget", () => {
    expect(() => new Group<string>({ cacheBytes: -1, sizeOf: () => 0, load: async () => "" })).toThrow(
      "'cacheBytes' must be 0 or more, got -1",
    );
  });
});
