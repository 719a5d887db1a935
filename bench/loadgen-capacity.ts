/**
 * Capacity of lib/loadgen.ts: the highest open-loop rate it holds within 1% and without a backlog (searching
 * upward; a rate missed gets one more try, as other processes share this machine) against nginx
 * (1 worker on core 0, a 1,000-byte file; the generator on core 1), as a ratio of wrk's closed-loop maximum
 * (`wrk -t1 -c64 -d8s`, also on core 1) measured in the same run. Goal: 0.8x or more. Then the CPU per request
 * of an unpaced run, user space and kernel apart, next to wrk's.
 * Run: flock /tmp/cas-bench.lock bun bench/loadgen-capacity.ts [--seconds 4]
 */
import { parseArgs } from "node:util";
import type { Target } from "../lib/loadgen.ts";
import { highestHeldRate } from "./support/held-rate.ts";
import { measureRun } from "./support/measure-run.ts";
import { pinSelf } from "./support/figures.ts";
import { startNginx } from "./support/nginx.ts";
import { wrk, wrkRun } from "./support/wrk.ts";

if (import.meta.main) {
  const { values } = parseArgs({ options: { seconds: { type: "string", default: "4" } } });
  const seconds = Number(values.seconds);
  pinSelf(1);
  const nginx = await startNginx({ core: 0 });
  const target: Target = { method: "GET", url: nginx.fileUrl };
  try {
    const wrkBefore = wrk(nginx.fileUrl, { core: 1, connections: 64, seconds: 8 });
    console.log(`wrk -t1 -c64 -d8s: ${wrkBefore.toFixed(0)} req/s`);
    await measureRun(target, 10_000, 1); // warm up the JIT
    const best = await highestHeldRate(target, {
      seconds,
      from: Math.max(1000, Math.round((wrkBefore * 0.5) / 1000) * 1000),
      step: Math.max(1000, Math.round(wrkBefore / 20 / 1000) * 1000),
      below: wrkBefore * 1.5,
    });
    const after = wrkRun(nginx.fileUrl, { core: 1, connections: 64, seconds: 8 });
    const wrkAfter = after.requestsPerSecond;
    const wrkMean = (wrkBefore + wrkAfter) / 2;
    console.log(`wrk -t1 -c64 -d8s again: ${wrkAfter.toFixed(0)} req/s (mean ${wrkMean.toFixed(0)})`);
    const ratio = best / wrkMean;
    console.log(
      `highest rate held within 1%: ${best}/s = ${ratio.toFixed(2)}x wrk's closed-loop maximum ` +
        `(goal 0.80x): ${ratio >= 0.8 ? "PASS" : "FAIL"}`,
    );
    {
      // Where a request's CPU goes, unpaced (a paced run spins near its due times, which would count as work):
      // most of it is the kernel's (loopback TCP), for wrk as for us.
      const f = await measureRun(target, 0, seconds);
      const us = (cpu: number) => ((cpu * 1e6) / after.requests).toFixed(1);
      console.log(
        `CPU per request unpaced (${f.achieved.toFixed(0)}/s): user ${f.userPerRequestUs.toFixed(1)} µs, kernel ` +
          `${(f.cpuPerRequestUs - f.userPerRequestUs).toFixed(1)} µs; wrk: user ${us(after.userSeconds)} µs, ` +
          `kernel ${us(after.cpuSeconds - after.userSeconds)} µs`,
      );
    }
  } finally {
    await nginx.stop();
  }
}
