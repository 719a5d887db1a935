/**
 * A recency-ordered cache bounded by bytes and optionally by entry count, after groupcache's lru.
 * Synchronous and pure: no I/O, no TTL, no locking (single-threaded callers only).
 */

export interface LruStats {
  /** Sum of entry sizes now held. */
  bytes: number;
  /** Entries now held. */
  items: number;
  /** Calls to get(). */
  gets: number;
  /** Calls to get() that found the key. */
  hits: number;
  /** Entries removed to make room or by removeOldest() (cause "capacity"); delete() and clear() do not count. */
  evictions: number;
}

/** Why an entry left: "capacity" (bounds or removeOldest), "delete" (delete() or an oversized set()), "clear". */
export type EvictCause = "capacity" | "delete" | "clear";

export interface LruOptions<K, V> {
  /** Upper bound on the sum of entry sizes. 0 or undefined: no byte bound. */
  maxBytes?: number;
  /** Upper bound on the number of entries (an integer). 0 or undefined: no count bound. */
  maxItems?: number;
  /**
   * Size of one entry, a non-negative number. Default, as groupcache's len(key)+len(value):
   * the key's length if it is a string, plus the value's `byteLength` if it has one.
   */
  sizeOf?: (key: K, value: V) => number;
  /** Called after an entry has left the cache. Replacing a key's value with set() is not an eviction. */
  onEvict?: (key: K, value: V, cause: EvictCause) => void;
}

/** One entry, also a link in the recency list (intrusive, so a hit allocates nothing). */
class Entry<K, V> {
  prev: Entry<K, V>;
  next: Entry<K, V>;
  constructor(
    public key: K,
    public value: V,
    public size: number,
  ) {
    this.prev = this;
    this.next = this;
  }
}

/** The default entry size: groupcache's len(key) + len(value). */
export function defaultSizeOf(key: unknown, value: unknown): number {
  const keyBytes = typeof key === "string" ? key.length : 0;
  const valueBytes = (value as { byteLength?: unknown } | null | undefined)?.byteLength;
  return keyBytes + (typeof valueBytes === "number" ? valueBytes : 0);
}

function checkBound(name: string, value: number | undefined, integer: boolean): number {
  if (value === undefined) return 0;
  if (
    typeof value !== "number" ||
    Number.isNaN(value) ||
    value < 0 ||
    (integer && !Number.isInteger(value) && value !== Infinity)
  ) {
    throw new RangeError(
      `Cannot create Lru: '${name}' must be a non-negative ${integer ? "integer" : "number"}, got ${String(value)}`,
    );
  }
  return value === Infinity ? 0 : value;
}

/**
 * Least-recently-used cache. A Map finds entries; a circular doubly-linked list through the entries
 * keeps recency (sentinel.next = most recent, sentinel.prev = oldest), so get/set/delete/evict are O(1)
 * and a hit allocates nothing. In Bun this is 3x faster on hits and 35x on evicting sets than using
 * Map insertion order (delete + re-set to promote, first entry to evict): bench/lru.ts.
 * keys() yields most recent first.
 */
export class Lru<K, V> {
  readonly maxBytes: number;
  readonly maxItems: number;
  #map = new Map<K, Entry<K, V>>();
  // The sentinel is never exposed; its key/value are placeholders.
  #sentinel = new Entry<K, V>(undefined as K, undefined as V, 0);
  #bytes = 0;
  #gets = 0;
  #hits = 0;
  #evictions = 0;
  #sizeOf: (key: K, value: V) => number;
  #onEvict: ((key: K, value: V, cause: EvictCause) => void) | undefined;

  constructor(options: LruOptions<K, V> = {}) {
    this.maxBytes = checkBound("maxBytes", options.maxBytes, false);
    this.maxItems = checkBound("maxItems", options.maxItems, true);
    this.#sizeOf = options.sizeOf ?? defaultSizeOf;
    this.#onEvict = options.onEvict;
  }

  /** Number of entries. */
  get size(): number {
    return this.#map.size;
  }

  /** Sum of entry sizes. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Returns the value and marks it most recent; counts a get and, if found, a hit. */
  get(key: K): V | undefined {
    this.#gets++;
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    this.#hits++;
    this.#moveToFront(entry);
    return entry.value;
  }

  /** Returns the value without touching recency or stats. */
  peek(key: K): V | undefined {
    return this.#map.get(key)?.value;
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  /**
   * Stores the value as most recent, replacing any value under the key (without onEvict: a
   * replacement is not an eviction), then evicts the oldest entries until within bounds.
   * An entry larger than maxBytes is not stored: returns false, and any old value under the key is
   * removed (cause "delete") so that get() never returns a value older than the last set().
   */
  set(key: K, value: V): boolean {
    const size = this.#sizeOf(key, value);
    if (!(size >= 0)) throw new RangeError(`Cannot set Lru entry: size must be a non-negative number, got ${size}`);
    if (this.maxBytes > 0 && size > this.maxBytes) {
      this.delete(key);
      return false;
    }
    let entry = this.#map.get(key);
    if (entry !== undefined) {
      this.#bytes += size - entry.size;
      entry.value = value;
      entry.size = size;
      this.#moveToFront(entry);
    } else {
      entry = new Entry(key, value, size);
      this.#map.set(key, entry);
      this.#bytes += size;
      this.#link(entry);
    }
    // The new entry is most recent and fits alone, so it is never the one evicted here.
    while (this.#overBounds()) this.removeOldest();
    return true;
  }

  /** Removes the key (onEvict cause "delete"); false if it was absent. */
  delete(key: K): boolean {
    const entry = this.#map.get(key);
    if (entry === undefined) return false;
    this.#remove(entry);
    this.#onEvict?.(entry.key, entry.value, "delete");
    return true;
  }

  /** Evicts the least recently used entry (onEvict cause "capacity"); false if empty. */
  removeOldest(): boolean {
    const oldest = this.#sentinel.prev;
    if (oldest === this.#sentinel) return false;
    this.#remove(oldest);
    this.#evictions++;
    this.#onEvict?.(oldest.key, oldest.value, "capacity");
    return true;
  }

  /** Removes every entry, reporting each to onEvict (cause "clear", oldest first). Stats counters are kept. */
  clear(): void {
    const sentinel = this.#sentinel;
    let entry = sentinel.prev;
    this.#map.clear();
    this.#bytes = 0;
    sentinel.next = sentinel;
    sentinel.prev = sentinel;
    if (this.#onEvict === undefined) return;
    while (entry !== sentinel) {
      this.#onEvict(entry.key, entry.value, "clear");
      entry = entry.prev;
    }
  }

  stats(): LruStats {
    return {
      bytes: this.#bytes,
      items: this.#map.size,
      gets: this.#gets,
      hits: this.#hits,
      evictions: this.#evictions,
    };
  }

  /** Keys, most recently used first. Do not modify the cache while iterating. */
  *keys(): IterableIterator<K> {
    const sentinel = this.#sentinel;
    for (let entry = sentinel.next; entry !== sentinel; entry = entry.next) yield entry.key;
  }

  #overBounds(): boolean {
    return (this.maxBytes > 0 && this.#bytes > this.maxBytes) || (this.maxItems > 0 && this.#map.size > this.maxItems);
  }

  #remove(entry: Entry<K, V>): void {
    this.#map.delete(entry.key);
    this.#bytes -= entry.size;
    this.#unlink(entry);
  }

  #link(entry: Entry<K, V>): void {
    const sentinel = this.#sentinel;
    const first = sentinel.next;
    entry.prev = sentinel;
    entry.next = first;
    first.prev = entry;
    sentinel.next = entry;
  }

  #unlink(entry: Entry<K, V>): void {
    entry.prev.next = entry.next;
    entry.next.prev = entry.prev;
  }

  #moveToFront(entry: Entry<K, V>): void {
    if (this.#sentinel.next === entry) return;
    this.#unlink(entry);
    this.#link(entry);
  }
}
