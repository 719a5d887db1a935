/**
 * What the warm-up buys: p99 of a short run at 10,000 req/s against nginx (1 worker on core 0, a 1,000-byte
 * file; the client on core 1), as a real `bun client.ts` process, with `--warmup 0` (the anchor: start-up
 * lands in the measured requests) and with the default warm-up, rounds interleaved. Goal: the warmed-up
 * run's p99 is the steady state's, not the start-up's.
 * Run: flock /tmp/cas-bench.lock bun bench/warmup.ts [--rounds 3] [--seconds 10] [--rate 10000]
 */
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../lib/common/program-process.ts";
import { loadAverage, median } from "./support/figures.ts";
import { startNginx } from "./support/nginx.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "10" },
    rate: { type: "string", default: "10000" },
  },
});
const rounds = Number(values.rounds);

/** One client run; its JSON report's p99 and warm-up, in ms. */
async function run(url: string, warmup: string): Promise<{ p99: number; max: number; warmupMs: number }> {
  const proc = Bun.spawn(
    [
      ...["taskset", "-c", "1", process.execPath, `${PROJECT_ROOT}/client.ts`, "--url", url],
      ...["--rate", values.rate!, "--duration", `${values.seconds}s`, "--warmup", warmup, "--quiet"],
    ],
    { stdout: "pipe", stderr: "ignore", env: { ...process.env, ATTACK_WARMUP: "" } },
  );
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const report = JSON.parse(out);
  return {
    p99: report.latencies["99th"] / 1e6,
    max: report.latencies.max / 1e6,
    warmupMs: (report.cas.warmup?.duration ?? 0) / 1e6,
  };
}

const nginx = await startNginx({ core: 0 });
try {
  const cold: number[] = [];
  const warm: number[] = [];
  console.log(`client.ts at ${values.rate}/s for ${values.seconds}s against nginx, --warmup 0 vs the default`);
  for (let round = 1; round <= rounds; round++) {
    const a = await run(nginx.fileUrl, "0");
    const b = await run(nginx.fileUrl, "1s");
    cold.push(a.p99);
    warm.push(b.p99);
    console.log(
      `round ${round}: --warmup 0 p99 ${a.p99.toFixed(3)} ms (max ${a.max.toFixed(1)} ms); ` +
        `warmed up ${b.warmupMs.toFixed(0)} ms: p99 ${b.p99.toFixed(3)} ms (max ${b.max.toFixed(1)} ms), ${loadAverage()}`,
    );
  }
  const ratio = median(warm) / median(cold);
  console.log(
    `median p99: --warmup 0 ${median(cold).toFixed(3)} ms, warmed up ${median(warm).toFixed(3)} ms = ${ratio.toFixed(2)}x`,
  );
} finally {
  await nginx.stop();
}
