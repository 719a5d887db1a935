/**
 * The one-line verdict of a `--find-max` search and its exit code, from the steps it ran: the highest rate at
 * which every threshold held with the generator on schedule, and what stopped it going higher (a threshold the
 * target broke, a step the generator could not keep, --max-rate or the time limit). Pure.
 */
import { goDuration } from "../report/go-format.ts";
import type { CapacityFinding } from "../report/steps.ts";
import { bracket, type SearchEnd, type StepOutcome } from "./capacity-search.ts";

/** What the verdict needs of one step that ran. */
export interface SearchedStep {
  /** Requests per second asked. */
  rate: number;
  outcome: StepOutcome;
  /** Latency p99, ns. */
  p99: number;
  /** The thresholds that did not hold (as written). */
  failed: readonly string[];
  /** How the generator fell short of its schedule, one phrase each. */
  generator: readonly string[];
}

/** The finding every report shows (the highest rate that held, the line, the exit code), and the step above it. */
export interface CapacityVerdict extends CapacityFinding {
  /** The step above the capacity that did not hold, when one ran. */
  bound: SearchedStep | undefined;
}

/** Judges a search from its steps, in the order they ran, and why it ended (`stopped`: interrupted). */
export function capacityVerdict(steps: readonly SearchedStep[], end: SearchEnd | "stopped"): CapacityVerdict {
  const { held: heldStep, bound: boundStep } = bracket(steps);
  const stopped = end === "stopped" ? " (stopped early)" : "";
  if (heldStep === undefined) {
    const first = steps[0];
    if (first === undefined) {
      const why =
        end === "stopped" ? "stopped before a step ran" : "no step ran: the time limit is shorter than one step";
      return { rate: null, bound: undefined, code: 1, line: `capacity: unknown: ${why}` };
    }
    if (first.outcome === "generator-bound") {
      const line = `capacity: unknown: the first step, ${rate(first.rate)}, was generator-bound (${first.generator.join("; ")})${stopped}`;
      return { rate: null, bound: first, code: 3, line };
    }
    const line = `capacity: below ${rate(first.rate)}: the first step failed ${first.failed.join(", ")}${stopped}`;
    return { rate: null, bound: first, code: 1, line };
  }
  const at = `${rate(heldStep.rate)} (p99 ${p99(heldStep.p99)})`;
  if (boundStep?.outcome === "fail") {
    const line = `capacity: ${at}; next step ${rate(boundStep.rate)} failed ${boundStep.failed.join(", ")}${stopped}`;
    return { rate: heldStep.rate, bound: boundStep, code: 0, line };
  }
  if (boundStep !== undefined) {
    const line =
      `capacity: at least ${at}; next step ${rate(boundStep.rate)} was generator-bound ` +
      `(${boundStep.generator.join("; ")}): the generator, not the target, was the limit; add generators (--shard)${stopped}`;
    return { rate: heldStep.rate, bound: boundStep, code: 3, line };
  }
  const why =
    end === "max-rate"
      ? "every step held up to --max-rate"
      : end === "stopped"
        ? "stopped early while steps still held"
        : "the time limit ended the search while steps still held";
  return { rate: heldStep.rate, bound: undefined, code: 0, line: `capacity: at least ${at}: ${why}` };
}

/** `31,200 req/s`. */
function rate(perSecond: number): string {
  return `${perSecond.toLocaleString("en-US", { maximumFractionDigits: 2 })} req/s`;
}

/** Two significant digits: `4.1ms`, `120µs`. */
function p99(ns: number): string {
  return goDuration(Number(ns.toPrecision(2)));
}
