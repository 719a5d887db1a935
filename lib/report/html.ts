/**
 * The HTML report: one self-contained page (no scripts, no network) with the summary, the thresholds and the
 * verdict, a `--find-max` search's verdict and the steps on their own, latency over time (p50/p99/max per window,
 * each step's start marked) and the percentile curve drawn as inline SVG, the per-target and per-X-Cache tables,
 * the status codes and the errors. Pure.
 */
import { observedHitRatio, type AttackSummary } from "./attack-metrics.ts";
import { goDuration, rfc3339Nano, roundDuration } from "./go-format.ts";
import { HDRPLOT_QUANTILES } from "./hdrplot.ts";
import type { CasExtras } from "./json.ts";
import type { GroupSummary } from "./per-target.ts";
import type { StepReport } from "./steps.ts";
import { outcomeText } from "./text.ts";
import { formatMeasured } from "./thresholds.ts";

export interface HtmlOptions {
  title?: string;
  /** What was attacked and how, shown under the title (e.g. "GET http://… at 50/s for 10s"). */
  description?: string;
  extras?: CasExtras;
}

const W = 1080;
const H = 300;
const M = { top: 16, right: 20, bottom: 40, left: 64 };
const COLORS = { p50: "#2b7bb9", p99: "#e07b00", max: "#c0392b", curve: "#6a3d9a", fail: "#c0392b", step: "#777" };

/** Renders the whole page. */
export function renderHtml(summary: AttackSummary, options: HtmlOptions = {}): string {
  const title = options.title ?? "cas-harness attack report";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;background:#fff;max-width:${W + 40}px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.sub{color:#666;margin:0 0 16px}
table{border-collapse:collapse}td,th{padding:3px 12px 3px 0;text-align:left;vertical-align:top}
th{color:#555;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:flex;gap:48px;flex-wrap:wrap}
svg{background:#fcfcfc;border:1px solid #ddd}
svg text{font:11px system-ui,sans-serif;fill:#444}
.legend span{display:inline-block;margin-right:16px}.legend i{display:inline-block;width:14px;height:3px;vertical-align:middle;margin-right:4px}
.bad{color:#c0392b}pre{background:#f6f6f6;padding:8px;white-space:pre-wrap}
</style>
</head>
<body>
<h1>${esc(title)}</h1>
${options.description ? `<p class="sub">${esc(options.description)}</p>` : ""}
<div class="grid">
${summaryTable(summary, options.extras)}
${statusTable(summary)}
</div>
${thresholdsBlock(options.extras)}
${stepsBlock(options.extras)}
<h2>Latency over time</h2>
<p class="sub">Per ${goDuration(summary.windowMs * 1e6)} window, measured from each request's due time (queueing included).</p>
<div class="legend"><span><i style="background:${COLORS.p50}"></i>p50</span><span><i style="background:${COLORS.p99}"></i>p99</span><span><i style="background:${COLORS.max}"></i>max</span><span><i style="background:${COLORS.fail};height:8px;width:8px"></i>windows with failures</span>${options.extras?.steps?.length ? `<span><i style="background:${COLORS.step};width:2px;height:12px"></i>step starts, numbered as in Steps</span>` : ""}</div>
${timeChart(summary, options.extras?.steps ?? [])}
<h2>Latency by percentile</h2>
${percentileChart(summary)}
${groupBlock("Per target", "Target", summary.byTarget)}
${groupBlock("By X-Cache verdict", "X-Cache", summary.byXCache)}
${errorsBlock(summary)}
</body>
</html>
`;
}

function summaryTable(s: AttackSummary, extras: CasExtras | undefined): string {
  const d = (ns: number) => goDuration(roundDuration(ns));
  const l = s.latencies;
  const rows: [string, string][] = [
    ["Requests", `${s.requests}`],
    ["Rate / throughput", `${s.rate.toFixed(2)} / ${s.throughput.toFixed(2)} req/s`],
    [
      "Rate target / achieved",
      `${s.targetRate === null ? "max" : s.targetRate.toFixed(2)} / ${s.achievedRate.toFixed(2)} req/s`,
    ],
    ["Duration (attack + wait)", `${d(s.duration)} + ${d(s.wait)}`],
    ["Earliest", rfc3339Nano(s.earliest)],
    ["Success", `${(s.success * 100).toFixed(2)}%`],
    ["Latency min / mean", `${d(l.min)} / ${d(l.mean)}`],
    ["Latency p50 / p90 / p95", `${d(l.p50)} / ${d(l.p90)} / ${d(l.p95)}`],
    ["Latency p99 / max", `${d(l.p99)} / ${d(l.max)}`],
    ["Send lag (generator) p50 / p99 / max", `${d(s.sendLag.p50)} / ${d(s.sendLag.p99)} / ${d(s.sendLag.max)}`],
    [
      "Queue wait (max-inflight) p50 / p99 / max",
      `${d(s.queueWait.p50)} / ${d(s.queueWait.p99)} / ${d(s.queueWait.max)}`,
    ],
    ["Waited for a max-inflight slot", `${s.slotWaits}`],
    ["Bytes in (total, mean)", `${s.bytesIn.total}, ${s.bytesIn.mean.toFixed(2)}`],
    ["Bytes out (total, mean)", `${s.bytesOut.total}, ${s.bytesOut.mean.toFixed(2)}`],
  ];
  rows.push(["Integrity failures", `${s.integrityFailures}`]);
  if (extras?.warmup) {
    const w = extras.warmup;
    rows.push([
      "Warm-up (not counted): duration, requests, errors",
      `${d(w.durationMs * 1e6)}, ${w.requests}, ${w.errors}`,
    ]);
  }
  if (extras && extras.hitRatio !== null)
    rows.push(["Cache hit ratio (/stats)", `${(extras.hitRatio * 100).toFixed(2)}%`]);
  const observed = observedHitRatio(s);
  if (observed !== null) {
    const { hits, misses } = s.cache;
    rows.push(["Hit ratio seen (X-Cache)", `${(observed * 100).toFixed(2)}% (${hits} hits, ${misses} misses)`]);
  }
  return `<div><h2>Summary</h2><table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")}</table></div>`;
}

function statusTable(s: AttackSummary): string {
  const codes = Object.keys(s.statusCodes).sort();
  const max = Math.max(1, ...codes.map((c) => s.statusCodes[c]!));
  const rows = codes
    .map((code) => {
      const n = s.statusCodes[code]!;
      const ok = Number(code) >= 200 && Number(code) < 400;
      const bar = `<svg width="200" height="12" style="border:0;background:none"><rect width="${((n / max) * 200).toFixed(1)}" height="12" fill="${ok ? "#4a9d5b" : COLORS.fail}"/></svg>`;
      return `<tr><th${ok ? "" : ' class="bad"'}>${esc(code === "0" ? "0 (no response)" : code)}</th><td class="num">${n}</td><td class="num">${((n / Math.max(1, s.requests)) * 100).toFixed(2)}%</td><td>${bar}</td></tr>`;
    })
    .join("");
  return `<div><h2>Status codes</h2><table>${rows || "<tr><td>no requests</td></tr>"}</table></div>`;
}

function thresholdsBlock(extras: CasExtras | undefined): string {
  const results = extras?.thresholds ?? [];
  if (results.length === 0 && extras?.verdict === undefined) return "";
  const rows = results
    .map(
      (r) =>
        `<tr><th${r.pass ? "" : ' class="bad"'}>${r.pass ? "PASS" : "FAIL"}</th><td>${esc(r.threshold.text)}</td>` +
        `<td class="num">${esc(formatMeasured(r.threshold.metric, r.measured))}</td><td>${esc(r.note ?? "")}</td></tr>`,
    )
    .join("");
  const v = extras?.verdict;
  const verdict = v ? `<p${v.code === 0 ? "" : ' class="bad"'}>Exit ${v.code}: ${esc(v.message)}</p>` : "";
  return `<h2>Thresholds</h2><table>${rows}</table>${verdict}`;
}

function groupBlock(title: string, column: string, groups: readonly GroupSummary[]): string {
  if (groups.length === 0) return "";
  const d = (ns: number) => goDuration(roundDuration(ns));
  const head = [column, "Requests", "Success", "p50", "p90", "p99", "max", "Bytes in", "Bytes out", "Errors"];
  const rows = groups
    .map((g) => {
      const l = g.latencies;
      const errors = g.errors.map((e) => `${e.count} × ${e.error}`).join("; ");
      const cells = [g.requests, `${(g.success * 100).toFixed(2)}%`, d(l.p50), d(l.p90), d(l.p99), d(l.max)];
      return (
        `<tr><th>${esc(g.name)}</th>${cells.map((c) => `<td class="num">${esc(String(c))}</td>`).join("")}` +
        `<td class="num">${g.bytesIn.total}</td><td class="num">${g.bytesOut.total}</td>` +
        `<td${g.errorCount > 0 ? ' class="bad"' : ""}>${g.errorCount}${errors ? ` (${esc(errors)})` : ""}</td></tr>`
      );
    })
    .join("");
  return `<h2>${esc(title)}</h2><table><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr>${rows}</table>`;
}

/** The search's verdict, then one row per step: rate asked and achieved, requests, success, p50, p99, outcome. */
function stepsBlock(extras: CasExtras | undefined): string {
  const steps = extras?.steps ?? [];
  if (steps.length === 0) return "";
  const d = (ns: number) => goDuration(roundDuration(ns));
  const head = ["Step", "Rate asked", "Achieved", "Requests", "Success", "p50", "p99", "Outcome"];
  const rows = steps
    .map((step, i) => {
      const s = step.summary;
      const cells = [i + 1, `${step.rate.toFixed(2)}/s`, `${s.achievedRate.toFixed(2)}/s`, s.requests];
      const more = [`${(s.success * 100).toFixed(2)}%`, d(s.latencies.p50), d(s.latencies.p99)];
      const bad = step.judged !== undefined && step.judged.outcome !== "pass";
      return (
        `<tr>${[...cells, ...more].map((c) => `<td class="num">${esc(String(c))}</td>`).join("")}` +
        `<td${bad ? ' class="bad"' : ""}>${esc(step.judged ? outcomeText(step.judged) : "-")}</td></tr>`
      );
    })
    .join("");
  const c = extras?.capacity;
  const verdict = c ? `<p${c.code === 0 ? "" : ' class="bad"'}><b>${esc(c.line)}</b></p>` : "";
  return `<h2>Steps</h2>${verdict}<table><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr>${rows}</table>`;
}

function errorsBlock(s: AttackSummary): string {
  if (s.errors.length === 0) return `<h2>Errors</h2><p>None.</p>`;
  return `<h2>Errors</h2><pre>${s.errors.map(esc).join("\n")}</pre>`;
}

/**
 * p50, p99 and max per window against seconds since the start; a red tick marks windows with failures, a dashed
 * line with its number each step's start.
 */
function timeChart(s: AttackSummary, steps: readonly StepReport[]): string {
  const pts = s.series;
  if (pts.length === 0) return emptyChart("no requests");
  const tMax = Math.max(pts.length * (s.windowMs / 1000), 1e-9);
  const yMax = niceCeil(Math.max(...pts.map((p) => p.max)) / 1e6);
  const x = (t: number) => M.left + (t / tMax) * (W - M.left - M.right);
  const y = (ms: number) => H - M.bottom - (ms / yMax) * (H - M.top - M.bottom);
  const mid = s.windowMs / 2000;
  const line = (key: "p50" | "p99" | "max") =>
    `<polyline fill="none" stroke="${COLORS[key]}" stroke-width="1.6" points="${pts
      .filter((p) => p.requests > 0)
      .map((p) => `${x(p.t + mid).toFixed(1)},${y(p[key] / 1e6).toFixed(1)}`)
      .join(" ")}"/>`;
  const fails = pts
    .filter((p) => p.failures > 0)
    .map(
      (p) =>
        `<rect x="${(x(p.t + mid) - 3).toFixed(1)}" y="${H - M.bottom - 8}" width="6" height="6" fill="${COLORS.fail}"><title>${p.failures} failed</title></rect>`,
    )
    .join("");
  const marks = steps
    .map((step, i) => {
      const t = (step.startMs - (s.seriesStartMs ?? step.startMs)) / 1000;
      if (!(t >= 0 && t <= tMax)) return "";
      const at = x(t).toFixed(1);
      return (
        `<line class="step" x1="${at}" x2="${at}" y1="${M.top}" y2="${H - M.bottom}" stroke="${COLORS.step}" stroke-dasharray="4 3"/>` +
        `<text x="${(x(t) + 3).toFixed(1)}" y="${M.top + 10}"><title>step ${i + 1}: ${fmtNum(step.rate)}/s</title>${i + 1}</text>`
      );
    })
    .join("");
  const xTicks = ticks(tMax).map((t) => ({ pos: x(t), label: `${fmtNum(t)}s` }));
  const yTicks = ticks(yMax).map((v) => ({ pos: y(v), label: `${fmtNum(v)} ms` }));
  return svg(
    axes(xTicks, yTicks, "seconds since start", "latency") + marks + line("max") + line("p99") + line("p50") + fails,
  );
}

/** Latency against 1/(1-q) on a log axis, the HdrHistogram way: the tail gets the room. */
function percentileChart(s: AttackSummary): string {
  if (s.requests === 0) return emptyChart("no requests");
  const qs = HDRPLOT_QUANTILES.filter((q) => q < 1 && 1 / (1 - q) <= Math.max(10, s.requests));
  const decades = Math.max(1, Math.ceil(Math.log10(1 / (1 - qs[qs.length - 1]!))));
  const values = qs.map((q) => s.histogram.quantile(q) / 1e6);
  const yMax = niceCeil(Math.max(...values, s.latencies.max / 1e6));
  const x = (q: number) => M.left + (Math.log10(1 / (1 - q)) / decades) * (W - M.left - M.right);
  const y = (ms: number) => H - M.bottom - (ms / yMax) * (H - M.top - M.bottom);
  const path = qs.map((q, i) => `${x(q).toFixed(1)},${y(values[i]!).toFixed(1)}`).join(" ");
  const xTicks = Array.from({ length: decades + 1 }, (_, k) => {
    const q = 1 - 10 ** -k;
    return { pos: x(q), label: k === 0 ? "0%" : `${fmtNum(Number((q * 100).toFixed(k)))}%` };
  });
  const yTicks = ticks(yMax).map((v) => ({ pos: y(v), label: `${fmtNum(v)} ms` }));
  return svg(
    axes(xTicks, yTicks, "percentile", "latency") +
      `<polyline fill="none" stroke="${COLORS.curve}" stroke-width="2" points="${path}"/>`,
  );
}

interface Tick {
  pos: number;
  label: string;
}

function axes(xTicks: Tick[], yTicks: Tick[], xLabel: string, yLabel: string): string {
  const x0 = M.left;
  const y0 = H - M.bottom;
  const grid = yTicks
    .map(
      (t) =>
        `<line x1="${x0}" x2="${W - M.right}" y1="${t.pos.toFixed(1)}" y2="${t.pos.toFixed(1)}" stroke="#e6e6e6"/><text x="${x0 - 6}" y="${(t.pos + 4).toFixed(1)}" text-anchor="end">${esc(t.label)}</text>`,
    )
    .join("");
  const xs = xTicks
    .map(
      (t) =>
        `<line x1="${t.pos.toFixed(1)}" x2="${t.pos.toFixed(1)}" y1="${y0}" y2="${y0 + 4}" stroke="#888"/><text x="${t.pos.toFixed(1)}" y="${y0 + 16}" text-anchor="middle">${esc(t.label)}</text>`,
    )
    .join("");
  return (
    grid +
    xs +
    `<line x1="${x0}" x2="${W - M.right}" y1="${y0}" y2="${y0}" stroke="#888"/><line x1="${x0}" x2="${x0}" y1="${M.top}" y2="${y0}" stroke="#888"/>` +
    `<text x="${(x0 + W - M.right) / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text>` +
    `<text transform="translate(14 ${(M.top + y0) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`
  );
}

function svg(body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${body}</svg>`;
}

function emptyChart(message: string): string {
  return svg(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">${esc(message)}</text>`);
}

/** The smallest 1, 2 or 5 times a power of ten at or above `v` (at least a tiny positive number). */
function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** About five round ticks from 0 to max. */
function ticks(max: number): number[] {
  const step = niceCeil(max / 5);
  const out: number[] = [];
  for (let v = 0; v <= max * (1 + 1e-9); v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmtNum(v: number): string {
  return Number(v.toPrecision(6)).toString();
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
