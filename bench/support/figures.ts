/**
 * What the benchmarks share to measure fairly and print figures: pinning to a core, CPU time of this process
 * and of another (from /proc, Linux only), the load average, medians and counts with thousands separators.
 */
import { readdirSync, readFileSync } from "node:fs";

/** The median; for an even count, the mean of the two middle values. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A whole number with thousands separators: 42638 -> "42,638". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** CPU seconds (user + system, all threads) used so far by `pid`, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may hold spaces; after its ")" come state, ..., utime (12th) and stime (13th),
  // in clock ticks of 1/100 s.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Pins every thread of this process (and the threads it starts later) to one core, and raises their priority
 * (nice -10) so that unrelated processes on this shared machine preempt the measurement less.
 */
export function pinSelf(core: number): void {
  const result = Bun.spawnSync(["taskset", "-a", "-cp", String(core), String(process.pid)], { stdout: "ignore" });
  if (result.exitCode !== 0) throw new Error(`taskset failed for core ${core}`);
  // nice is per thread on Linux; threads started later inherit it from the one starting them
  const threads = readdirSync(`/proc/${process.pid}/task`);
  Bun.spawnSync(["renice", "-n", "-10", "-p", ...threads], { stdout: "ignore", stderr: "ignore" });
}

/** CPU seconds (user + system) this process used since `since` (a process.cpuUsage() value). */
export function cpuSeconds(since?: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

/** The 1-minute load average: other processes on this 2-core machine can stall a run, and this shows when. */
export function loadAverage(): string {
  return `load average ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]}`;
}
