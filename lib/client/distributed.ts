/**
 * The flags that make several generators one run: `--shard I/N` (send every N-th request of the schedule from
 * I on) and `--start-at` (an RFC 3339 time all of them start at). Pure parsers; they throw a `SyntaxError`
 * saying what was expected.
 */
import type { Shard } from "../loadgen/pacer.ts";

/** `I/N` with 0 <= I < N, e.g. `0/4` .. `3/4`. */
export function parseShard(raw: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(raw);
  if (m === null) throw new SyntaxError("expected I/N such as 0/4 (shard I of N, counted from 0)");
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new SyntaxError("the number of shards must be at least 1");
  if (index >= count) throw new SyntaxError(`the shard index must be below ${count} (shards count from 0)`);
  return { index, count };
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * An RFC 3339 time (`2026-12-01T16:00:00Z`, `2026-12-01T17:00:00.250+01:00`) as epoch milliseconds, fractions
 * below a millisecond kept.
 */
export function parseStartAt(raw: string): number {
  const m = RFC3339.exec(raw.trim());
  const whole = m === null ? NaN : Date.parse(`${m[1]}T${m[2]}${m[4]!.toUpperCase()}`);
  if (m === null || Number.isNaN(whole)) {
    throw new SyntaxError("expected an RFC 3339 time such as 2026-12-01T16:00:00Z");
  }
  return whole + (m[3] === undefined ? 0 : Number(`0${m[3]}`) * 1000);
}
