/**
 * Micro-benchmark of lib/lru.ts (Map + intrusive linked list) against the anchor measured in the same
 * run: the same LRU built on Map insertion order (delete + re-set to promote), plus a bare Map as floor.
 * Run: flock /tmp/cas-bench.lock bun bench/lru.ts [--entries N] [--ops N] [--rounds N]
 */
import { parseArgs } from "node:util";
import { Lru } from "../lib/lru.ts";

/** The alternative design: recency is the Map's insertion order. */
class MapOrderLru<K, V extends { byteLength: number }> {
  #map = new Map<K, V>();
  #bytes = 0;
  gets = 0;
  hits = 0;
  constructor(readonly maxBytes: number) {}
  get(key: K): V | undefined {
    this.gets++;
    const value = this.#map.get(key);
    if (value === undefined) return undefined;
    this.hits++;
    this.#map.delete(key);
    this.#map.set(key, value);
    return value;
  }
  set(key: K, value: V): boolean {
    const size = (typeof key === "string" ? key.length : 0) + value.byteLength;
    if (size > this.maxBytes) return false;
    const old = this.#map.get(key);
    if (old !== undefined) {
      this.#bytes -= (typeof key === "string" ? key.length : 0) + old.byteLength;
      this.#map.delete(key);
    }
    this.#map.set(key, value);
    this.#bytes += size;
    while (this.#bytes > this.maxBytes) {
      const [oldKey, oldValue] = this.#map.entries().next().value as [K, V];
      this.#map.delete(oldKey);
      this.#bytes -= (typeof oldKey === "string" ? oldKey.length : 0) + oldValue.byteLength;
    }
    return true;
  }
}

interface Cache {
  get(key: string): Uint8Array | undefined;
  set(key: string, value: Uint8Array): boolean;
}

/** Deterministic 64-hex-digit keys, like the cache's SHA-256 keys. */
function makeKeys(count: number, prefix: string): string[] {
  return Array.from({ length: count }, (_, i) => new Bun.CryptoHasher("sha256").update(`${prefix}${i}`).digest("hex"));
}

// Results feed this sink so the JIT cannot drop the lookups.
let sink = 0;

/** Best ops/s over `rounds` runs of `body` (which performs `ops` operations and returns a count). */
function measure(rounds: number, ops: number, body: () => number): number {
  let best = 0;
  for (let round = 0; round < rounds; round++) {
    const start = Bun.nanoseconds();
    sink += body();
    best = Math.max(best, ops / ((Bun.nanoseconds() - start) / 1e9));
  }
  return best;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      entries: { type: "string", default: "10000" },
      ops: { type: "string", default: "2000000" },
      rounds: { type: "string", default: "5" },
    },
  });
  const entries = Number(values.entries);
  const ops = Number(values.ops);
  const rounds = Number(values.rounds);
  const value = new Uint8Array(25_000); // one shared buffer: sizes are real, memory is not
  const entryBytes = 64 + value.byteLength;
  const maxBytes = entries * entryBytes;
  const keys = makeKeys(entries, "hot-");
  const fresh = makeKeys(Math.min(ops / 10, 200_000), "cold-");
  // A fixed pseudo-random access order, so every design sees the same sequence.
  const order = new Uint32Array(ops);
  let seed = 12345;
  for (let i = 0; i < ops; i++) order[i] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % entries;

  const designs: Record<string, () => Cache> = {
    "lib/lru.ts (linked list)": () => new Lru<string, Uint8Array>({ maxBytes }),
    "anchor: Map insertion order": () => new MapOrderLru<string, Uint8Array>(maxBytes),
  };
  // [ops per round, body]: evicting through Map insertion order is slow enough to need fewer ops.
  const workloads: Record<string, [number, (cache: Cache) => () => number]> = {
    "get (all hits)": [
      ops,
      (cache) => () => {
        let hits = 0;
        for (let i = 0; i < ops; i++) if (cache.get(keys[order[i]!]!) !== undefined) hits++;
        return hits;
      },
    ],
    "90% get hit / 10% set new (evicts)": [
      ops / 10,
      (cache) => () => {
        let hits = 0;
        for (let i = 0; i < ops / 10; i++) {
          if (i % 10 === 0) cache.set(fresh[i % fresh.length]!, value);
          else if (cache.get(keys[order[i]!]!) !== undefined) hits++;
        }
        return hits;
      },
    ],
    "set new keys (every set evicts)": [
      ops / 100,
      (cache) => () => {
        let stored = 0;
        for (let i = 0; i < ops / 100; i++) if (cache.set(fresh[i % fresh.length]!, value)) stored++;
        return stored;
      },
    ],
  };

  // Floor for a lookup: a bare Map.get without any recency bookkeeping.
  const bare = new Map(keys.map((key) => [key, value]));
  const floor = measure(rounds, ops, () => {
    let hits = 0;
    for (let i = 0; i < ops; i++) if (bare.get(keys[order[i]!]!) !== undefined) hits++;
    return hits;
  });
  console.log(`bare Map.get (floor): ${(floor / 1e6).toFixed(1)} M ops/s`);
  console.log(`${entries} entries of ${entryBytes} bytes, best of ${rounds} rounds`);
  for (const [workload, [workloadOps, run]] of Object.entries(workloads)) {
    const results: Record<string, number> = {};
    for (const [design, make] of Object.entries(designs)) {
      const cache = make();
      for (const key of keys) cache.set(key, value);
      results[design] = measure(rounds, workloadOps, run(cache));
    }
    const [ours, anchor] = Object.values(results) as [number, number];
    console.log(
      `${workload} (${workloadOps} ops): ` +
        Object.entries(results)
          .map(([design, rate]) => `${design} ${(rate / 1e6).toFixed(1)} M ops/s`)
          .join(", ") +
        `; ratio ${(ours / anchor).toFixed(2)}x anchor`,
    );
  }
  if (sink < 0) console.log(sink);
}

if (import.meta.main) main();
