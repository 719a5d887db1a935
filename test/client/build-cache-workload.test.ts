import { describe, expect, test } from "bun:test";
import { digestHex } from "../../lib/common/key.ts";
import { ACTION_OUTPUTS, createBuildCacheWorkload, generateActions } from "../../lib/client/build-cache-workload.ts";
import type { Target } from "../../lib/loadgen.ts";

const CACHE = "http://cache.test:18001";

/** The first `n` targets, in order. */
function take(workload: { next: (seq: number) => Target }, n: number): Target[] {
  return Array.from({ length: n }, (_, seq) => workload.next(seq));
}

/** A target as `KIND METHOD PATH` for readable comparisons. */
function shape(t: Target): string {
  return `${t.name} ${t.method} ${new URL(t.url).pathname.replace(/[0-9a-f]{64}/, "<key>")}`;
}

describe("generateActions()", () => {
  test("each action has random outputs and an entry naming each one's digest and size", () => {
    const actions = generateActions(2, ACTION_OUTPUTS, 1000);
    expect(actions.length).toBe(2);
    for (const a of actions) {
      expect(a.key).toMatch(/^[0-9a-f]{64}$/);
      expect(a.outputs.length).toBe(ACTION_OUTPUTS);
      const lines = new TextDecoder().decode(a.entry).trimEnd().split("\n");
      expect(lines).toEqual(a.outputs.map((b) => `${b.hash} 1000`));
      for (const b of a.outputs) expect(b.hash).toBe(digestHex("sha256", b.data));
    }
    expect(actions[0]!.key).not.toBe(actions[1]!.key);
  });
});

describe("createBuildCacheWorkload()", () => {
  test("a hit is the lookup then a GET of each output the entry names, all to one cache", () => {
    const [action] = generateActions(1, ACTION_OUTPUTS, 100);
    const workload = createBuildCacheWorkload({ cacheUrls: [CACHE], actions: [action!], size: 100 });
    const targets = take(workload, 8);
    expect(targets.map((t) => t.url)).toEqual(
      [0, 1].flatMap(() => [`${CACHE}/ac/${action!.key}`, ...action!.outputs.map((b) => `${CACHE}/cas/${b.hash}`)]),
    );
    expect(new Set(targets.map((t) => t.name))).toEqual(new Set(["ac", "cas"]));
    // Built once: the same objects each time, so nothing is allocated per request.
    expect(targets[4]).toBe(targets[0]!);
  });

  test("the 1 - hitRatio share of steps are new actions: a lookup, then PUTs of the outputs and the entry", () => {
    const actions = generateActions(3, ACTION_OUTPUTS, 100);
    const workload = createBuildCacheWorkload({
      cacheUrls: [CACHE],
      actions,
      size: 100,
      hitRatio: 0.75,
      writeToken: "tk",
      random: () => 0,
    });
    const targets = take(workload, 17);
    expect(targets.map(shape)).toEqual([
      ...Array.from({ length: 3 }, () => [
        "ac GET /ac/<key>",
        "cas GET /cas/<key>",
        "cas GET /cas/<key>",
        "cas GET /cas/<key>",
      ]).flat(),
      "ac GET /ac/<key>",
      "put PUT /cas/<key>",
      "put PUT /cas/<key>",
      "put PUT /cas/<key>",
      "put PUT /ac/<key>",
    ]);
    const [lookup, ...puts] = targets.slice(12);
    const key = lookup!.url.slice(-64);
    expect(actions.map((a) => a.key)).not.toContain(key);
    expect(puts.at(-1)!.url).toBe(`${CACHE}/ac/${key}`);
    for (const put of puts) expect(put.headers?.authorization).toBe("Bearer tk");
    // Each output's PUT carries bytes that hash to its key; the entry names those keys.
    const outputs = puts.slice(0, ACTION_OUTPUTS);
    for (const put of outputs) expect(digestHex("sha256", put.body!)).toBe(put.url.slice(-64));
    expect(new TextDecoder().decode(puts.at(-1)!.body)).toBe(outputs.map((p) => `${p.url.slice(-64)} 100\n`).join(""));
  });

  test("bodies are verified: an entry or blob that differs, or a new action's lookup that finds one, is counted", () => {
    const [action] = generateActions(1, ACTION_OUTPUTS, 100);
    const workload = createBuildCacheWorkload({ cacheUrls: [CACHE], actions: [action!], size: 100, hitRatio: 0.5 });
    const [lookup, fetch] = take(workload, 2);
    expect(lookup!.verify!(action!.entry)).toBe(true);
    expect(lookup!.verify!(new Uint8Array(3))).toBe(false);
    expect(fetch!.verify!(action!.outputs[0]!.data)).toBe(true);
    expect(workload.integrityFailures).toBe(1);
    const [newLookup] = take(workload, 3).slice(2);
    expect(shape(newLookup!)).toBe("ac GET /ac/<key>");
    expect(newLookup!.verify!(action!.entry)).toBe(false);
    expect(workload.integrityFailures).toBe(2);
  });

  test("steps go round-robin over the caches; bad options are RangeErrors", () => {
    const actions = generateActions(1, ACTION_OUTPUTS, 10);
    const other = "http://cache-b.test:18001";
    const targets = take(createBuildCacheWorkload({ cacheUrls: [CACHE, other], actions, size: 10 }), 8);
    expect(targets.map((t) => new URL(t.url).origin)).toEqual([...Array(4).fill(CACHE), ...Array(4).fill(other)]);
    expect(() => createBuildCacheWorkload({ cacheUrls: [], actions, size: 10 })).toThrow(RangeError);
    expect(() => createBuildCacheWorkload({ cacheUrls: [CACHE], actions: [], size: 10 })).toThrow(RangeError);
    expect(() => createBuildCacheWorkload({ cacheUrls: [CACHE], actions, size: 10, hitRatio: 2 })).toThrow(RangeError);
  });
});
