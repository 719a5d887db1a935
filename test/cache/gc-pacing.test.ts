import { describe, expect, test } from "bun:test";
import { createGcPacer, gcIntervalBytes } from "../../lib/cache/gc-pacing.ts";

const MiB = 2 ** 20;

describe("gcIntervalBytes()", () => {
  test("is an eighth of the cache, kept between 2 MiB and 32 MiB", () => {
    const rows: Array<[cacheBytes: number, interval: number]> = [
      [0, 2 * MiB],
      [8 * MiB, 2 * MiB],
      [16 * MiB, 2 * MiB],
      [64 * MiB, 8 * MiB],
      [256 * MiB, 32 * MiB],
      [4096 * MiB, 32 * MiB],
    ];
    for (const [cacheBytes, interval] of rows) {
      expect({ cacheBytes, interval: gcIntervalBytes(cacheBytes) }).toEqual({ cacheBytes, interval });
    }
  });
});

describe("createGcPacer()", () => {
  function pacer(cacheBytes: number) {
    let collections = 0;
    const loaded = createGcPacer(cacheBytes, { collect: () => collections++ });
    return {
      loaded,
      get collections() {
        return collections;
      },
    };
  }

  test("collects once each time the loads since the last collection reach the interval", () => {
    const gc = pacer(64 * MiB);
    gc.loaded(7 * MiB);
    expect(gc.collections).toBe(0);
    gc.loaded(MiB);
    expect(gc.collections).toBe(1);
    gc.loaded(8 * MiB - 1);
    expect(gc.collections).toBe(1);
    gc.loaded(1);
    expect(gc.collections).toBe(2);
  });

  test("a load far past the interval collects once and starts counting afresh", () => {
    const gc = pacer(64 * MiB);
    gc.loaded(100 * MiB);
    expect(gc.collections).toBe(1);
    gc.loaded(7 * MiB);
    expect(gc.collections).toBe(1);
  });

  test("streamed loads (0 bytes held) never collect", () => {
    const gc = pacer(16 * MiB);
    for (let i = 0; i < 1000; i++) gc.loaded(0);
    expect(gc.collections).toBe(0);
  });
});
