/**
 * What the load generator costs at a modest rate: CPU per request of lib/loadgen.ts at 1,000 req/s against
 * nginx (1 worker on core 0, a 1,000-byte file; the generator on core 1), next to wrk's CPU per request at its
 * own closed-loop rate with one connection (`wrk -t1 -c1`, also on core 1) in the same run. Goal: at most 3x
 * wrk's. Also prints the latency and send lag, so a cheaper pacer that sends late shows here. A third figure in
 * the same rounds is the floor of open-loop sending here (bench/support/open-loop-floor.c: sleep until due, send,
 * block on the response, in C): what two wake-ups per request cost on this machine before any code of ours.
 * Run: flock /tmp/cas-bench.lock bun bench/loadgen-cost.ts [--seconds 10] [--rate 1000]
 */
import { parseArgs } from "node:util";
import type { Target } from "../lib/loadgen.ts";
import { loadAverage, median, pinSelf } from "./support/figures.ts";
import { measureRun } from "./support/measure-run.ts";
import { startNginx } from "./support/nginx.ts";
import { openLoopFloor } from "./support/open-loop-floor.ts";
import { wrkRun } from "./support/wrk.ts";

const ms = (ns: number) => (ns / 1e6).toFixed(3);

if (import.meta.main) {
  const { values } = parseArgs({
    options: { seconds: { type: "string", default: "10" }, rate: { type: "string", default: "1000" } },
  });
  const seconds = Number(values.seconds);
  const rate = Number(values.rate);
  pinSelf(1);
  const nginx = await startNginx({ core: 0 });
  const target: Target = { method: "GET", url: nginx.fileUrl };
  try {
    await measureRun(target, rate, 1); // warm up the JIT and the connection
    const ours: number[] = [];
    const anchor: number[] = [];
    const floor: number[] = [];
    for (let round = 1; round <= 3; round++) {
      const w = wrkRun(nginx.fileUrl, { core: 1, connections: 1, seconds: Math.min(seconds, 5) });
      const wrkUs = (w.cpuSeconds * 1e6) / w.requests;
      anchor.push(wrkUs);
      const c = openLoopFloor(nginx.fileUrl, { rate, seconds, core: 1 });
      floor.push(c.cpuPerRequestUs);
      const f = await measureRun(target, rate, seconds);
      ours.push(f.cpuPerRequestUs);
      console.log(
        `round ${round}: wrk -c1 ${w.requestsPerSecond.toFixed(0)} req/s at ${wrkUs.toFixed(1)} µs CPU/request; ` +
          `C open-loop floor at ${rate}/s: ${c.cpuPerRequestUs.toFixed(1)} µs (wakes ${c.meanWakeLateUs.toFixed(0)} µs late); ` +
          `ours at ${rate}/s: ${f.cpuPerRequestUs.toFixed(1)} µs CPU/request, ${f.successes}/${f.requests} ok, ` +
          `latency p50 ${ms(f.latency.quantile(0.5))} ms p99 ${ms(f.latency.quantile(0.99))} ms, ` +
          `own send lag p50 ${ms(f.ownLag.quantile(0.5))} ms p99 ${ms(f.ownLag.quantile(0.99))} ms, ${loadAverage()}`,
      );
    }
    const ratio = median(ours) / median(anchor);
    console.log(
      `CPU per request at ${rate}/s: ours ${median(ours).toFixed(1)} µs, wrk ${median(anchor).toFixed(1)} µs ` +
        `= ${ratio.toFixed(2)}x wrk (goal at most 3x): ${ratio <= 3 ? "PASS" : "FAIL"}; the C open-loop floor ` +
        `${median(floor).toFixed(1)} µs is ${(median(floor) / median(anchor)).toFixed(2)}x wrk, ours ` +
        `${(median(ours) / median(floor)).toFixed(2)}x the floor`,
    );
  } finally {
    await nginx.stop();
  }
}
