/**
 * The highest open-loop rate lib/loadgen.ts holds against a target: searching upward in steps from a start
 * rate, a rate missed gets one more try (other processes share this machine), then one look between the last
 * rate held and the first missed. What bench/loadgen-capacity.ts measures and bench/find-max.ts compares with.
 */
import type { Target } from "../../lib/loadgen.ts";
import { loadAverage } from "./figures.ts";
import { measureRun, type RunFigures } from "./measure-run.ts";

/**
 * Held: every request succeeded, the send rate and the completion rate are within 1% of the target, and no backlog
 * built up (send lag p99 at most 10 ms). Without the last test a generator 1% short would pass a 4 s run with a
 * 40 ms backlog and fail a longer one. The whole send lag counts, not only the generator's own: a saturated
 * generator still dispatches on time but reads responses late, so its requests queue for a free slot.
 */
export function held(f: RunFigures): boolean {
  return (
    f.successes === f.requests &&
    f.achieved >= 0.99 * f.rate &&
    f.throughput >= 0.99 * f.rate &&
    f.sendLag.quantile(0.99) <= 10e6
  );
}

const ms = (ns: number) => (ns / 1e6).toFixed(2);

export interface HeldRateOptions {
  /** Seconds per rate. */
  seconds: number;
  /** The first rate tried, per second. */
  from: number;
  /** Added per rate held. */
  step: number;
  /** Rates are not tried at or above this. */
  below: number;
}

/** Searches upward from `from` and returns the highest rate held (0 if none), logging each run. */
export async function highestHeldRate(target: Target, options: HeldRateOptions): Promise<number> {
  const { seconds, step, below } = options;
  let rate = options.from;
  let best = 0;
  let failedAt = Infinity;
  const attempt = async (r: number) => {
    const f = await measureRun(target, r, seconds);
    const ok = held(f);
    console.log(
      `  ${r}/s: ${ok ? "held" : "NOT held"}: achieved ${f.achieved.toFixed(0)}/s, throughput ` +
        `${f.throughput.toFixed(0)}/s, success ${f.successes}/${f.requests}, latency p50 ${ms(f.latency.quantile(0.5))} ms ` +
        `p99 ${ms(f.latency.quantile(0.99))} ms, send lag p99 ${ms(f.sendLag.quantile(0.99))} ms ` +
        `(own ${ms(f.ownLag.quantile(0.99))} ms), ` +
        `CPU ${f.cpuPerRequestUs.toFixed(1)} µs/request, ${loadAverage()}`,
    );
    return ok;
  };
  // a rate gets a second try when the first misses: other processes on this shared machine can stall a run
  const trial = async (r: number) => (await attempt(r)) || (await attempt(r));
  console.log(`open loop, ${seconds} s per rate, searching upward from ${rate}/s in steps of ${step}/s:`);
  while (rate < below) {
    if (!(await trial(rate))) {
      failedAt = rate;
      break;
    }
    best = rate;
    rate += step;
  }
  // one more look between the last rate held and the first one missed
  if (failedAt !== Infinity && best > 0) {
    const middle = Math.round((best + failedAt) / 2 / 500) * 500;
    if (middle > best && middle < failedAt && (await trial(middle))) best = middle;
  }
  return best;
}
