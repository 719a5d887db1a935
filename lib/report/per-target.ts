/**
 * Per-target figures: results grouped by a name (a target's, or the `X-Cache` verdict) with requests, success,
 * latency percentiles, bytes, status codes and error counts per group, as Locust and Gatling report per endpoint.
 * At most `MAX_GROUPS` names are told apart (the rest share one group) and `MAX_GROUP_ERRORS` error texts per
 * group, so memory stays bounded however many URLs a targets file names. Synchronous, no I/O.
 */
import { HdrHistogram } from "./hdr-histogram.ts";
import { latencySummary, type LatencySummary } from "./latency-summary.ts";

/** Names kept apart; results for any further name go to {@linkcode OTHER_GROUP}. */
export const MAX_GROUPS = 100;
export const OTHER_GROUP = "(other targets)";
/** Error texts counted apart per group; further ones are counted under {@linkcode OTHER_ERRORS}. */
export const MAX_GROUP_ERRORS = 20;
export const OTHER_ERRORS = "(other errors)";

/** One group's figures. */
export interface GroupSummary {
  name: string;
  requests: number;
  /** Responses with status 200..399 (vegeta's success). */
  successes: number;
  /** successes / requests. */
  success: number;
  /** Requests with an error: no response, a status outside 200..399, or a body that did not match its key. */
  errorCount: number;
  integrityFailures: number;
  latencies: LatencySummary;
  bytesIn: { total: number; mean: number };
  bytesOut: { total: number; mean: number };
  statusCodes: Record<string, number>;
  /** Error texts with how many requests had each, in first-seen order. */
  errors: { error: string; count: number }[];
  /** The group's latencies (ns), for merging. */
  histogram: HdrHistogram;
}

/** What one result adds to a group. */
export interface GroupSample {
  latencyNs: number;
  status: number;
  ok: boolean;
  error: string | undefined;
  integrityFailure: boolean;
  bytesIn: number;
  bytesOut: number;
}

interface Group {
  requests: number;
  successes: number;
  errorCount: number;
  integrityFailures: number;
  bytesIn: number;
  bytesOut: number;
  statusCodes: Map<string, number>;
  errors: Map<string, number>;
  histogram: HdrHistogram;
}

/** Groups results by name; `close()` gives one summary per group, in first-seen order. */
export class GroupBreakdown {
  #groups = new Map<string, Group>();
  #maxGroups: number;

  constructor(maxGroups = MAX_GROUPS) {
    this.#maxGroups = maxGroups;
  }

  get size(): number {
    return this.#groups.size;
  }

  add(name: string, s: GroupSample): void {
    const g = this.#group(name);
    g.requests++;
    if (s.ok) g.successes++;
    if (s.integrityFailure) g.integrityFailures++;
    g.bytesIn += s.bytesIn;
    g.bytesOut += s.bytesOut;
    g.histogram.record(s.latencyNs);
    const code = String(s.status);
    g.statusCodes.set(code, (g.statusCodes.get(code) ?? 0) + 1);
    if (s.error !== undefined) {
      g.errorCount++;
      countError(g.errors, s.error, 1);
    }
  }

  /** Adds a whole group's figures (from another breakdown or a report); `summary` is not changed. */
  addSummary(summary: GroupSummary): void {
    const g = this.#group(summary.name);
    g.requests += summary.requests;
    g.successes += summary.successes;
    g.errorCount += summary.errorCount;
    g.integrityFailures += summary.integrityFailures;
    g.bytesIn += summary.bytesIn.total;
    g.bytesOut += summary.bytesOut.total;
    g.histogram.merge(summary.histogram);
    for (const [code, n] of Object.entries(summary.statusCodes))
      g.statusCodes.set(code, (g.statusCodes.get(code) ?? 0) + n);
    for (const { error, count } of summary.errors) countError(g.errors, error, count);
  }

  #group(name: string): Group {
    let g = this.#groups.get(name);
    if (g === undefined) {
      const key = this.#groups.size >= this.#maxGroups ? OTHER_GROUP : name;
      g = this.#groups.get(key);
      if (g === undefined) {
        g = {
          ...{ requests: 0, successes: 0, errorCount: 0, integrityFailures: 0, bytesIn: 0, bytesOut: 0 },
          ...{ statusCodes: new Map(), errors: new Map(), histogram: new HdrHistogram() },
        };
        this.#groups.set(key, g);
      }
    }
    return g;
  }

  close(): GroupSummary[] {
    return [...this.#groups].map(([name, g]) => {
      const per = (total: number) => (g.requests === 0 ? 0 : total / g.requests);
      return {
        name,
        requests: g.requests,
        successes: g.successes,
        success: per(g.successes),
        errorCount: g.errorCount,
        integrityFailures: g.integrityFailures,
        latencies: latencySummary(g.histogram),
        bytesIn: { total: g.bytesIn, mean: per(g.bytesIn) },
        bytesOut: { total: g.bytesOut, mean: per(g.bytesOut) },
        statusCodes: Object.fromEntries([...g.statusCodes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
        errors: [...g.errors].map(([error, count]) => ({ error, count })),
        histogram: g.histogram,
      };
    });
  }
}

function countError(errors: Map<string, number>, error: string, n: number): void {
  const key = errors.has(error) || errors.size < MAX_GROUP_ERRORS ? error : OTHER_ERRORS;
  errors.set(key, (errors.get(key) ?? 0) + n);
}
