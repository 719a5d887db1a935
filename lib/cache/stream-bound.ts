/**
 * How long a streamed upstream body may keep the cache waiting: the time spent waiting for the upstream in all
 * (its headers included) must stay within the timeout plus the time the bytes so far earn at the minimum rate,
 * and no single wait may pass the timeout. Time spent waiting for the client to read does not count, so a slow
 * client is never blamed on the upstream. Pure bookkeeping: the caller owns the clock and the timer.
 */

/** The slowest average rate a streamed upstream body may fall to, bytes per second: 256 KiB/s. */
export const DEFAULT_UPSTREAM_MIN_RATE = 256 * 1024;

export interface StreamBound {
  /** How long the next read may wait for the upstream, in ms (0 or less: give up now). */
  allowance(): number;
  /** Books a read that waited `ms` for `bytes`. */
  record(ms: number, bytes: number): void;
}

/**
 * A bound for one body. `waitedMs` is what the upstream already took (to its headers, say); a
 * `minBytesPerSecond` of 0 leaves only the limit on each wait.
 */
export function streamBound(timeoutMs: number, minBytesPerSecond: number, waitedMs = 0): StreamBound {
  let waited = waitedMs;
  let received = 0;
  return {
    allowance() {
      if (!(minBytesPerSecond > 0)) return timeoutMs;
      const earned = timeoutMs + (received * 1000) / minBytesPerSecond;
      return Math.min(timeoutMs, earned - waited);
    },
    record(ms, bytes) {
      waited += ms;
      received += bytes;
    },
  };
}
