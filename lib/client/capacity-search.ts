/**
 * The capacity search behind `--find-max`, as a pure function of the steps run so far: double the rate from the
 * first step until one does not hold (or `maxRate` is reached), then bisect between the highest rate that held
 * and the lowest that did not, until they are within `precision` of each other or the time limit leaves no room
 * for another step. A step that did not hold either failed a threshold (the target's limit) or was
 * generator-bound (the generator could not keep its schedule: a limit of the load, never the target's capacity).
 * No clock and no I/O: the caller runs each step and says how it went.
 */

import type { StepOutcome } from "../report/steps.ts";

export type { StepOutcome } from "../report/steps.ts";

export interface SearchStep {
  /** Requests per second asked. */
  rate: number;
  outcome: StepOutcome;
}

export interface SearchOptions {
  /** The first step's rate, per second. */
  startRate: number;
  /** No step asks more than this, per second. @default Infinity */
  maxRate?: number;
  /** One step's length. */
  stepMs: number;
  /** The whole search's time limit, steps and the pauses between them. */
  maxTimeMs: number;
  /** Bisecting stops once the bracket is narrower than this share of the rate that held. @default DEFAULT_PRECISION */
  precision?: number;
}

/** Why a search ended. */
export type SearchEnd =
  | "bracketed" // a rate that held and one that did not, within precision
  | "max-rate" // --max-rate held
  | "time-limit" // no room for another step
  | "none-held"; // the first step did not hold

export type SearchMove = { kind: "run"; rate: number } | { kind: "done"; end: SearchEnd };

/** Bisect until the rate that held is within 5% of the one that did not. */
export const DEFAULT_PRECISION = 0.05;

/** What to do after `steps` (in the order they ran) with `elapsedMs` of the time limit gone. */
export function nextMove(options: SearchOptions, steps: readonly SearchStep[], elapsedMs: number): SearchMove {
  checkOptions(options);
  const maxRate = options.maxRate ?? Infinity;
  const precision = options.precision ?? DEFAULT_PRECISION;
  const { held, bound } = bracket(steps);
  let rate: number;
  if (steps.length === 0) rate = Math.min(options.startRate, maxRate);
  else if (held === undefined) return { kind: "done", end: "none-held" };
  else if (bound === undefined) {
    if (held.rate >= maxRate) return { kind: "done", end: "max-rate" };
    rate = Math.min(2 * held.rate, maxRate);
  } else {
    if (bound.rate - held.rate <= precision * held.rate) return { kind: "done", end: "bracketed" };
    rate = roundRate((held.rate + bound.rate) / 2);
    // rounding can land on an end of a narrow bracket: it is then as narrow as it gets
    if (rate <= held.rate || rate >= bound.rate) return { kind: "done", end: "bracketed" };
  }
  if (elapsedMs + options.stepMs > options.maxTimeMs) return { kind: "done", end: "time-limit" };
  return { kind: "run", rate };
}

/** What the steps found: the highest rate that held, and the lowest above it that did not. */
export interface SearchBracket<T extends SearchStep> {
  held: T | undefined;
  bound: T | undefined;
}

/** The highest step that held and the lowest that did not above it. */
export function bracket<T extends SearchStep>(steps: readonly T[]): SearchBracket<T> {
  let held: T | undefined;
  for (const s of steps) if (s.outcome === "pass" && (held === undefined || s.rate > held.rate)) held = s;
  let bound: T | undefined;
  for (const s of steps) {
    if (s.outcome === "pass" || (held !== undefined && s.rate <= held.rate)) continue;
    if (bound === undefined || s.rate < bound.rate) bound = s;
  }
  return { held, bound };
}

/** Three significant digits: a rate like 31,200/s, not 31,234.375/s. */
export function roundRate(rate: number): number {
  return Number(rate.toPrecision(3));
}

function checkOptions(o: SearchOptions): void {
  if (!(o.startRate > 0) || !Number.isFinite(o.startRate)) {
    throw new RangeError(`The first step's rate must be a finite number above 0, got ${o.startRate}`);
  }
  if (o.maxRate !== undefined && !(o.maxRate > 0)) throw new RangeError(`'maxRate' must be above 0, got ${o.maxRate}`);
  if (!(o.stepMs > 0) || !Number.isFinite(o.stepMs)) throw new RangeError(`'stepMs' must be above 0, got ${o.stepMs}`);
  if (!(o.maxTimeMs > 0)) throw new RangeError(`'maxTimeMs' must be above 0, got ${o.maxTimeMs}`);
  if (o.precision !== undefined && !(o.precision > 0)) {
    throw new RangeError(`'precision' must be above 0, got ${o.precision}`);
  }
}
