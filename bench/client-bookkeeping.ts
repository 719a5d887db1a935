/**
 * CPU per result of the client's own bookkeeping, without any network: made-up results of a `--url` run at
 * 40,000/s (the target lib/client/url-targets.ts builds, 200s of 1,000 bytes, latencies 0.1-3 ms) fed through
 * what lib/client/attack.ts does per result: AttackMetrics.add, then the sink (--results json or csv, the
 * progress line). Next to two anchors measured in the same run: the loop itself with an empty onResult, and one
 * HdrHistogram.record per result. Medians of interleaved rounds, in ns per result.
 * Run: flock /tmp/cas-bench.lock bun bench/client-bookkeeping.ts [--results 2000000] [--rounds 5]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startProgress } from "../lib/client/progress.ts";
import { openResultsWriter, type ResultsFormat } from "../lib/client/results-stream.ts";
import { namedTargets } from "../lib/client/url-targets.ts";
import type { ShotResult } from "../lib/loadgen.ts";
import { AttackMetrics } from "../lib/report/attack-metrics.ts";
import { HdrHistogram } from "../lib/report/hdr-histogram.ts";
import { median } from "./support/figures.ts";

const T0 = Date.UTC(2026, 10, 25, 15, 0, 0) + 0.3;
const RATE = 40_000;
/** Results built up front and reused (due time and seq rewritten), so building them costs nothing measured. */
const POOL = 1 << 16;

function pool(): ShotResult[] {
  const [target] = namedTargets([{ method: "GET", url: "http://127.0.0.1:8080/file", headers: [] }], {
    headers: {},
    verify: true,
  });
  let s = 12345;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return Array.from({ length: POOL }, (_, seq): ShotResult => {
    const sendLagNs = Math.round(rand() * 200_000);
    return {
      seq,
      target: target!,
      due: T0,
      sent: T0,
      latencyNs: Math.round(100_000 * Math.exp(rand() * 3.4)),
      sendLagNs,
      queueNs: rand() < 0.1 ? Math.round(sendLagNs / 2) : 0,
      slotWaitNs: 0,
      status: 200,
      bytesIn: 1_000,
      bytesOut: 0,
    };
  });
}

type Mode =
  "empty loop" | "one histogram record" | "metrics" | "metrics + progress" | `metrics + --results ${ResultsFormat}`;

/** ns per result of feeding `count` results to what `mode` builds. */
function measure(mode: Mode, results: ShotResult[], count: number, dir: string): number {
  const h = new HdrHistogram();
  const metrics = new AttackMetrics({ unpaced: false });
  const format = mode.endsWith("json") ? "json" : mode.endsWith("csv") ? "csv" : undefined;
  const writer = format === undefined ? undefined : openResultsWriter(join(dir, `results.${format}`), format);
  // a progress line that is never drawn within the run: its cost per result is what counts
  const progress =
    mode === "metrics + progress"
      ? startProgress({ durationMs: 0, write: () => {}, intervalMs: 3_600_000 })
      : undefined;
  let onResult: (r: ShotResult) => void;
  if (mode === "empty loop") onResult = () => {};
  else if (mode === "one histogram record") onResult = (r) => h.record(Math.max(0, Math.round(r.latencyNs)));
  else {
    // as lib/client/attack.ts: runSchedule's onResult, then its sink
    const sink = (r: ShotResult) => {
      writer?.write(r);
      progress?.add(r);
    };
    onResult = (r) => {
      metrics.add(r);
      sink(r);
    };
  }
  const started = Bun.nanoseconds();
  for (let i = 0; i < count; i++) {
    const r = results[i & (POOL - 1)]!;
    r.seq = i;
    r.due = T0 + (i * 1000) / RATE;
    r.sent = r.due + r.sendLagNs / 1e6;
    onResult(r);
  }
  const elapsed = Bun.nanoseconds() - started;
  metrics.close();
  writer?.close();
  progress?.stop();
  return elapsed / count;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { results: { type: "string", default: "2000000" }, rounds: { type: "string", default: "5" } },
  });
  const count = Number(values.results);
  const rounds = Number(values.rounds);
  const results = pool();
  const dir = mkdtempSync(join(tmpdir(), "cas-bench-bookkeeping-"));
  const modes: Mode[] = [
    "empty loop",
    "one histogram record",
    "metrics",
    "metrics + progress",
    "metrics + --results json",
    "metrics + --results csv",
  ];
  try {
    for (const mode of modes) measure(mode, results, 200_000, dir); // warm up the JIT
    const byMode = new Map<Mode, number[]>(modes.map((m) => [m, []]));
    for (let round = 0; round < rounds; round++) {
      for (const mode of round % 2 === 0 ? modes : [...modes].reverse()) {
        byMode.get(mode)!.push(measure(mode, results, count, dir));
      }
    }
    const ns = (m: Mode) => median(byMode.get(m)!);
    const loop = ns("empty loop");
    const record = ns("one histogram record") - loop;
    console.log(`${count.toLocaleString("en-US")} results per run, median of ${rounds} interleaved rounds:`);
    console.log(`  empty loop: ${loop.toFixed(1)} ns/result (anchor: the loop itself)`);
    console.log(`  one HdrHistogram.record: +${record.toFixed(1)} ns/result (anchor)`);
    for (const m of modes.slice(2)) {
      const own = ns(m) - loop;
      console.log(`  ${m}: +${own.toFixed(1)} ns/result = ${(own / record).toFixed(1)}x one histogram record`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
