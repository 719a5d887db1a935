import { describe, expect, test } from "bun:test";
import { digestHex } from "../../lib/common/key.ts";
import { createWorkload, generateBlobs, parseDistribution, parseRatio, picker } from "../../lib/client/workload.ts";

/** A deterministic generator so counts are the same every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

test("generateBlobs() makes distinct blobs of the asked size keyed by their SHA-256", () => {
  const blobs = generateBlobs(3, 100_000);
  expect(blobs.length).toBe(3);
  for (const b of blobs) {
    expect(b.data.length).toBe(100_000);
    expect(b.hash).toBe(digestHex("sha256", b.data));
  }
  expect(new Set(blobs.map((b) => b.hash)).size).toBe(3);
  // random bytes, not letters: every byte value turns up in 100 kB
  expect(new Set(blobs[0]!.data).size).toBe(256);
});

describe("parseDistribution()", () => {
  test("reads uniform, zipf and zipf:S", () => {
    expect(parseDistribution("uniform")).toEqual({ kind: "uniform" });
    expect(parseDistribution("zipf")).toEqual({ kind: "zipf", s: 1 });
    expect(parseDistribution("zipf:1.2")).toEqual({ kind: "zipf", s: 1.2 });
  });
  test("rejects anything else", () => {
    for (const raw of ["", "normal", "zipf:", "zipf:x", "zipf:-1", "zipf:0"])
      expect(() => parseDistribution(raw)).toThrow();
  });
});

test("parseRatio() takes shares from 0 to 1", () => {
  expect(parseRatio("0")).toBe(0);
  expect(parseRatio("0.9")).toBe(0.9);
  expect(parseRatio("1")).toBe(1);
  for (const raw of ["", "-0.1", "1.5", "x", "NaN"])
    expect(() => parseRatio(raw)).toThrow("expected a share from 0 to 1");
});

describe("picker()", () => {
  test("uniform spreads evenly", () => {
    const pick = picker(4, { kind: "uniform" }, lcg(1));
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[pick()]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
  });

  test("zipf:1 gives blob i a share proportional to 1/(i+1)", () => {
    const n = 10;
    const pick = picker(n, { kind: "zipf", s: 1 }, lcg(7));
    const counts = new Array<number>(n).fill(0);
    const draws = 200_000;
    for (let i = 0; i < draws; i++) counts[pick()]!++;
    const h = Array.from({ length: n }, (_, i) => 1 / (i + 1)).reduce((a, b) => a + b);
    counts.forEach((c, i) => {
      const want = draws / (i + 1) / h;
      expect(Math.abs(c - want) / want).toBeLessThan(0.05);
    });
    expect(counts[0]!).toBeGreaterThan(counts[1]! * 1.8);
  });

  test("a single blob is always picked", () => {
    const pick = picker(1, { kind: "zipf", s: 2 }, lcg(3));
    expect(pick()).toBe(0);
  });
});

describe("createWorkload()", () => {
  const hashes = generateBlobs(2, 10).map((b) => b.hash);

  test("spreads requests round-robin over the caches and asks GET /cas/<hash>", () => {
    const w = createWorkload({ cacheUrls: ["http://a:1", "http://b:2/"], hashes, random: lcg(1) });
    const urls = Array.from({ length: 4 }, (_, i) => w.next(i).url);
    expect(urls[0]!.startsWith("http://a:1/cas/")).toBe(true);
    expect(urls[1]!.startsWith("http://b:2/cas/")).toBe(true);
    expect(urls[2]!.startsWith("http://a:1/cas/")).toBe(true);
    for (const url of urls) expect(hashes).toContain(url.split("/").pop()!);
    expect(w.next(0).method).toBe("GET");
  });

  test("--hit-ratio r sends exactly a share 1-r with Cache-Control: no-cache, spread evenly", () => {
    const w = createWorkload({ cacheUrls: ["http://a"], hashes, hitRatio: 0.8, random: lcg(2) });
    const misses = Array.from({ length: 1000 }, (_, i) => w.next(i).headers?.["cache-control"] === "no-cache");
    expect(misses.filter(Boolean).length).toBe(200);
    // evenly: every run of 10 requests has exactly 2 forced misses
    for (let i = 0; i < 1000; i += 10) expect(misses.slice(i, i + 10).filter(Boolean).length).toBe(2);
    const none = createWorkload({ cacheUrls: ["http://a"], hashes });
    expect(Array.from({ length: 100 }, (_, i) => none.next(i).headers?.["cache-control"]).filter(Boolean)).toEqual([]);
    const all = createWorkload({ cacheUrls: ["http://a"], hashes, hitRatio: 0 });
    for (let i = 0; i < 100; i++) expect(all.next(i).headers?.["cache-control"]).toBe("no-cache");
  });

  test("adds the extra headers to every request", () => {
    const w = createWorkload({ cacheUrls: ["http://a"], hashes, hitRatio: 0.5, headers: { "x-run": "7" } });
    expect(w.next(0).headers?.["x-run"]).toBe("7");
    expect(w.next(1).headers?.["x-run"]).toBe("7");
  });

  test("verify accepts the right body, rejects another and counts integrity failures", () => {
    const blobs = generateBlobs(1, 64);
    const w = createWorkload({ cacheUrls: ["http://a"], hashes: [blobs[0]!.hash] });
    const t = w.next(0);
    expect(t.verify!(blobs[0]!.data)).toBe(true);
    expect(w.integrityFailures).toBe(0);
    expect(t.verify!(new TextEncoder().encode("Not Found"))).toBe(false);
    expect(w.integrityFailures).toBe(1);
    expect(createWorkload({ cacheUrls: ["http://a"], hashes, verify: false }).next(0).verify).toBeUndefined();
  });

  test("rejects empty inputs and ratios out of range", () => {
    expect(() => createWorkload({ cacheUrls: [], hashes })).toThrow(RangeError);
    expect(() => createWorkload({ cacheUrls: ["http://a"], hashes: [] })).toThrow(RangeError);
    expect(() => createWorkload({ cacheUrls: ["http://a"], hashes, hitRatio: 2 })).toThrow(RangeError);
  });
});
