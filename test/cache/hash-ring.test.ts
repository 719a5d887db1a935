import { describe, expect, test } from "bun:test";
import { DEFAULT_REPLICAS, defaultHash, HashRing } from "../../lib/cache/hash-ring.ts";
import { digestHex } from "../../lib/common/key.ts";

/** groupcache's test hash: the string read as a decimal integer, so ring positions can be worked out by hand. */
const integerHash = (data: string) => Number.parseInt(data, 10);

/** 30,000 SHA-256 hex keys, the same on every run. */
const KEYS = Array.from({ length: 30_000 }, (_, i) => digestHex("sha256", `key-${i}`));

/** Realistic peer-name styles: pod IPs, compose/StatefulSet DNS names, local test ports. */
const PEER_STYLES: Record<string, string[]> = {
  "pod IPs": ["http://10.0.0.1:18001", "http://10.0.0.2:18001", "http://10.0.0.3:18001"],
  "pod IPs, other subnet": ["http://10.244.1.17:18001", "http://10.244.2.9:18001", "http://10.244.0.33:18001"],
  "StatefulSet DNS": ["http://cache-0.cache:18001", "http://cache-1.cache:18001", "http://cache-2.cache:18001"],
  "cluster DNS": [
    "http://cas-cache-0.cas-cache.default.svc.cluster.local:18001",
    "http://cas-cache-1.cas-cache.default.svc.cluster.local:18001",
    "http://cas-cache-2.cas-cache.default.svc.cluster.local:18001",
  ],
  "compose names": ["http://cache1:18001", "http://cache2:18001", "http://cache3:18001"],
  "local ports": ["http://127.0.0.1:40123", "http://127.0.0.1:40124", "http://127.0.0.1:40125"],
  "local ephemeral ports": ["http://127.0.0.1:41873", "http://127.0.0.1:35211", "http://127.0.0.1:45990"],
  localhost: ["http://localhost:18001", "http://localhost:18002", "http://localhost:18003"],
};

function owners(ring: HashRing, keys: readonly string[]): (string | undefined)[] {
  return keys.map((key) => ring.get(key));
}

function counts(ring: HashRing, keys: readonly string[]): Map<string, number> {
  const result = new Map<string, number>(ring.nodes().map((node) => [node, 0]));
  for (const key of keys) {
    const owner = ring.get(key)!;
    result.set(owner, result.get(owner)! + 1);
  }
  return result;
}

describe("HashRing constructor", () => {
  test("HashRing() throws RangeError unless replicas is a positive integer", () => {
    for (const replicas of [0, -1, 1.5, NaN, Infinity]) {
      expect(() => new HashRing({ replicas })).toThrow(RangeError);
    }
    expect(() => new HashRing({ replicas: 0 })).toThrow(
      "Cannot create HashRing: 'replicas' must be a positive integer, got 0",
    );
  });

  test("HashRing() defaults to DEFAULT_REPLICAS", () => {
    expect(new HashRing().replicas).toBe(DEFAULT_REPLICAS);
    expect(new HashRing({ replicas: undefined }).replicas).toBe(DEFAULT_REPLICAS);
  });
});

describe("HashRing.get", () => {
  test("HashRing.get() picks the first point >= hash(key), wrapping (positions by hand)", () => {
    const ring = new HashRing({ replicas: 3, hash: integerHash });
    // Points are `${i}${node}`: nodes 6, 4, 2 give 2, 4, 6, 12, 14, 16, 22, 24, 26.
    ring.set(["6", "4", "2"]);
    const cases: [string, string][] = [
      ["0", "2"],
      ["2", "2"],
      ["3", "4"],
      ["11", "2"],
      ["16", "6"],
      ["23", "4"],
      ["26", "6"],
      ["27", "2"], // past the last point: wraps to 2
      ["4294967295", "2"],
    ];
    for (const [key, owner] of cases) expect([key, ring.get(key)]).toEqual([key, owner]);
    // Adding 8 adds 8, 18, 28: 27 now belongs to 8.
    ring.set(["6", "4", "2", "8"]);
    expect(ring.get("27")).toBe("8");
    expect(ring.get("17")).toBe("8");
    expect(ring.get("11")).toBe("2");
  });

  test("HashRing.get() returns undefined on an empty ring", () => {
    const ring = new HashRing();
    expect(ring.get("anything")).toBeUndefined();
    ring.set(["http://a"]);
    ring.set([]);
    expect(ring.get("anything")).toBeUndefined();
    expect(ring.nodes()).toEqual([]);
  });

  test("HashRing.get() with one node always returns it", () => {
    const ring = new HashRing();
    ring.set(["http://only:18001"]);
    for (const key of KEYS.slice(0, 1000)) expect(ring.get(key)).toBe("http://only:18001");
  });

  test("HashRing.get() treats the hash result as unsigned 32-bit", () => {
    // A hash returning a negative int32 (as `| 0` code does) must land where its unsigned value does.
    const signed = (data: string) => Number.parseInt(data, 10) | 0;
    const ring = new HashRing({ replicas: 1, hash: signed });
    ring.set(["3000000000", "100"]); // points 03000000000 -> 3000000000 | 0 < 0 as int32
    expect(ring.get("2999999999")).toBe("3000000000");
    expect(ring.get("3000000001")).toBe("100"); // wraps
    expect(ring.get("50")).toBe("100");
  });

  test("HashRing.get() resolves equal points to the node that sorts first, whatever the order", () => {
    const constant = () => 7;
    for (const nodes of [
      ["b", "a", "c"],
      ["c", "b", "a"],
      ["a", "c", "b"],
    ]) {
      const ring = new HashRing({ replicas: 4, hash: constant });
      ring.set(nodes);
      expect(ring.get("x")).toBe("a");
    }
  });
});

describe("HashRing.set", () => {
  test("HashRing.set() ignores order and duplicates", () => {
    const a = new HashRing();
    const b = new HashRing();
    a.set(PEER_STYLES["pod IPs"]!);
    b.set([...PEER_STYLES["pod IPs"]!].reverse().concat(PEER_STYLES["pod IPs"]!));
    expect(b.nodes()).toEqual(a.nodes());
    expect(owners(b, KEYS.slice(0, 3000))).toEqual(owners(a, KEYS.slice(0, 3000)));
  });

  test("HashRing.set() replaces all nodes", () => {
    const ring = new HashRing({ replicas: 3, hash: integerHash });
    ring.set(["6", "4", "2"]);
    ring.set(["5"]);
    expect(ring.nodes()).toEqual(["5"]);
    expect(ring.get("27")).toBe("5");
  });

  test("HashRing.set() of the same nodes again changes nothing", () => {
    const ring = new HashRing();
    ring.set(["http://b:1", "http://a:1"]);
    const before = owners(ring, KEYS.slice(0, 2000));
    ring.set(["http://a:1", "http://b:1", "http://a:1"]);
    expect(owners(ring, KEYS.slice(0, 2000))).toEqual(before);
  });

  test("HashRing.nodes() is sorted, deduplicated and a copy", () => {
    const ring = new HashRing();
    ring.set(["http://c", "http://a", "http://b", "http://a"]);
    const nodes = ring.nodes();
    expect(nodes).toEqual(["http://a", "http://b", "http://c"]);
    nodes.push("http://z");
    expect(ring.nodes()).toEqual(["http://a", "http://b", "http://c"]);
  });
});

describe("HashRing determinism", () => {
  test("defaultHash() is xxHash32 with seed 0", () => {
    // Published xxHash32 test vectors: a change here would split a mixed-version cluster.
    expect(defaultHash("")).toBe(0x02cc5d05);
    expect(defaultHash("a")).toBe(0x550d7456);
    expect(defaultHash("abc")).toBe(0x32d153ff);
  });

  test("HashRing.get() gives pinned owners, so every version and process agrees", () => {
    const ring = new HashRing();
    ring.set(PEER_STYLES["StatefulSet DNS"]!);
    const pinned = KEYS.slice(0, 6).map((key) => ring.get(key));
    expect(pinned).toMatchInlineSnapshot(`
      [
        "http://cache-1.cache:18001",
        "http://cache-1.cache:18001",
        "http://cache-1.cache:18001",
        "http://cache-0.cache:18001",
        "http://cache-0.cache:18001",
        "http://cache-1.cache:18001",
      ]
    `);
  });

  test("HashRing.get() agrees with a separate process", async () => {
    const peers = PEER_STYLES["local ports"]!;
    const sample = KEYS.slice(0, 500);
    const script = `
      import { HashRing } from ${JSON.stringify(new URL("../../lib/cache/hash-ring.ts", import.meta.url).pathname)};
      const ring = new HashRing();
      ring.set(${JSON.stringify([...peers].reverse())});
      const keys = await Bun.stdin.json();
      console.log(JSON.stringify(keys.map((key) => ring.get(key))));
    `;
    const child = Bun.spawn([process.execPath, "-e", script], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    child.stdin.write(JSON.stringify(sample));
    await child.stdin.end();
    const output = await new Response(child.stdout).text();
    expect(await child.exited).toBe(0);
    const ring = new HashRing();
    ring.set(peers);
    expect(JSON.parse(output)).toEqual(owners(ring, sample));
  });
});

describe("HashRing spread", () => {
  for (const [style, peers] of Object.entries(PEER_STYLES)) {
    test(`HashRing spreads 30,000 keys within 10% of even over 3 peers (${style})`, () => {
      const ring = new HashRing();
      ring.set(peers);
      const even = KEYS.length / peers.length;
      for (const [peer, count] of counts(ring, KEYS)) {
        expect({ peer, deviation: Math.abs(count / even - 1) < 0.1 }).toEqual({ peer, deviation: true });
      }
    });
  }

  test("HashRing with groupcache's 50 replicas and crc32 misses 10% (why the defaults differ)", () => {
    const ring = new HashRing({ replicas: 50, hash: (data) => Bun.hash.crc32(data) });
    ring.set(PEER_STYLES["pod IPs"]!);
    const even = KEYS.length / 3;
    const worst = Math.max(...[...counts(ring, KEYS).values()].map((count) => Math.abs(count / even - 1)));
    expect(worst).toBeGreaterThan(0.1);
  });
});

describe("HashRing movement", () => {
  const base = PEER_STYLES["StatefulSet DNS"]!;
  const added = "http://cache-3.cache:18001";

  test("HashRing: adding a 4th peer moves only keys to it, about 1/4 of them", () => {
    const ring = new HashRing();
    ring.set(base);
    const before = owners(ring, KEYS);
    ring.set([...base, added]);
    const after = owners(ring, KEYS);
    let moved = 0;
    for (let i = 0; i < KEYS.length; i++) {
      if (before[i] === after[i]) continue;
      moved++;
      expect(after[i]).toBe(added);
    }
    expect(moved / KEYS.length).toBeGreaterThan(0.25 * 0.9);
    expect(moved / KEYS.length).toBeLessThan(0.25 * 1.1);
  });

  test("HashRing: removing a peer moves only that peer's keys, spread over the rest", () => {
    const ring = new HashRing();
    ring.set([...base, added]);
    const before = owners(ring, KEYS);
    ring.set(base);
    const after = owners(ring, KEYS);
    const receivers = new Map<string, number>();
    for (let i = 0; i < KEYS.length; i++) {
      if (before[i] === added) {
        expect(after[i]).not.toBe(added);
        receivers.set(after[i]!, (receivers.get(after[i]!) ?? 0) + 1);
      } else {
        expect(after[i]).toBe(before[i]);
      }
    }
    // The removed peer's keys go to all survivors, not to one neighbour.
    expect([...receivers.keys()].sort()).toEqual([...base].sort());
  });
});
