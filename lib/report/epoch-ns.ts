/**
 * Whole nanoseconds since the Unix epoch as bigints: the one time scale of reports, results files and merges, so
 * that durations between runs' timestamps are exact. The load generator's times are epoch milliseconds in a
 * double (about 0.25 µs apart at today's dates); converting one to ns and back gives the same double. Pure.
 */

/** Whole epoch seconds of epoch ms. */
export function wholeSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** Nanoseconds of epoch ms past `wholeSeconds(ms)`, rounded (may be 1e9 when ms is a hair below a second). */
export function nanosPast(ms: number, seconds: number): number {
  return Math.round((ms - seconds * 1000) * 1e6);
}

/**
 * Whole epoch seconds of epoch ms with the nanoseconds' carry: `nanosPast(ms, carriedSeconds(ms))` is always
 * below 1e9, as a timestamp's fraction must be.
 */
export function carriedSeconds(ms: number): number {
  const s = wholeSeconds(ms);
  return nanosPast(ms, s) >= 1e9 ? s + 1 : s;
}

/** Epoch ms to whole epoch ns. */
export function epochNsFromMs(ms: number): bigint {
  const s = wholeSeconds(ms);
  return BigInt(s) * 1_000_000_000n + BigInt(nanosPast(ms, s));
}

/** Whole epoch ns to epoch ms: the double `epochNsFromMs` came from, for values it made. */
export function msFromEpochNs(ns: bigint): number {
  return Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
}

/** `b - a` in ns as a number (exact below 2^53 ns, about 104 days). */
export function nsBetween(a: bigint, b: bigint): number {
  return Number(b - a);
}
