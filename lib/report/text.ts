/**
 * The text report: vegeta's layout (`report -type=text`: aligned rows for requests, duration, latencies, bytes,
 * success and status codes, then the error set), followed by this project's rows, per-target tables and
 * thresholds. Pure.
 */
import { observedHitRatio, type AttackSummary, type LagSummary } from "./attack-metrics.ts";
import { epochNsFromMs } from "./epoch-ns.ts";
import { goDuration, goFixed, rfc3339Nano, roundDuration, tabwrite } from "./go-format.ts";
import type { CasExtras } from "./json.ts";
import type { GroupSummary } from "./per-target.ts";
import type { StepJudgement, StepReport } from "./steps.ts";
import { formatMeasured } from "./thresholds.ts";

/** Renders `summary` exactly as vegeta's text reporter would. */
export function renderText(summary: AttackSummary): string {
  const d = (ns: number) => goDuration(roundDuration(ns));
  const l = summary.latencies;
  const codes = Object.keys(summary.statusCodes)
    .sort()
    .map((code) => `${code}:${summary.statusCodes[code]}  `)
    .join("");
  const text =
    `Requests\t[total, rate, throughput]\t${summary.requests}, ${goFixed(summary.rate, 2)}, ${goFixed(summary.throughput, 2)}\n` +
    `Duration\t[total, attack, wait]\t${d(summary.duration + summary.wait)}, ${d(summary.duration)}, ${d(summary.wait)}\n` +
    `Latencies\t[min, mean, 50, 90, 95, 99, max]\t${[l.min, l.mean, l.p50, l.p90, l.p95, l.p99, l.max].map(d).join(", ")}\n` +
    `Bytes In\t[total, mean]\t${summary.bytesIn.total}, ${goFixed(summary.bytesIn.mean, 2)}\n` +
    `Bytes Out\t[total, mean]\t${summary.bytesOut.total}, ${goFixed(summary.bytesOut.mean, 2)}\n` +
    `Success\t[ratio]\t${goFixed(summary.success * 100, 2)}%\n` +
    `Status Codes\t[code:count]\t${codes}\n` +
    `Error Set:\n` +
    summary.errors.map((e) => `${e}\n`).join("");
  return tabwrite(text);
}

/**
 * The `--report text` output: vegeta's layout (unchanged, first), then what vegeta lacks: the target and
 * achieved rates, the generator's own lag and waits, the warm-up (not counted), when each generator started against `--start-at`, integrity
 * failures, the per-target and per-X-Cache tables, the steps (with a `--find-max` search's verdict), and last the
 * thresholds with their measured values and the verdict.
 */
export function renderTextReport(summary: AttackSummary, extras?: CasExtras): string {
  const d = (ns: number) => goDuration(roundDuration(ns));
  const pct = (share: number) => `${goFixed(share * 100, 2)}%`;
  const rate = (r: number | null) => (r === null ? "max" : `${goFixed(r, 2)}/s`);
  const lag = (l: LagSummary) => `${d(l.p50)}, ${d(l.p99)}, ${d(l.max)}`;
  const observed = observedHitRatio(summary);
  const hitRatios = [observed, extras?.hitRatio ?? null];
  let ours =
    `Rate\t[target, achieved]\t${rate(summary.targetRate)}, ${rate(summary.achievedRate)}\n` +
    `Send Lag\t[50, 99, max]\t${lag(summary.sendLag)}\n` +
    `Queue Wait\t[50, 99, max]\t${lag(summary.queueWait)}\n` +
    `Slot Waits\t[count, share]\t${summary.slotWaits}, ${pct(summary.requests === 0 ? 0 : summary.slotWaits / summary.requests)}\n` +
    `Integrity\t[failures]\t${summary.integrityFailures}\n`;
  if (hitRatios.some((r) => r !== null)) {
    ours += `Hit Ratio\t[x-cache, /stats]\t${hitRatios.map((r) => (r === null ? "-" : pct(r))).join(", ")}\n`;
  }
  if (extras?.warmup) {
    const w = extras.warmup;
    ours += `Warm-up\t[duration, requests, errors]\t${d(Math.round(w.durationMs * 1e6))}, ${w.requests}, ${w.errors}\n`;
  }
  for (const start of extras?.starts ?? []) {
    const at = rfc3339Nano(epochNsFromMs(start.at));
    ours += `Start\t[shard, start-at, offset]\t${start.shard ?? "-"}, ${at}, ${goDuration(Math.round(start.offsetNs))}\n`;
  }
  let text = renderText(summary) + "\n" + tabwrite(ours);
  if (summary.byTarget.length > 0) text += "\n" + groupTable("Target", summary.byTarget);
  if (summary.byXCache.length > 0) text += "\n" + groupTable("X-Cache", summary.byXCache);
  if (extras?.steps !== undefined && extras.steps.length > 0) text += "\n" + stepsTable(extras.steps);
  if (extras?.capacity) text += `${extras.capacity.line}\n`;
  const thresholds = extras?.thresholds ?? [];
  if (thresholds.length > 0 || extras?.verdict) {
    text += "\nThresholds:\n";
    text += tabwrite(
      thresholds
        .map(
          (r) =>
            `${r.pass ? "PASS" : "FAIL"}\t${r.threshold.text}\t${formatMeasured(r.threshold.metric, r.measured)}${r.note ? `\t(${r.note})` : ""}\n`,
        )
        .join(""),
    );
    if (extras?.verdict) text += `Verdict: exit ${extras.verdict.code}: ${extras.verdict.message}\n`;
  }
  return text;
}

/** One row per group: requests, success, latency percentiles, bytes and errors; then each group's error texts. */
function groupTable(title: string, groups: readonly GroupSummary[]): string {
  const d = (ns: number) => goDuration(roundDuration(ns));
  let rows = `${title}\tRequests\tSuccess\tp50\tp90\tp99\tmax\tBytes In\tBytes Out\tErrors\n`;
  for (const g of groups) {
    const l = g.latencies;
    rows +=
      `${g.name}\t${g.requests}\t${goFixed(g.success * 100, 2)}%\t${d(l.p50)}\t${d(l.p90)}\t${d(l.p99)}\t${d(l.max)}\t` +
      `${g.bytesIn.total}\t${g.bytesOut.total}\t${g.errorCount}\n`;
  }
  const errors = groups.flatMap((g) => g.errors.map((e) => `  ${g.name}: ${e.count} × ${e.error}\n`));
  return tabwrite(rows) + (errors.length > 0 ? `${title} errors:\n${errors.join("")}` : "");
}

/** One row per step: the rate asked and achieved, requests, success, p50, p99 and, when judged, how it went. */
function stepsTable(steps: readonly StepReport[]): string {
  const d = (ns: number) => goDuration(roundDuration(ns));
  let rows = "Step\tRate Asked\tAchieved\tRequests\tSuccess\tp50\tp99\tOutcome\n";
  steps.forEach((step, i) => {
    const s = step.summary;
    rows +=
      `${i + 1}\t${goFixed(step.rate, 2)}/s\t${goFixed(s.achievedRate, 2)}/s\t${s.requests}\t${goFixed(s.success * 100, 2)}%\t` +
      `${d(s.latencies.p50)}\t${d(s.latencies.p99)}\t${step.judged ? outcomeText(step.judged) : "-"}\n`;
  });
  return tabwrite(rows);
}

/** `pass`, `fail: p99<100ms`, or `generator-bound: its own send lag p99 was 20ms, ...`. */
export function outcomeText(j: StepJudgement): string {
  if (j.outcome === "pass") return "pass";
  const why = j.outcome === "fail" ? j.failed.join(", ") : j.generator.join("; ");
  return why === "" ? j.outcome : `${j.outcome}: ${why}`;
}
