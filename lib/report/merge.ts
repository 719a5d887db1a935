/**
 * One report from several: summaries (or the JSON reports of several generators) merged through their histogram
 * buckets and exact counts, so every percentile, count, min/max, status code and error equals that of one report
 * over all their results; their steps merge step by step when they ran the same steps (shards of one schedule),
 * and when each generator started is kept. Pure. Left out: the caches' own `/stats` view (each generator's window
 * also counts the others' traffic) and a `--find-max` search's finding, which a merge of several reports drops.
 */
import { summarize, type AttackSummary } from "./attack-metrics.ts";
import { HdrHistogram } from "./hdr-histogram.ts";
import { parseJsonReport, type CasExtras } from "./json.ts";
import { GroupBreakdown } from "./per-target.ts";
import type { StepReport } from "./steps.ts";
import { mergeSeries } from "./time-series.ts";

/** The summary of all the results behind `summaries` (at least one; none is changed). */
export function mergeSummaries(summaries: readonly AttackSummary[]): AttackSummary {
  if (summaries.length === 0) throw new RangeError("Cannot merge no summaries");
  const statusCodes = new Map<string, number>();
  const errors = new Set<string>();
  const byTarget = new GroupBreakdown();
  const byXCache = new GroupBreakdown();
  let requests = 0;
  let successes = 0;
  let errorCount = 0;
  let integrityFailures = 0;
  let slotWaits = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  let cacheHits = 0;
  let cacheMisses = 0;
  let earliest: bigint | undefined;
  let latest: bigint | undefined;
  let end: bigint | undefined;
  let lastSent: bigint | undefined;
  const latency = like(summaries[0]!.histogram);
  const sendLag = like(summaries[0]!.sendLagHistogram);
  const queueWait = like(summaries[0]!.queueWaitHistogram);
  for (const s of summaries) {
    requests += s.requests;
    successes += s.successes;
    errorCount += s.errorCount;
    integrityFailures += s.integrityFailures;
    slotWaits += s.slotWaits;
    bytesIn += s.bytesIn.total;
    bytesOut += s.bytesOut.total;
    cacheHits += s.cache.hits;
    cacheMisses += s.cache.misses;
    earliest = min(earliest, s.earliest);
    latest = max(latest, s.latest);
    end = max(end, s.end);
    lastSent = max(lastSent, s.lastSent);
    for (const [code, n] of Object.entries(s.statusCodes)) statusCodes.set(code, (statusCodes.get(code) ?? 0) + n);
    for (const e of s.errors) errors.add(e);
    latency.merge(s.histogram);
    sendLag.merge(s.sendLagHistogram);
    queueWait.merge(s.queueWaitHistogram);
    for (const g of s.byTarget) byTarget.addSummary(g);
    for (const g of s.byXCache) byXCache.addSummary(g);
  }
  return summarize({
    ...{ requests, successes, errorCount, integrityFailures, slotWaits, bytesIn, bytesOut, cacheHits, cacheMisses },
    ...{ earliest, latest, end, lastSent, errors, latency, sendLag, queueWait },
    statusCodes,
    buckets: mergeBuckets(summaries),
    series: mergeSeries(summaries.map((s) => ({ startMs: s.seriesStartMs, windowMs: s.windowMs, points: s.series }))),
    byTarget: byTarget.close(),
    byXCache: byXCache.close(),
    unpaced: summaries.some((s) => s.targetRate === null && s.requests >= 2 && s.duration > 0),
  });
}

/**
 * Merges JSON reports this project wrote (parsed JSON values). One report keeps the caches' view it carries;
 * several drop it. Throws {@linkcode ReportFormatError} for a report that cannot be read back.
 */
export function mergeReports(reports: readonly unknown[]): { summary: AttackSummary; extras: CasExtras } {
  const parsed = reports.map(parseJsonReport);
  if (parsed.length === 1) return parsed[0]!;
  return { summary: mergeSummaries(parsed.map((p) => p.summary)), extras: mergeExtras(parsed.map((p) => p.extras)) };
}

/**
 * What several reports' extras keep together: their steps, merged step by step ({@linkcode mergeSteps}), and
 * every generator's start. The caches' view, thresholds, verdicts and a search's finding are dropped.
 */
export function mergeExtras(extras: readonly CasExtras[]): CasExtras {
  const merged: CasExtras = { hitRatio: null, cacheStats: null };
  const steps = mergeSteps(extras.map((e) => e.steps));
  if (steps !== undefined) merged.steps = steps;
  const starts = extras.flatMap((e) => e.starts ?? []);
  if (starts.length > 0) merged.starts = starts;
  // generators warm up side by side: the requests add up, the time is the longest one's
  const warmups = extras.flatMap((e) => (e.warmup ? [e.warmup] : []));
  if (warmups.length > 0) {
    merged.warmup = {
      durationMs: Math.max(...warmups.map((w) => w.durationMs)),
      requests: warmups.reduce((n, w) => n + w.requests, 0),
      errors: warmups.reduce((n, w) => n + w.errors, 0),
    };
  }
  return merged;
}

/**
 * Step i of the merge is step i of every list merged, when every list has the same steps (count and rates, as
 * shards of one schedule have); otherwise there are none. Judgements are dropped: judge the merged steps again.
 */
export function mergeSteps(lists: readonly (readonly StepReport[] | undefined)[]): StepReport[] | undefined {
  const first = lists[0];
  if (first === undefined || first.length === 0) return undefined;
  const same = (l: readonly StepReport[] | undefined) =>
    l !== undefined &&
    l.length === first.length &&
    l.every((s, i) => Math.abs(s.rate - first[i]!.rate) <= 1e-9 * s.rate);
  if (!lists.every(same)) return undefined;
  return first.map((step, i) => {
    const all = lists.map((l) => l![i]!);
    return {
      rate: step.rate,
      startMs: Math.min(...all.map((s) => s.startMs)),
      endMs: Math.max(...all.map((s) => s.endMs)),
      summary: mergeSummaries(all.map((s) => s.summary)),
    };
  });
}

/** Bucket counts add up when every summary has them with the same bounds; otherwise there are none. */
function mergeBuckets(summaries: readonly AttackSummary[]): { bounds: number[]; counts: number[] } | undefined {
  const first = summaries[0]!.buckets;
  if (first === undefined) return undefined;
  const counts = new Array<number>(first.bounds.length).fill(0);
  for (const s of summaries) {
    const b = s.buckets;
    if (b === undefined || b.bounds.length !== first.bounds.length || b.bounds.some((x, i) => x !== first.bounds[i])) {
      return undefined;
    }
    b.counts.forEach((n, i) => (counts[i]! += n));
  }
  return { bounds: [...first.bounds], counts };
}

function like(h: HdrHistogram): HdrHistogram {
  return new HdrHistogram({ lowest: h.lowest, highest: h.highest, significantDigits: h.significantDigits });
}

function min(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  return a === undefined ? b : b === undefined ? a : a < b ? a : b;
}

function max(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  return a === undefined ? b : b === undefined ? a : a > b ? a : b;
}
