/**
 * Duplicate call suppression, after groupcache's singleflight: concurrent do() calls for one key
 * share a single in-flight promise. Nothing is kept once it settles; the next call runs fn again.
 */

export class Singleflight<T> {
  #calls = new Map<string, Promise<T>>();

  /** Keys with a call in flight. */
  get inFlight(): number {
    return this.#calls.size;
  }

  /**
   * Runs fn for key unless a call for key is already in flight, in which case its promise is
   * returned: every caller gets the same value or the same rejection. fn starts synchronously.
   * A synchronous throw becomes a rejection. The key is freed before any caller sees the outcome,
   * so a caller that retries in its continuation starts a fresh call. The key is registered once
   * fn returns, so fn must not call do() for its own key synchronously (it would not be merged).
   */
  do(key: string, fn: () => Promise<T>): Promise<T> {
    const pending = this.#calls.get(key);
    if (pending !== undefined) return pending;
    let started: Promise<T>;
    try {
      started = Promise.resolve(fn());
    } catch (error) {
      started = Promise.reject(error);
    }
    // finally() runs after the map entry is set (it is always asynchronous), so a key never sticks.
    const shared = started.finally(() => {
      if (this.#calls.get(key) === shared) this.#calls.delete(key);
    });
    this.#calls.set(key, shared);
    return shared;
  }
}
