/**
 * The flags that make several generators one run: `--shard I/N` (send every N-th request of the schedule from
 * I on) and `--start-at` (an RFC 3339 time all of them start at). Pure parsers; they throw a `SyntaxError`
 * saying what was expected.
 */
import type { Shard } from "../loadgen/pacer.ts";
import { msFromEpochNs } from "../report/epoch-ns.ts";
import { parseRfc3339Nano } from "../report/go-format.ts";

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

/**
 * An RFC 3339 time (`2026-12-01T16:00:00Z`, `2026-12-01T17:00:00.250+01:00`) as epoch milliseconds, fractions
 * below a millisecond kept.
 */
export function parseStartAt(raw: string): number {
  let ns: bigint | undefined;
  try {
    ns = parseRfc3339Nano(raw.trim());
  } catch {
    ns = undefined;
  }
  if (ns === undefined) throw new SyntaxError("expected an RFC 3339 time such as 2026-12-01T16:00:00Z");
  return msFromEpochNs(ns);
}
