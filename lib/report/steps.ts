/**
 * A run's steps, each reported on its own: each rate of `--steps`, a tenth of a ramp, or one rate of a
 * `--find-max` search. A step carries the rate asked and the summary of the requests due in it (so the rate
 * achieved, success, p50 and p99, and everything a whole report has), and once judged against the thresholds, how
 * it went: held, failed a threshold (the target), or generator-bound (the generator could not keep the step's
 * schedule, which says nothing about the target). Pure.
 */
import type { AttackSummary } from "./attack-metrics.ts";
import { evaluateThresholds, type Threshold } from "./thresholds.ts";
import { verdict, type VerdictOptions } from "./verdict.ts";

/** A step as scheduled, in ns since the schedule's start. */
export interface StepPlan {
  /** The rate asked for, per second: the step's own, or a ramp slice's mean. */
  rate: number;
  startNs: number;
  endNs: number;
}

/** How a step went: every threshold held with the generator on schedule, a threshold failed, or the generator fell behind. */
export type StepOutcome = "pass" | "fail" | "generator-bound";

export interface StepJudgement {
  outcome: StepOutcome;
  /** The thresholds that did not hold, as written. */
  failed: string[];
  /** How the generator fell short of the step's schedule, one phrase each. */
  generator: string[];
}

export interface StepReport {
  /** The rate asked for, per second. */
  rate: number;
  /** Epoch ms the step was scheduled to start and end. */
  startMs: number;
  endMs: number;
  summary: AttackSummary;
  judged?: StepJudgement;
}

/** What a `--find-max` search found, as every report shows it. */
export interface CapacityFinding {
  /** The highest rate at which every threshold held with the generator on schedule; null when none did. */
  rate: number | null;
  /** The one-line verdict, e.g. `capacity: 31,200 req/s (p99 4.1ms); next step 32,000 req/s failed p99<100ms`. */
  line: string;
  /** The search's exit code: 0 found, 1 no step held, 3 the generator was the limit. */
  code: 0 | 1 | 3;
}

/** Judges one step's summary as a whole run is judged: the verdict's exit code tells its outcome. */
export function judgeStep(
  summary: AttackSummary,
  thresholds: readonly Threshold[],
  options: VerdictOptions = {},
): StepJudgement {
  const v = verdict(summary, evaluateThresholds(thresholds, summary), options);
  return {
    outcome: v.code === 0 ? "pass" : v.code === 3 ? "generator-bound" : "fail",
    failed: v.failed.map((r) => r.threshold.text),
    generator: v.generator,
  };
}

/** The steps, each judged against `thresholds` (a judgement already there is replaced). */
export function judgeSteps(
  steps: readonly StepReport[],
  thresholds: readonly Threshold[],
  options: VerdictOptions = {},
): StepReport[] {
  return steps.map((s) => ({ ...s, judged: judgeStep(s.summary, thresholds, options) }));
}
