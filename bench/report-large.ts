/**
 * Reporting a large results file: the time and peak RSS of `bun client.ts report --type text` over 10 million
 * records (JSON lines, then CSV), generated in a temp dir and deleted afterwards (about 3.4 GB and 1.9 GB), next
 * to `wc -l` and an awk mean of the latency field over the same file in the same run (the file is in the page
 * cache for all three). vegeta's batch reporter runs out of memory on a 1.5 GB file (tsenart/vegeta#132).
 * Goal: peak RSS under 150 MiB. Run: flock /tmp/cas-bench.lock bun bench/report-large.ts [--records 10000000]
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { openResultsWriter, type ResultsFormat } from "../lib/client/results-stream.ts";
import { PROJECT_ROOT } from "../lib/common/program-process.ts";
import type { ShotResult } from "../lib/loadgen.ts";
import { formatCount, loadAverage } from "./support/figures.ts";

const T0 = Date.UTC(2026, 10, 25, 15, 0, 0) + 0.3;
const PEERS = ["http://10.0.0.1:18001", "http://10.0.0.2:18001", "http://10.0.0.3:18001"];
const KEY = "a".repeat(64);

/** Writes `count` made-up results of a 20,000/s run over 3 peers: hits, misses, 404s and timeouts. */
function generate(path: string, format: ResultsFormat, count: number): void {
  const writer = openResultsWriter(path, format);
  let s = 12345;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const targets = PEERS.map((peer) => ({ name: peer, method: "GET", url: `${peer}/cas/${KEY}` }));
  for (let seq = 0; seq < count; seq++) {
    const due = T0 + seq / 20;
    const roll = rand();
    const status = roll < 0.01 ? 404 : roll < 0.012 ? 0 : 200;
    const r: ShotResult = {
      seq,
      target: targets[seq % 3]!,
      due,
      sent: due,
      latencyNs: Math.round(150_000 * Math.exp(rand() * 5)) + (status === 0 ? 30e9 : 0),
      sendLagNs: Math.round(rand() * 300_000),
      queueNs: 0,
      slotWaitNs: 0,
      status,
      bytesIn: status === 200 ? 25_000 : 0,
      bytesOut: 0,
    };
    if (status === 404) r.error = "404 Not Found";
    if (status === 0) r.error = "timeout";
    if (status !== 0) r.cache = rand() < 0.9 ? "HIT" : "MISS";
    writer.write(r);
  }
  writer.close();
}

interface Timed {
  seconds: number;
  peakMiB: number;
  stdout: string;
}

/** Runs `argv` under GNU time: wall seconds and peak RSS. */
function timed(argv: string[]): Timed {
  const out = Bun.spawnSync(["/usr/bin/time", "-f", "%e %M", ...argv], { stdout: "pipe", stderr: "pipe" });
  const last = out.stderr.toString().trimEnd().split("\n").at(-1) ?? "";
  const [seconds, kb] = last.split(" ").map(Number);
  if (!Number.isFinite(seconds) || !Number.isFinite(kb)) throw new Error(`cannot time ${argv.join(" ")}: ${last}`);
  return { seconds: seconds!, peakMiB: kb! / 1024, stdout: out.stdout.toString() };
}

const AWK_MEAN: Record<ResultsFormat, string> = {
  csv: "-F,",
  json: '-F"latency":',
};

if (import.meta.main) {
  const { values } = parseArgs({ options: { records: { type: "string", default: "10000000" } } });
  const records = Number(values.records);
  const dir = mkdtempSync(join(tmpdir(), "cas-bench-report-"));
  try {
    for (const format of ["json", "csv"] as const) {
      const path = join(dir, `results.${format}`);
      const started = performance.now();
      generate(path, format, records);
      const size = statSync(path).size;
      console.log(
        `${format}: ${formatCount(records)} records, ${(size / 2 ** 30).toFixed(2)} GiB, written in ` +
          `${((performance.now() - started) / 1000).toFixed(1)} s; ${loadAverage()}`,
      );
      const wc = timed(["wc", "-l", path]);
      // the mean latency: CSV's third column; in JSON lines the number after "latency":
      const field = format === "csv" ? "$3" : 'substr($2, 1, index($2, ",") - 1)';
      const awk = timed([
        "mawk",
        AWK_MEAN[format],
        `{ n++; s += ${field} } END { printf "%d %.0f\\n", n, s / n }`,
        path,
      ]);
      const report = timed([process.execPath, resolve(PROJECT_ROOT, "client.ts"), "report", "--type", "text", path]);
      const requests = /^Requests +\[total, rate, throughput\] +(\d+),/.exec(report.stdout)?.[1];
      const awkMean = Number(awk.stdout.trim().split(" ")[1]) / 1e6;
      const mean = /Latencies +\[min, mean, 50, 90, 95, 99, max\] +[^,]+, ([^,]+),/.exec(report.stdout)?.[1];
      console.log(`  wc -l:  ${wc.seconds.toFixed(2)} s, peak RSS ${wc.peakMiB.toFixed(1)} MiB`);
      console.log(
        `  awk mean latency (${awkMean.toFixed(3)} ms): ${awk.seconds.toFixed(2)} s, peak RSS ${awk.peakMiB.toFixed(1)} MiB`,
      );
      console.log(
        `  bun client.ts report --type text: ${report.seconds.toFixed(2)} s = ${(report.seconds / wc.seconds).toFixed(1)}x wc -l, ` +
          `${(report.seconds / awk.seconds).toFixed(2)}x awk, ${((report.seconds * 1e6) / records).toFixed(2)} µs/record; ` +
          `peak RSS ${report.peakMiB.toFixed(1)} MiB (goal < 150 MiB): ${report.peakMiB < 150 ? "PASS" : "FAIL"}; ` +
          `requests ${requests}, mean ${mean}; ${loadAverage()}`,
      );
      rmSync(path);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
