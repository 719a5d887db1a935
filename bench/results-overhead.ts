/**
 * What `--results` costs the generator: open-loop runs against nginx (1 worker on core 0, a 1,000-byte file; the
 * generator on core 1) doing the client's own work per result (AttackMetrics, plus the results writer), first at
 * 20,000 req/s without a results file (the anchor), with JSON lines and with CSV, in interleaved rounds; then the
 * highest rate the generator holds (our verdict: no exit 3, every request answered) without and with
 * `--results json`, searching upward in the same run. The file goes to a temp dir and is deleted; the RSS a
 * run kept (after a full collection) shows that writing results does not grow memory with the run.
 * Run: flock /tmp/cas-bench.lock bun bench/results-overhead.ts [--seconds 5] [--rounds 3]
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openResultsWriter, type ResultsFormat } from "../lib/client/results-stream.ts";
import { runLoad, type Target } from "../lib/loadgen.ts";
import { AttackMetrics } from "../lib/report/attack-metrics.ts";
import { generatorShortfalls } from "../lib/report/verdict.ts";
import { cpuSeconds, formatCount, loadAverage, median, pinSelf } from "./support/figures.ts";
import { startNginx } from "./support/nginx.ts";

type Mode = "none" | ResultsFormat;

interface Figures {
  mode: Mode;
  rate: number;
  requests: number;
  achieved: number;
  ownLagP99Ms: number;
  cpuPerRequestUs: number;
  /** Kept the schedule (no exit 3) and every request answered 2xx. */
  held: boolean;
  shortfalls: string[];
  fileBytes: number;
  /** RSS after the run and a full collection, less RSS before it: what the run kept. */
  rssGrowthMiB: number;
}

async function run(target: Target, rate: number, seconds: number, mode: Mode, dir: string): Promise<Figures> {
  const path = join(dir, `results.${mode}`);
  const writer = mode === "none" ? undefined : openResultsWriter(path, mode);
  const metrics = new AttackMetrics();
  Bun.gc(true);
  const rssBefore = process.memoryUsage.rss();
  const cpu = process.cpuUsage();
  await runLoad({
    next: () => target,
    rate,
    durationMs: seconds * 1000,
    onResult(r) {
      writer?.write(r);
      metrics.add(r);
    },
  });
  writer?.close();
  const cpuUsed = cpuSeconds(cpu);
  Bun.gc(true); // what the run kept, not the garbage it left
  const rssGrowthMiB = (process.memoryUsage.rss() - rssBefore) / 2 ** 20;
  const s = metrics.close();
  const shortfalls = generatorShortfalls(s, 10);
  const fileBytes = writer === undefined ? 0 : statSync(path).size;
  if (writer !== undefined) rmSync(path);
  return {
    mode,
    rate,
    requests: s.requests,
    achieved: s.achievedRate,
    ownLagP99Ms: s.sendLag.p99 / 1e6,
    cpuPerRequestUs: (cpuUsed * 1e6) / s.requests,
    held: shortfalls.length === 0 && s.successes === s.requests,
    shortfalls,
    fileBytes,
    rssGrowthMiB,
  };
}

function line(f: Figures): string {
  return (
    `  ${f.mode.padEnd(4)} ${formatCount(f.rate)}/s: ${f.held ? "held" : "NOT held"}, achieved ${formatCount(f.achieved)}/s, ` +
    `own send lag p99 ${f.ownLagP99Ms.toFixed(2)} ms, CPU ${f.cpuPerRequestUs.toFixed(1)} µs/request` +
    (f.mode === "none"
      ? ""
      : `, file ${(f.fileBytes / f.requests).toFixed(0)} B/record, RSS +${f.rssGrowthMiB.toFixed(1)} MiB`) +
    `, ${loadAverage()}${f.held ? "" : ` (${f.shortfalls.join("; ")})`}`
  );
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { seconds: { type: "string", default: "5" }, rounds: { type: "string", default: "3" } },
  });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  pinSelf(1);
  const nginx = await startNginx({ core: 0 });
  const dir = mkdtempSync(join(tmpdir(), "cas-bench-results-"));
  const target: Target = { method: "GET", url: nginx.fileUrl };
  try {
    await run(target, 10_000, 1, "json", dir); // warm up the JIT, writer included
    const modes: Mode[] = ["none", "json", "csv"];
    const byMode = new Map<Mode, Figures[]>(modes.map((m) => [m, []]));
    console.log(`20,000 req/s for ${seconds} s, ${rounds} interleaved rounds:`);
    for (let round = 0; round < rounds; round++) {
      for (const mode of round % 2 === 0 ? modes : [...modes].reverse()) {
        const f = await run(target, 20_000, seconds, mode, dir);
        byMode.get(mode)!.push(f);
        console.log(line(f));
      }
    }
    const cpu = (m: Mode) => median(byMode.get(m)!.map((f) => f.cpuPerRequestUs));
    const anchor = cpu("none");
    console.log(`median CPU per request: without --results ${anchor.toFixed(1)} µs (anchor)`);
    for (const m of ["json", "csv"] as const) {
      const held = byMode.get(m)!.filter((f) => f.held).length;
      console.log(
        `  --results ${m}: ${cpu(m).toFixed(1)} µs = ${(cpu(m) / anchor).toFixed(2)}x the anchor, ` +
          `+${(cpu(m) - anchor).toFixed(1)} µs per record; held 20,000/s in ${held} of ${rounds} rounds`,
      );
    }

    // capacity: the highest rate held, searched upward with both modes taking turns at each rate (so that both see
    // the same machine), each rate tried twice before it counts as missed
    console.log(
      "highest rate held (no exit-3 shortfall, every request answered), 4 s per rate, up from 4,000/s in steps of 4,000/s:",
    );
    const best = new Map<Mode, number>([
      ["none", 0],
      ["json", 0],
    ]);
    const searching = new Set<Mode>(best.keys());
    for (let rate = 4_000; rate <= 80_000 && searching.size > 0; rate += 4_000) {
      for (const mode of [...searching]) {
        let ok = false;
        for (let attempt = 0; attempt < 2 && !ok; attempt++) {
          const f = await run(target, rate, 4, mode, dir);
          console.log(line(f));
          ok = f.held;
        }
        if (ok) best.set(mode, rate);
        else searching.delete(mode);
      }
    }
    const without = best.get("none")!;
    const withJson = best.get("json")!;
    console.log(
      `capacity without --results ${formatCount(without)}/s (anchor), with --results json ${formatCount(withJson)}/s ` +
        `= ${without === 0 ? "-" : (withJson / without).toFixed(2)}x`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await nginx.stop();
  }
}
