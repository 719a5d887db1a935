/**
 * The groupcache Group: a main cache for keys this process loads itself and a hot cache for keys fetched
 * from their owner, sharing one byte budget. A miss goes through singleflight, then to the owning peer or to
 * the local loader. Single-threaded; the hit path ({@linkcode Group.lookup}) is synchronous and allocates nothing.
 */
import { Lru } from "../lru.ts";
import { Singleflight } from "../singleflight.ts";

/** groupcache's `Stats`, same names and meanings. */
export interface GroupStats {
  /** Every get, whether it arrived from a client or from a peer. */
  Gets: number;
  /** Gets answered from the main or the hot cache, including hits on the re-check inside singleflight. */
  CacheHits: number;
  /** Values fetched successfully from the owning peer. */
  PeerLoads: number;
  /** Failed fetches from the owning peer (each followed by a local load). */
  PeerErrors: number;
  /** Gets that missed the cache (Gets - CacheHits, before the re-check). */
  Loads: number;
  /** Loads that actually ran after singleflight merged the concurrent ones. */
  LoadsDeduped: number;
  /** Successful loads from the origin by this process. */
  LocalLoads: number;
  /** Failed loads from the origin by this process (not found, digest mismatch, down, timeout). */
  LocalLoadErrs: number;
  /** Gets that arrived from peers (`/_peer/cas/...`). */
  ServerRequests: number;
}

/** groupcache's `CacheStats` for one of the two caches. */
export interface CacheStats {
  Bytes: number;
  Items: number;
  /** Lookups in this cache (the hot cache is only asked when the main cache missed). */
  Gets: number;
  Hits: number;
  /** Entries removed to keep main + hot within the byte budget. */
  Evictions: number;
}

export type CacheName = "main" | "hot";

/** groupcache puts a peer's value into the hot cache 1 time in 10; this is that chance. */
export const DEFAULT_HOT_FILL_RATIO = 0.1;

export interface GroupOptions<V> {
  /** Budget for main + hot together; an entry costs its key's length plus `sizeOf(value)`. 0 turns caching off. */
  cacheBytes: number;
  /** Bytes of a value. */
  sizeOf: (value: V) => number;
  /** Loads a key from the origin by `deadline` (a `performance.now()` time); throws on failure. */
  load: (key: string, options: { deadline: number }) => Promise<V>;
  /** The peer that owns `key`, or undefined when this process owns it. @default always this process */
  pickPeer?: (key: string) => string | undefined;
  /** Fetches `key` from its owner; throws on failure. Required when `pickPeer` can name a peer. */
  fetchFromPeer?: (peer: string, key: string, options: { fresh: boolean; deadline: number }) => Promise<V>;
  /** False for values that must be neither cached nor shared between callers (streams). @default always true */
  cacheable?: (value: V) => boolean;
  /**
   * True for a peer's error that is the answer itself (not found, or the owner's verdict on the origin):
   * passed on, no local retry. Anything else (the peer unreachable, late, malformed, lying) is a peer error.
   */
  isFinal?: (err: unknown) => boolean;
  /** Told about each peer error before the local load. */
  onPeerError?: (peer: string, key: string, err: unknown) => void;
  /**
   * One deadline for each get's load, peer fetch and local fallback together: the fallback only gets what
   * the peer left. @default no deadline (the loaders keep their own)
   */
  timeoutMs?: number;
  /** Chance that a value from a peer is kept in the hot cache. @default DEFAULT_HOT_FILL_RATIO */
  hotFillRatio?: number;
  /** @default Math.random */
  random?: () => number;
}

export interface GetOptions {
  /** The get came from a peer that thinks we own the key: count it and never ask another peer. */
  fromPeer?: boolean;
  /** A forced miss: skip the cache lookup and load afresh (the owner is asked to do the same). */
  fresh?: boolean;
  /** Shortens this get's deadline (the time a peer asking us has left), never lengthens it. */
  timeoutMs?: number;
}

export interface GetResult<V> {
  value: V;
  /** Answered from this process's cache (X-Cache: HIT). */
  hit: boolean;
}

/** A read-through cache over one loader, in groupcache's design. */
export class Group<V> {
  readonly #main: Lru<string, V>;
  readonly #hot: Lru<string, V>;
  readonly #flights = new Singleflight<GetResult<V>>();
  readonly #options: GroupOptions<V>;
  readonly #hotFillRatio: number;
  readonly #random: () => number;
  readonly #cacheable: (value: V) => boolean;
  readonly #stats: GroupStats = {
    Gets: 0,
    CacheHits: 0,
    PeerLoads: 0,
    PeerErrors: 0,
    Loads: 0,
    LoadsDeduped: 0,
    LocalLoads: 0,
    LocalLoadErrs: 0,
    ServerRequests: 0,
  };
  readonly #evictions = { main: 0, hot: 0 };

  constructor(options: GroupOptions<V>) {
    if (!(options.cacheBytes >= 0)) throw new RangeError(`'cacheBytes' must be 0 or more, got ${options.cacheBytes}`);
    this.#options = options;
    // The byte limit is enforced here across both caches, so the LRUs themselves are unbounded.
    const sizeOf = (key: string, value: V) => key.length + options.sizeOf(value);
    this.#main = new Lru<string, V>({ sizeOf });
    this.#hot = new Lru<string, V>({ sizeOf });
    this.#hotFillRatio = options.hotFillRatio ?? DEFAULT_HOT_FILL_RATIO;
    this.#random = options.random ?? Math.random;
    this.#cacheable = options.cacheable ?? (() => true);
  }

  /** The synchronous hit path: counts a get and returns the cached value, or undefined on a miss. */
  lookup(key: string): V | undefined {
    this.#stats.Gets++;
    const value = this.#main.get(key) ?? this.#hot.get(key);
    if (value !== undefined) this.#stats.CacheHits++;
    return value;
  }

  /** Looks up `key` and loads it on a miss. */
  get(key: string, options: GetOptions = {}): Promise<GetResult<V>> {
    if (options.fromPeer) this.#stats.ServerRequests++;
    if (options.fresh) {
      this.#stats.Gets++;
    } else {
      const value = this.lookup(key);
      if (value !== undefined) return Promise.resolve({ value, hit: true });
    }
    return this.loadAfterMiss(key, options);
  }

  /**
   * Loads `key` after {@linkcode lookup} missed (or for a forced miss). Concurrent loads of one key share one
   * flight, except that a value that cannot be cached (a stream) is loaded again for each caller after the first.
   */
  async loadAfterMiss(key: string, options: GetOptions = {}): Promise<GetResult<V>> {
    this.#stats.Loads++;
    const fresh = options.fresh === true;
    // A get from a peer is never passed on, so it must not wait on a flight that is asking a peer either:
    // the peer is part of the flight key. (Peers whose rings disagree would otherwise wait on each other.)
    const peer = options.fromPeer ? undefined : this.#options.pickPeer?.(key);
    const flightKey = (fresh ? "fresh " : "") + (peer ?? "") + " " + key;
    const deadline = performance.now() + Math.min(this.#options.timeoutMs ?? Infinity, options.timeoutMs ?? Infinity);
    let leader = false;
    const result = await this.#flights.do(flightKey, () => {
      leader = true;
      if (!fresh) {
        const value = this.#main.get(key) ?? this.#hot.get(key);
        // Singleflight only merges calls that overlap; a flight that finished just before this one began
        // has already filled the cache.
        if (value !== undefined) {
          this.#stats.CacheHits++;
          return Promise.resolve({ value, hit: true });
        }
      }
      return this.#fetch(key, peer, fresh, deadline);
    });
    if (leader || this.#cacheable(result.value)) return result;
    return await this.#fetch(key, peer, fresh, deadline);
  }

  async #fetch(key: string, peer: string | undefined, fresh: boolean, deadline: number): Promise<GetResult<V>> {
    this.#stats.LoadsDeduped++;
    if (peer !== undefined && this.#options.fetchFromPeer !== undefined) {
      try {
        const value = await this.#options.fetchFromPeer(peer, key, { fresh, deadline });
        this.#stats.PeerLoads++;
        if (this.#cacheable(value) && this.#random() < this.#hotFillRatio) this.#populate("hot", key, value);
        return { value, hit: false };
      } catch (err) {
        if (this.#options.isFinal?.(err)) throw err;
        this.#stats.PeerErrors++;
        this.#options.onPeerError?.(peer, key, err);
      }
    }
    let value: V;
    try {
      value = await this.#options.load(key, { deadline });
    } catch (err) {
      this.#stats.LocalLoadErrs++;
      throw err;
    }
    this.#stats.LocalLoads++;
    if (this.#cacheable(value)) this.#populate("main", key, value);
    return { value, hit: false };
  }

  /** Adds to one cache, then evicts until main + hot fit: from hot while it holds over 1/8 of main's bytes. */
  #populate(name: CacheName, key: string, value: V): void {
    const budget = this.#options.cacheBytes;
    if (budget <= 0) return;
    (name === "main" ? this.#main : this.#hot).set(key, value);
    for (;;) {
      const mainBytes = this.#main.bytes;
      const hotBytes = this.#hot.bytes;
      if (mainBytes + hotBytes <= budget) return;
      const victim: CacheName = hotBytes > mainBytes / 8 ? "hot" : "main";
      if (!(victim === "main" ? this.#main : this.#hot).removeOldest()) return;
      this.#evictions[victim]++;
    }
  }

  /** A copy of the group's counters. */
  stats(): GroupStats {
    return { ...this.#stats };
  }

  /** Counters of one cache. */
  cacheStats(name: CacheName): CacheStats {
    const lru = name === "main" ? this.#main : this.#hot;
    const s = lru.stats();
    return { Bytes: s.bytes, Items: s.items, Gets: s.gets, Hits: s.hits, Evictions: this.#evictions[name] };
  }

  /** Loads in flight right now (merged ones count once). */
  get inFlight(): number {
    return this.#flights.inFlight;
  }
}
