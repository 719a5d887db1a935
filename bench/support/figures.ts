/**
 * Small helpers the benchmarks share for turning measurements into printed figures: medians, counts with
 * thousands separators, and a process's CPU time read from /proc (Linux only).
 */
import { readFileSync } from "node:fs";

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
