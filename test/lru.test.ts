import { describe, expect, test } from "bun:test";
import { defaultSizeOf, Lru, type EvictCause } from "../lib/lru.ts";

type Evicted = [string, unknown, EvictCause];

function recorder(): { evicted: Evicted[]; onEvict: (key: string, value: unknown, cause: EvictCause) => void } {
  const evicted: Evicted[] = [];
  return { evicted, onEvict: (key, value, cause) => evicted.push([key, value, cause]) };
}

const bytes = (n: number) => new Uint8Array(n);

describe("Lru constructor", () => {
  test("Lru() without options has no bounds", () => {
    const lru = new Lru<string, number>();
    for (let i = 0; i < 1000; i++) lru.set(`k${i}`, i);
    expect(lru.size).toBe(1000);
    expect(lru.maxBytes).toBe(0);
    expect(lru.maxItems).toBe(0);
  });

  test("Lru() throws RangeError for negative, NaN or fractional-count bounds", () => {
    for (const maxBytes of [-1, NaN, -Infinity]) {
      expect(() => new Lru({ maxBytes })).toThrow(RangeError);
    }
    for (const maxItems of [-1, NaN, 1.5, -Infinity]) {
      expect(() => new Lru({ maxItems })).toThrow(RangeError);
    }
    expect(() => new Lru({ maxBytes: -1 })).toThrow(
      "Cannot create Lru: 'maxBytes' must be a non-negative number, got -1",
    );
    expect(() => new Lru({ maxItems: 1.5 })).toThrow(
      "Cannot create Lru: 'maxItems' must be a non-negative integer, got 1.5",
    );
  });

  test("Lru() treats 0 and Infinity as no bound", () => {
    expect(new Lru({ maxBytes: 0, maxItems: 0 }).maxBytes).toBe(0);
    const lru = new Lru<string, Uint8Array>({ maxBytes: Infinity, maxItems: Infinity });
    expect(lru.maxBytes).toBe(0);
    expect(lru.maxItems).toBe(0);
    expect(lru.set("a", bytes(1e6))).toBe(true);
  });
});

describe("defaultSizeOf", () => {
  test("defaultSizeOf() is string key length plus value byteLength", () => {
    expect(defaultSizeOf("abc", bytes(10))).toBe(13);
    expect(defaultSizeOf("abc", new ArrayBuffer(7))).toBe(10);
    expect(defaultSizeOf("abc", 42)).toBe(3);
    expect(defaultSizeOf("abc", null)).toBe(3);
    expect(defaultSizeOf("abc", undefined)).toBe(3);
    expect(defaultSizeOf(12345, bytes(4))).toBe(4);
    expect(defaultSizeOf("", { byteLength: "x" })).toBe(0);
  });
});

describe("Lru.get / peek / has", () => {
  test("Lru.get() returns stored values and undefined for missing keys", () => {
    const lru = new Lru<string, number>();
    lru.set("a", 1);
    lru.set("b", 2);
    expect(lru.get("a")).toBe(1);
    expect(lru.get("b")).toBe(2);
    expect(lru.get("c")).toBeUndefined();
  });

  test("Lru.get() promotes the entry so it is evicted last", () => {
    const lru = new Lru<string, number>({ maxItems: 3 });
    lru.set("a", 1);
    lru.set("b", 2);
    lru.set("c", 3);
    expect([...lru.keys()]).toEqual(["c", "b", "a"]);
    lru.get("a");
    expect([...lru.keys()]).toEqual(["a", "c", "b"]);
    lru.set("d", 4);
    expect(lru.has("b")).toBe(false);
    expect([...lru.keys()]).toEqual(["d", "a", "c"]);
  });

  test("Lru.get() counts gets and hits", () => {
    const lru = new Lru<string, number>();
    lru.set("a", 1);
    lru.get("a");
    lru.get("a");
    lru.get("missing");
    expect(lru.stats()).toEqual({ bytes: 1, items: 1, gets: 3, hits: 2, evictions: 0 });
  });

  test("Lru.get() of the most recent entry keeps order", () => {
    const lru = new Lru<string, number>();
    lru.set("a", 1);
    lru.set("b", 2);
    lru.get("b");
    expect([...lru.keys()]).toEqual(["b", "a"]);
  });

  test("Lru.peek() and has() leave recency and stats alone", () => {
    const lru = new Lru<string, number>({ maxItems: 2 });
    lru.set("a", 1);
    lru.set("b", 2);
    expect(lru.peek("a")).toBe(1);
    expect(lru.has("a")).toBe(true);
    expect(lru.peek("zz")).toBeUndefined();
    expect(lru.has("zz")).toBe(false);
    expect([...lru.keys()]).toEqual(["b", "a"]);
    expect(lru.stats()).toMatchObject({ gets: 0, hits: 0 });
    lru.set("c", 3);
    expect(lru.has("a")).toBe(false);
  });

  test("Lru stores undefined-like values distinctly from absence via has()", () => {
    const lru = new Lru<string, number | null>();
    lru.set("n", null);
    expect(lru.has("n")).toBe(true);
    expect(lru.get("n")).toBeNull();
  });

  test("Lru works with non-string keys (size from sizeOf)", () => {
    const a = { id: 1 };
    const lru = new Lru<object, string>({ maxBytes: 10, sizeOf: (_k, v) => v.length });
    lru.set(a, "12345");
    expect(lru.get(a)).toBe("12345");
    expect(lru.get({ id: 1 })).toBeUndefined();
    expect(lru.bytes).toBe(5);
  });
});

describe("Lru.set", () => {
  test("Lru.set() accounts bytes as key length plus value length", () => {
    const lru = new Lru<string, Uint8Array>();
    lru.set("abc", bytes(10));
    lru.set("de", bytes(5));
    expect(lru.bytes).toBe(20);
    expect(lru.size).toBe(2);
  });

  test("Lru.set() replaces a value without onEvict and adjusts bytes", () => {
    const { evicted, onEvict } = recorder();
    const lru = new Lru<string, Uint8Array>({ onEvict });
    const first = bytes(10);
    const second = bytes(3);
    lru.set("a", first);
    lru.set("b", bytes(1));
    expect(lru.set("a", second)).toBe(true);
    expect(lru.get("a")).toBe(second);
    expect(lru.bytes).toBe(4 + 2);
    expect(lru.size).toBe(2);
    expect(evicted).toEqual([]);
    expect([...lru.keys()]).toEqual(["a", "b"]);
  });

  test("Lru.set() of a replacement that grows evicts others, never itself", () => {
    const { evicted, onEvict } = recorder();
    const lru = new Lru<string, Uint8Array>({ maxBytes: 20, onEvict });
    lru.set("a", bytes(4)); // 5
    lru.set("b", bytes(4)); // 5
    lru.set("c", bytes(4)); // 5
    lru.set("a", bytes(14)); // 15: a + c = 20 fits once b is gone
    expect(evicted.map(([k, , c]) => [k, c])).toEqual([["b", "capacity"]]);
    expect([...lru.keys()]).toEqual(["a", "c"]);
    expect(lru.bytes).toBe(20);
  });

  test("Lru.set() evicts oldest entries until within maxBytes", () => {
    const { evicted, onEvict } = recorder();
    const lru = new Lru<string, Uint8Array>({ maxBytes: 30, onEvict });
    for (const k of ["a", "b", "c"]) lru.set(k, bytes(9)); // 10 each: exactly 30
    expect(lru.bytes).toBe(30);
    expect(evicted).toEqual([]);
    lru.set("d", bytes(19)); // 20: must drop a and b
    expect(evicted.map(([k, , c]) => [k, c])).toEqual([
      ["a", "capacity"],
      ["b", "capacity"],
    ]);
    expect([...lru.keys()]).toEqual(["d", "c"]);
    expect(lru.bytes).toBe(30);
    expect(lru.stats().evictions).toBe(2);
  });

  test("Lru.set() evicts oldest entries until within maxItems", () => {
    const { evicted, onEvict } = recorder();
    const lru = new Lru<string, number>({ maxItems: 2, onEvict });
    lru.set("a", 1);
    lru.set("b", 2);
    lru.set("c", 3);
    expect(evicted).toEqual([["a", 1, "capacity"]]);
    expect([...lru.keys()]).toEqual(["c", "b"]);
  });

  test("Lru.set() honours both bounds at once", () => {
    const lru = new Lru<string, Uint8Array>({ maxBytes: 100, maxItems: 3 });
    for (const k of ["a", "b", "c", "d"]) lru.set(k, bytes(1));
    expect([...lru.keys()]).toEqual(["d", "c", "b"]);
    lru.set("e", bytes(97)); // 98 bytes: only e and one 2-byte entry fit
    expect([...lru.keys()]).toEqual(["e", "d"]);
    expect(lru.bytes).toBe(100);
  });

  test("Lru.set() stores an entry exactly maxBytes large, evicting everything else", () => {
    const lru = new Lru<string, Uint8Array>({ maxBytes: 10 });
    lru.set("a", bytes(1));
    lru.set("b", bytes(1));
    expect(lru.set("c", bytes(9))).toBe(true);
    expect([...lru.keys()]).toEqual(["c"]);
    expect(lru.bytes).toBe(10);
  });

  test("Lru.set() refuses an entry larger than maxBytes and keeps the rest", () => {
    const { evicted, onEvict } = recorder();
    const lru = new Lru<string, Uint8Array>({ maxBytes: 10, onEvict });
    lru.set("a", bytes(1));
    expect(lru.set("big", bytes(8))).toBe(false); // 3 + 8 = 11
    expect(lru.has("big")).toBe(false);
    expect([...lru.keys()]).toEqual(["a"]);
    expect(lru.bytes).toBe(2);
    expect(evicted).toEqual([]);
  });

  test("Lru.set() of an oversized value removes the key's old value (cause delete)", () => {
    const { evicted, onEvict } = recorder();
    const lru = new Lru<string, Uint8Array>({ maxBytes: 10, onEvict });
    const old = bytes(1);
    lru.set("a", old);
    expect(lru.set("a", bytes(10))).toBe(false);
    expect(lru.has("a")).toBe(false);
    expect(lru.bytes).toBe(0);
    expect(evicted).toEqual([["a", old, "delete"]]);
    expect(lru.stats().evictions).toBe(0);
  });

  test("Lru.set() uses a custom sizeOf", () => {
    const lru = new Lru<string, string>({ maxBytes: 10, sizeOf: (_k, v) => v.length * 2 });
    lru.set("a", "xx");
    lru.set("b", "yyy");
    expect(lru.bytes).toBe(10);
    lru.set("c", "z");
    expect([...lru.keys()]).toEqual(["c", "b"]);
    expect(lru.bytes).toBe(8);
  });

  test("Lru.set() throws RangeError when sizeOf returns a negative or NaN size", () => {
    for (const bad of [-1, NaN]) {
      const lru = new Lru<string, number>({ sizeOf: () => bad });
      expect(() => lru.set("a", 1)).toThrow(RangeError);
      expect(lru.size).toBe(0);
    }
  });

  test("Lru.set() of zero-size entries is bounded only by maxItems", () => {
    const lru = new Lru<string, number>({ maxBytes: 1, maxItems: 5, sizeOf: () => 0 });
    for (let i = 0; i < 10; i++) lru.set(`${i}`, i);
    expect(lru.size).toBe(5);
    expect(lru.bytes).toBe(0);
  });
});

describe("Lru.delete / removeOldest / clear", () => {
  test("Lru.delete() removes the key with cause delete and does not count an eviction", () => {
    const { evicted, onEvict } = recorder();
    const lru = new Lru<string, Uint8Array>({ onEvict });
    const value = bytes(2);
    lru.set("a", value);
    lru.set("b", bytes(2));
    expect(lru.delete("a")).toBe(true);
    expect(lru.delete("a")).toBe(false);
    expect(lru.has("a")).toBe(false);
    expect(lru.bytes).toBe(3);
    expect(evicted).toEqual([["a", value, "delete"]]);
    expect(lru.stats().evictions).toBe(0);
  });

  test("Lru.delete() of the oldest, newest and middle entries keeps the list intact", () => {
    const lru = new Lru<string, number>();
    for (const k of ["a", "b", "c", "d", "e"]) lru.set(k, 0);
    lru.delete("a"); // oldest
    lru.delete("e"); // newest
    lru.delete("c"); // middle
    expect([...lru.keys()]).toEqual(["d", "b"]);
    lru.set("f", 0);
    lru.get("b");
    expect([...lru.keys()]).toEqual(["b", "f", "d"]);
    lru.delete("b");
    lru.delete("f");
    lru.delete("d");
    expect([...lru.keys()]).toEqual([]);
    expect(lru.removeOldest()).toBe(false);
  });

  test("Lru.removeOldest() evicts the least recently used with cause capacity", () => {
    const { evicted, onEvict } = recorder();
    const lru = new Lru<string, number>({ onEvict });
    lru.set("a", 1);
    lru.set("b", 2);
    lru.get("a");
    expect(lru.removeOldest()).toBe(true);
    expect(evicted).toEqual([["b", 2, "capacity"]]);
    expect(lru.removeOldest()).toBe(true);
    expect(lru.removeOldest()).toBe(false);
    expect(lru.stats()).toMatchObject({ items: 0, bytes: 0, evictions: 2 });
  });

  test("Lru.clear() empties the cache, reports each entry oldest first and keeps counters", () => {
    const { evicted, onEvict } = recorder();
    const lru = new Lru<string, number>({ maxItems: 10, onEvict });
    lru.set("a", 1);
    lru.set("b", 2);
    lru.set("c", 3);
    lru.get("a");
    lru.clear();
    expect(evicted).toEqual([
      ["b", 2, "clear"],
      ["c", 3, "clear"],
      ["a", 1, "clear"],
    ]);
    expect(lru.size).toBe(0);
    expect(lru.bytes).toBe(0);
    expect([...lru.keys()]).toEqual([]);
    expect(lru.stats()).toEqual({ bytes: 0, items: 0, gets: 1, hits: 1, evictions: 0 });
    lru.set("d", 4);
    expect([...lru.keys()]).toEqual(["d"]);
  });

  test("Lru.clear() without onEvict works and the cache is reusable", () => {
    const lru = new Lru<string, number>({ maxItems: 2 });
    lru.set("a", 1);
    lru.clear();
    lru.set("b", 2);
    lru.set("c", 3);
    lru.set("d", 4);
    expect([...lru.keys()]).toEqual(["d", "c"]);
  });

  test("Lru onEvict may read the cache: the entry is already gone and accounting done", () => {
    const seen: [boolean, number, number][] = [];
    const lru: Lru<string, Uint8Array> = new Lru<string, Uint8Array>({
      maxBytes: 4,
      onEvict: (key) => seen.push([lru.has(key), lru.size, lru.bytes]),
    });
    lru.set("a", bytes(1));
    lru.set("b", bytes(1));
    lru.set("c", bytes(1));
    expect(seen).toEqual([[false, 2, 4]]);
  });
});

describe("Lru against a reference model", () => {
  // A deliberately naive model: an array ordered oldest -> newest.
  class Model {
    order: [string, number, number][] = [];
    evictions = 0;
    gets = 0;
    hits = 0;
    constructor(
      readonly maxBytes: number,
      readonly maxItems: number,
    ) {}
    bytes(): number {
      return this.order.reduce((sum, [, , size]) => sum + size, 0);
    }
    index(key: string): number {
      return this.order.findIndex(([k]) => k === key);
    }
    get(key: string): number | undefined {
      this.gets++;
      const i = this.index(key);
      if (i < 0) return undefined;
      this.hits++;
      const [entry] = this.order.splice(i, 1);
      this.order.push(entry!);
      return entry![1];
    }
    set(key: string, value: number, size: number): boolean {
      const i = this.index(key);
      if (this.maxBytes > 0 && size > this.maxBytes) {
        if (i >= 0) this.order.splice(i, 1);
        return false;
      }
      if (i >= 0) this.order.splice(i, 1);
      this.order.push([key, value, size]);
      while (
        (this.maxBytes > 0 && this.bytes() > this.maxBytes) ||
        (this.maxItems > 0 && this.order.length > this.maxItems)
      ) {
        this.order.shift();
        this.evictions++;
      }
      return true;
    }
    delete(key: string): boolean {
      const i = this.index(key);
      if (i < 0) return false;
      this.order.splice(i, 1);
      return true;
    }
  }

  // Small deterministic PRNG (mulberry32) so a failure reproduces.
  function prng(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  for (const [maxBytes, maxItems] of [
    [0, 0],
    [50, 0],
    [0, 7],
    [60, 5],
    [12, 0],
  ] as const) {
    test(`Lru matches the model over random operations (maxBytes ${maxBytes}, maxItems ${maxItems})`, () => {
      const random = prng(maxBytes * 31 + maxItems + 1);
      const model = new Model(maxBytes, maxItems);
      const sizes = new Map<number, number>();
      const lru = new Lru<string, number>({ maxBytes, maxItems, sizeOf: (_k, v) => sizes.get(v)! });
      for (let step = 0; step < 5000; step++) {
        const key = `k${Math.floor(random() * 20)}`;
        const op = random();
        if (op < 0.45) {
          expect(lru.get(key)).toBe(model.get(key));
        } else if (op < 0.85) {
          const size = Math.floor(random() * 16);
          sizes.set(step, size);
          expect(lru.set(key, step)).toBe(model.set(key, step, size));
        } else if (op < 0.95) {
          expect(lru.delete(key)).toBe(model.delete(key));
        } else {
          expect(lru.peek(key)).toBe(model.order.find(([k]) => k === key)?.[1]);
        }
        expect([...lru.keys()]).toEqual(model.order.map(([k]) => k).reverse());
        expect(lru.stats()).toEqual({
          bytes: model.bytes(),
          items: model.order.length,
          gets: model.gets,
          hits: model.hits,
          evictions: model.evictions,
        });
      }
    });
  }
});
