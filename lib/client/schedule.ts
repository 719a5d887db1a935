/**
 * The schedule a run follows, from its flags: a constant rate, a ramp over the duration or steps of
 * `--step-duration`, as the pacer lib/loadgen.ts follows, and the steps the reports show on their own (each of
 * `--steps`; a ramp in ten equal slices; none for a constant rate). Pure.
 */
import { rampPacer, stepsPacer, type Pacer } from "../loadgen/pacer.ts";
import type { StepPlan } from "../report/steps.ts";
import { goDuration } from "../report/go-format.ts";
import { formatRate, formatRateSpec, type RateSpec } from "./rate.ts";

/** The shape of the rate over the run. */
export type RateShape = RateSpec | { kind: "steps"; rates: number[]; stepMs: number };

export interface Schedule {
  /** What runLoad follows; undefined for a constant rate, which runLoad paces from its rate and duration. */
  pacer: Pacer | undefined;
  /** Empty for a constant rate. */
  steps: StepPlan[];
  /** The whole schedule's length (0 = until stopped). */
  durationNs: number;
  /** The step that request `seq` of the schedule falls in (by its due time); -1 without steps. */
  stepOf: (seq: number) => number;
}

/** A ramp is reported in this many equal slices. */
export const RAMP_SLICES = 10;

/** The schedule of `shape`; `durationMs` is a constant rate's or a ramp's length (a ramp needs one above 0). */
export function buildSchedule(shape: RateShape, durationMs: number): Schedule {
  switch (shape.kind) {
    case "constant":
      return { pacer: undefined, steps: [], durationNs: durationMs * 1e6, stepOf: () => -1 };
    case "ramp": {
      const durationNs = durationMs * 1e6;
      const pacer = rampPacer(shape.from, shape.to, durationNs);
      const slope = (shape.to - shape.from) / durationNs;
      const steps = Array.from({ length: RAMP_SLICES }, (_, k): StepPlan => {
        const startNs = (k * durationNs) / RAMP_SLICES;
        const endNs = ((k + 1) * durationNs) / RAMP_SLICES;
        return { rate: shape.from + slope * ((startNs + endNs) / 2), startNs, endNs };
      });
      return withSteps(pacer, steps, durationNs);
    }
    case "steps": {
      const stepNs = shape.stepMs * 1e6;
      const steps = shape.rates.map((rate, j): StepPlan => ({ rate, startNs: j * stepNs, endNs: (j + 1) * stepNs }));
      return withSteps(stepsPacer(shape.rates, stepNs), steps, shape.rates.length * stepNs);
    }
  }
}

function withSteps(pacer: Pacer, steps: StepPlan[], durationNs: number): Schedule {
  return { pacer, steps, durationNs, stepOf: (seq) => stepAt(steps, pacer(0, seq).waitNs) };
}

/** The last step starting at or before `dueNs` (asked at elapsed 0, a pacer's wait is the due time itself). */
function stepAt(steps: readonly StepPlan[], dueNs: number): number {
  let lo = 0;
  let hi = steps.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (steps[mid]!.startNs <= dueNs) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The schedule for people: `at 50/s for 10s`, `ramping 100/s..2000/s over 1m`, `in steps of 100/s, 200/s, 10s each`. */
export function describeSchedule(shape: RateShape, durationMs: number): string {
  const d = (ms: number) => goDuration(ms * 1e6);
  switch (shape.kind) {
    case "constant":
      return `at ${formatRate(shape.perSecond)} for ${d(durationMs)}`;
    case "ramp":
      return `ramping ${formatRateSpec(shape)} over ${d(durationMs)}`;
    case "steps":
      return `in steps of ${shape.rates.map(formatRate).join(", ")}, ${d(shape.stepMs)} each`;
  }
}
