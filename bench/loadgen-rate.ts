/**
 * Rate accuracy of lib/loadgen.ts against nginx (1 worker on core 0, a 1,000-byte file; the generator on core 1):
 * at 1,000 and 20,000 req/s for 10 s the achieved rate must be within 1% of the target and every 100 ms window
 * must hold within 5% of its share (no bursts). Prints the worst window and the send lag.
 * Run: flock /tmp/cas-bench.lock bun bench/loadgen-rate.ts [--seconds 10] [--rates 1000,20000]
 */
import { parseArgs } from "node:util";
import type { Target } from "../lib/loadgen.ts";
import { loadAverage, pinSelf } from "./support/figures.ts";
import { measureRun } from "./support/measure-run.ts";
import { startNginx } from "./support/nginx.ts";

const ms = (ns: number) => (ns / 1e6).toFixed(3);

if (import.meta.main) {
  const { values } = parseArgs({
    options: { seconds: { type: "string", default: "10" }, rates: { type: "string", default: "1000,20000" } },
  });
  const seconds = Number(values.seconds);
  const rates = values.rates.split(",").map(Number);
  pinSelf(1);
  const nginx = await startNginx({ core: 0 });
  const target: Target = { method: "GET", url: nginx.fileUrl };
  let allPass = true;
  try {
    await measureRun(target, 2000, 1); // warm up the JIT and the connections
    for (const rate of rates) {
      const f = await measureRun(target, rate, seconds);
      const share = rate / 10;
      let worst = 0;
      let worstAt = 0;
      f.windows.forEach((count, i) => {
        const off = Math.abs(count - share) / share;
        if (off > worst) [worst, worstAt] = [off, i];
      });
      const rateOff = Math.abs(f.achieved - rate) / rate;
      const pass = rateOff <= 0.01 && worst <= 0.05 && f.successes === f.requests;
      allPass &&= pass;
      console.log(`rate ${rate}/s for ${seconds}s: ${pass ? "PASS" : "FAIL"}`);
      console.log(
        `  requests ${f.requests} (expected ${rate * seconds}), success ${f.successes}, ` +
          `achieved ${f.achieved.toFixed(1)}/s (${((f.achieved / rate) * 100).toFixed(2)}% of target), ` +
          `throughput ${f.throughput.toFixed(1)}/s`,
      );
      console.log(
        `  per-100ms sends: expected ${share}, min ${Math.min(...f.windows)}, max ${Math.max(...f.windows)}, ` +
          `worst window #${worstAt} ${f.windows[worstAt]} (${(worst * 100).toFixed(2)}% off)`,
      );
      console.log(
        `  latency ms p50 ${ms(f.latency.quantile(0.5))} p90 ${ms(f.latency.quantile(0.9))} ` +
          `p99 ${ms(f.latency.quantile(0.99))} max ${ms(f.latency.max)}`,
      );
      console.log(
        `  send lag ms p50 ${ms(f.sendLag.quantile(0.5))} p99 ${ms(f.sendLag.quantile(0.99))} ` +
          `p99.9 ${ms(f.sendLag.quantile(0.999))} max ${ms(f.sendLag.max)}; the generator's own: ` +
          `p99 ${ms(f.ownLag.quantile(0.99))} p99.9 ${ms(f.ownLag.quantile(0.999))} max ${ms(f.ownLag.max)}`,
      );
      console.log(`  generator CPU ${f.cpuPerRequestUs.toFixed(1)} µs/request; ${loadAverage()}`);
      if (f.errors.size > 0) console.log(`  errors ${JSON.stringify(Object.fromEntries(f.errors))}`);
    }
  } finally {
    await nginx.stop();
  }
  process.exit(allPass ? 0 : 1);
}
