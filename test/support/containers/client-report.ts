/**
 * The client's JSON report (vegeta's fields plus `cas`), the parts the container tests read, and one
 * line that sums a run up for the figures.
 */
import { millis } from "./figures.ts";

export interface ClientReport {
  latencies: { mean: number; "50th": number; "90th": number; "99th": number; max: number; min: number };
  requests: number;
  rate: number;
  throughput: number;
  success: number;
  status_codes: Record<string, number>;
  errors: string[];
  cas: {
    integrity_failures: number;
    x_cache: { hit: number; miss: number };
    /** The generator's own lateness, and the wait for a connection slot (ns). */
    send_lag: { "99th": number; max: number };
    queue_wait: { "99th": number; max: number };
  };
}

/** The report a client printed on stdout (its only line that is a JSON object). */
export function parseReport(stdout: string): ClientReport {
  const line = stdout
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("{"));
  if (line === undefined) throw new Error(`no JSON report in the client's output:\n${stdout.slice(-2000)}`);
  // The report is the client's own JSON format; the tests check the fields they use.
  return JSON.parse(line) as ClientReport;
}

/** Requests that did not succeed (no response, or a status outside 200..399). */
export function failedRequests(report: ClientReport): number {
  return Object.entries(report.status_codes)
    .filter(([code]) => !(Number(code) >= 200 && Number(code) < 400))
    .reduce((sum, [, n]) => sum + n, 0);
}

/**
 * "2000 requests at 100.0/s, 100.00% ok, p50 0.41 ms, p90 1.20 ms, p99 8.10 ms, max 40.00 ms (send lag p99
 * 0.02 ms)": the send lag says how much of the latency is the generator's own.
 */
export function summary(report: ClientReport): string {
  const l = report.latencies;
  return (
    `${report.requests} requests at ${report.rate.toFixed(1)}/s, ${(report.success * 100).toFixed(2)}% ok, ` +
    `p50 ${millis(l["50th"])}, p90 ${millis(l["90th"])}, p99 ${millis(l["99th"])}, max ${millis(l.max)} ` +
    `(send lag p99 ${millis(report.cas.send_lag["99th"])}, max ${millis(report.cas.send_lag.max)})`
  );
}
