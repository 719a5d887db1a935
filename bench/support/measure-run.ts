/** One open-loop run of lib/loadgen.ts at a fixed rate, with the figures the generator benchmarks print. */
import { HdrHistogram } from "../../lib/report/hdr-histogram.ts";
import { runLoad, type Target } from "../../lib/loadgen.ts";

export interface RunFigures {
  rate: number;
  requests: number;
  /** Requests over the span from the first to the last send, as vegeta computes `rate`. */
  achieved: number;
  /** Successes over first send to last response, vegeta's `throughput`. */
  throughput: number;
  successes: number;
  latency: HdrHistogram;
  sendLag: HdrHistogram;
  /** Send lag minus the wait for a max-inflight slot or connection: the generator's own lateness. */
  ownLag: HdrHistogram;
  /** Requests sent in each 100 ms window from the first due time. */
  windows: number[];
  cpuPerRequestUs: number;
  /** The part of it in user space (the rest is the kernel's). */
  userPerRequestUs: number;
  errors: Map<string, number>;
}

/** One open-loop run at `rate` for `seconds`, recording what the rate and latency benchmarks need. */
export async function measureRun(target: Target, rate: number, seconds: number): Promise<RunFigures> {
  const latency = new HdrHistogram();
  const sendLag = new HdrHistogram();
  const ownLag = new HdrHistogram();
  const windows = new Array<number>(Math.ceil(seconds * 10)).fill(0);
  const errors = new Map<string, number>();
  let firstSent = Infinity;
  let lastSent = -Infinity;
  let lastEnd = -Infinity;
  let successes = 0;
  const cpu = process.cpuUsage();
  const summary = await runLoad({
    next: () => target,
    rate,
    durationMs: seconds * 1000,
    onResult(r) {
      latency.record(r.latencyNs);
      sendLag.record(Math.max(0, r.sendLagNs));
      ownLag.record(Math.max(0, r.sendLagNs - (r.queueNs ?? 0)));
      if (r.sent < firstSent) firstSent = r.sent;
      if (r.sent > lastSent) lastSent = r.sent;
      const end = r.due + r.latencyNs / 1e6;
      if (end > lastEnd) lastEnd = end;
      if (r.error === undefined) successes++;
      else errors.set(r.error, (errors.get(r.error) ?? 0) + 1);
      const start = r.due - (r.seq * 1000) / rate; // request i is due at start + i/rate
      const w = Math.floor((r.sent - start) / 100);
      if (w >= 0 && w < windows.length) windows[w]!++;
    },
  });
  const used = process.cpuUsage(cpu); // microseconds
  return {
    rate,
    requests: summary.requests,
    achieved: (summary.requests - 1) / ((lastSent - firstSent) / 1000),
    throughput: successes / ((lastEnd - firstSent) / 1000),
    successes,
    latency,
    sendLag,
    ownLag,
    windows,
    cpuPerRequestUs: (used.user + used.system) / summary.requests,
    userPerRequestUs: used.user / summary.requests,
    errors,
  };
}
