/**
 * The exit code of a run, telling apart who failed: 0 every threshold holds; 1 the system under test broke one;
 * 3 the generator itself could not keep its schedule, so the run says nothing about the target. A body that does
 * not match its key is the target's fault whatever the generator did, so it always gives 1. Pure: a function of
 * a report summary and its threshold results.
 */
import type { AttackSummary } from "./attack-metrics.ts";
import { goDuration } from "./go-format.ts";
import type { ThresholdResult } from "./thresholds.ts";

/** The generator's own send lag p99 above this fails the run with 3 (`--max-send-lag`). */
export const DEFAULT_MAX_SEND_LAG_MS = 10;
/** Achieved below this share of the target rate fails the run with 3. */
export const MIN_RATE_SHARE = 0.99;
/** More than this share of requests waiting for a free `--max-inflight` slot fails the run with 3. */
export const MAX_SLOT_WAIT_SHARE = 0.01;
/**
 * Fewer requests than this are too few to judge the generator by: their p99 is their maximum and 1% of them less
 * than one request, so one hiccup of a shared machine would decide the run.
 */
export const MIN_REQUESTS_TO_JUDGE = 100;

export type ExitCode = 0 | 1 | 3;

export interface VerdictOptions {
  /** @default DEFAULT_MAX_SEND_LAG_MS */
  maxSendLagMs?: number;
}

export interface Verdict {
  code: ExitCode;
  /** Ways the generator fell short of its schedule, one sentence each (empty when it kept up). */
  generator: string[];
  /** The thresholds that did not hold. */
  failed: ThresholdResult[];
  /** One line saying what the code means for this run. */
  message: string;
}

/** Judges a run from its summary and threshold results. */
export function verdict(
  summary: AttackSummary,
  results: readonly ThresholdResult[],
  options: VerdictOptions = {},
): Verdict {
  const generator = generatorShortfalls(summary, options.maxSendLagMs ?? DEFAULT_MAX_SEND_LAG_MS);
  const failed = results.filter((r) => !r.pass);
  const integrity = failed.filter((r) => r.threshold.metric === "integrity_failures");
  const broke = (list: readonly ThresholdResult[]) =>
    `the system under test broke ${list.length} threshold${list.length === 1 ? "" : "s"}: ${list.map((r) => r.threshold.text).join(", ")}`;
  if (integrity.length > 0) return { code: 1, generator, failed, message: broke(failed) };
  if (generator.length > 0) {
    return {
      code: 3,
      generator,
      failed,
      message: `the generator could not keep its schedule, so the run says nothing about the target: ${generator.join("; ")}`,
    };
  }
  if (failed.length > 0) return { code: 1, generator, failed, message: broke(failed) };
  return { code: 0, generator, failed, message: `every threshold holds (${results.length})` };
}

/** Why the generator's own figures make the run unusable; empty when it kept its schedule. */
export function generatorShortfalls(summary: AttackSummary, maxSendLagMs: number): string[] {
  const out: string[] = [];
  const n = summary.requests;
  if (n < MIN_REQUESTS_TO_JUDGE) return out;
  const target = summary.targetRate;
  if (target !== null && summary.achievedRate < MIN_RATE_SHARE * target) {
    const share = (summary.achievedRate / target) * 100;
    out.push(
      `achieved ${fmt(summary.achievedRate)}/s of the ${fmt(target)}/s scheduled (${share.toFixed(1)}%, below ${MIN_RATE_SHARE * 100}%)`,
    );
  }
  const lag = summary.sendLag.p99;
  if (lag > maxSendLagMs * 1e6) {
    out.push(
      `its own send lag p99 was ${goDuration(Number(lag.toPrecision(3)))}, above --max-send-lag ${goDuration(maxSendLagMs * 1e6)}`,
    );
  }
  if (summary.slotWaits > MAX_SLOT_WAIT_SHARE * n) {
    const share = (summary.slotWaits / n) * 100;
    out.push(
      `${summary.slotWaits} requests (${share.toFixed(1)}%) waited for a free --max-inflight slot past their due time ` +
        `(raise --max-inflight or lower the rate)`,
    );
  }
  return out;
}

function fmt(rate: number): string {
  return String(Number(rate.toFixed(2)));
}
