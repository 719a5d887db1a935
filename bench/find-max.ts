/**
 * `--find-max` against nginx (1 worker on core 0, a 1,000-byte file; the generator on core 1): the rate the
 * client's capacity search reports, next to the highest rate lib/loadgen.ts holds against the same nginx
 * (bench/loadgen-capacity.ts's search, bench/support/held-rate.ts) and wrk's closed-loop maximum
 * (`wrk -t1 -c64 -d8s` on core 1), all measured in the same run. nginx outruns one generator core, so the honest
 * answer is "generator-bound": the search must stop there and say so rather than report it as nginx's capacity.
 * Run: flock /tmp/cas-bench.lock bun bench/find-max.ts [--step 4s] [--max-time 150s] [--seconds 4]
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../lib/common/program-process.ts";
import type { Target } from "../lib/loadgen.ts";
import { formatCount, loadAverage, pinSelf } from "./support/figures.ts";
import { highestHeldRate } from "./support/held-rate.ts";
import { measureRun } from "./support/measure-run.ts";
import { startNginx } from "./support/nginx.ts";
import { wrk } from "./support/wrk.ts";

// any: the client's JSON report, read field by field
type Report = Record<string, any>;

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      step: { type: "string", default: "4s" },
      "max-time": { type: "string", default: "150s" },
      seconds: { type: "string", default: "4" },
    },
  });
  pinSelf(1);
  const nginx = await startNginx({ core: 0 });
  const target: Target = { method: "GET", url: nginx.fileUrl };
  try {
    const wrkMax = wrk(nginx.fileUrl, { core: 1, connections: 64, seconds: 8 });
    console.log(`wrk -t1 -c64 -d8s: ${formatCount(wrkMax)} req/s; ${loadAverage()}`);

    // the client process on core 1, as the in-process generator below
    const first = Math.max(1000, Math.round(wrkMax / 8 / 1000) * 1000);
    const args = ["--url", nginx.fileUrl, "--find-max", "--rate", String(first), "--step-duration", values.step];
    args.push("--max-time", values["max-time"], "--quiet", "--log-level", "warn");
    console.log(`bun client.ts ${args.join(" ")} (core 1):`);
    // nothing else runs meanwhile: a blocking spawn keeps this short
    const search = Bun.spawnSync(
      ["taskset", "-c", "1", process.execPath, resolve(PROJECT_ROOT, "client.ts"), ...args],
      { cwd: PROJECT_ROOT, stdout: "pipe", stderr: "pipe" },
    );
    const [stdout, stderr, code] = [search.stdout.toString(), search.stderr.toString(), search.exitCode];
    if (stdout === "") throw new Error(`the client wrote no report (exit ${code}): ${stderr}`);
    const cas = (JSON.parse(stdout) as Report).cas;
    for (const s of cas.steps as Report[]) {
      console.log(
        `  ${formatCount(s.rate_asked)}/s: ${s.outcome}, achieved ${formatCount(s.rate_achieved)}/s, ` +
          `success ${(s.success * 100).toFixed(2)}%, p50 ${(s.latencies["50th"] / 1e6).toFixed(3)} ms, ` +
          `p99 ${(s.latencies["99th"] / 1e6).toFixed(3)} ms` +
          (s.outcome === "pass" ? "" : `: ${[...s.failed, ...s.generator].join("; ")}`),
      );
    }
    console.log(`  ${cas.capacity.verdict} (exit ${code}); ${loadAverage()}`);

    await measureRun(target, 10_000, 1); // warm up the JIT
    const held = await highestHeldRate(target, {
      seconds: Number(values.seconds),
      from: Math.max(1000, Math.round((wrkMax * 0.25) / 1000) * 1000),
      step: Math.max(1000, Math.round(wrkMax / 20 / 1000) * 1000),
      below: wrkMax * 1.5,
    });
    const found: number | null = cas.capacity.rate;
    console.log(
      `--find-max: ${found === null ? "none" : formatCount(found)} req/s; highest rate held in-process: ` +
        `${formatCount(held)} req/s; wrk: ${formatCount(wrkMax)} req/s`,
    );
    if (found !== null && held > 0) {
      console.log(
        `find-max / held-rate = ${(found / held).toFixed(2)}x, find-max / wrk = ${(found / wrkMax).toFixed(2)}x; ` +
          `the search's limit was ${code === 3 ? "the generator (exit 3): correct, nginx outruns one core" : `exit ${code}`}`,
      );
    }
  } finally {
    await nginx.stop();
  }
}
