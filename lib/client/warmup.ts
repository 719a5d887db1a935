/**
 * The warm-up before a run's schedule: requests at the schedule's opening rate for a short while, on the pool the
 * run then sends on, so that the measured requests find connections open and the code paths compiled instead of
 * paying for both in the first second's latencies. Its results are counted apart and never in the report's figures.
 */
import { runLoad, type LoadOptions } from "../loadgen.ts";
import type { Warmup } from "../report/warmup.ts";
import type { RateShape } from "./schedule.ts";

/** Used when --warmup is not given: long enough for the JIT and the pool, short next to a run. */
export const DEFAULT_WARMUP_MS = 1_000;
/** A warm-up ends this long before --start-at at the latest, so that the schedule still starts on time. */
const START_AT_MARGIN_MS = 200;

export interface WarmupOptions extends Pick<
  LoadOptions,
  "next" | "maxInflight" | "timeoutMs" | "signal" | "client" | "shard"
> {
  durationMs: number;
  /** The schedule's shape: the warm-up runs at its opening rate (0 for an unpaced run). */
  shape: RateShape;
  /** The run's --start-at, which the warm-up must end before. */
  startAt?: number;
}

/** The rate a schedule opens with, per second: what the warm-up sends at. */
export function openingRate(shape: RateShape): number {
  switch (shape.kind) {
    case "constant":
      return shape.perSecond;
    case "ramp":
      return shape.from;
    case "steps":
      return shape.rates[0] ?? 0;
  }
}

/** Runs the warm-up (nothing when its duration is 0 or --start-at leaves no time for it). */
export async function warmUp(options: WarmupOptions): Promise<Warmup> {
  let durationMs = options.durationMs;
  if (options.startAt !== undefined) {
    durationMs = Math.min(durationMs, options.startAt - Date.now() - START_AT_MARGIN_MS);
  }
  if (!(durationMs > 0) || options.signal?.aborted) return { durationMs: 0, requests: 0, errors: 0 };
  const started = performance.now();
  let errors = 0;
  const load = await runLoad({
    next: options.next,
    rate: openingRate(options.shape),
    durationMs,
    ...(options.maxInflight !== undefined && { maxInflight: options.maxInflight }),
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    ...(options.signal && { signal: options.signal }),
    ...(options.client && { client: options.client }),
    // a shard warms up on its share of the opening rate, as it will send its share of the schedule
    ...(options.shard && openingRate(options.shape) > 0 && { shard: options.shard }),
    onResult(r) {
      if (r.error !== undefined) errors++;
    },
  });
  return { durationMs: performance.now() - started, requests: load.requests, errors };
}
