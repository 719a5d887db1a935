/**
 * What the fault suite (test/faults/) shares: its two lengths (bounded for CI, full with FAULTS_FULL=1) and
 * the one line of figures each case prints, `fault | case | parameters | result | promise held`, which
 * `FAULTS_FULL=1 bun test test/faults | grep '^fault |'` turns into the suite's table.
 */
import { readdirSync, readFileSync } from "node:fs";

/** True for the full-length run (FAULTS_FULL=1); false for the bounded one CI runs inside bun test. */
export const FULL = process.env.FAULTS_FULL === "1";

/** `bounded` normally, `full` with FAULTS_FULL=1. */
export function scaled<T>(bounded: T, full: T): T {
  return FULL ? full : bounded;
}

type Figures = Record<string, string | number | boolean>;

/** Prints the case's line of figures; `held` says whether the promise under test held. */
export function reportFigures(name: string, parameters: Figures, result: Figures, held: boolean): void {
  const show = (f: Figures) =>
    Object.entries(f)
      .map(([k, v]) => `${k}=${typeof v === "number" && !Number.isInteger(v) ? v.toFixed(1) : v}`)
      .join(" ");
  console.log(`fault | ${name} | ${show(parameters)} | ${show(result)} | ${held ? "held" : "NOT HELD"}`);
}

const MiB = 2 ** 20;

/** Resident memory of a process, in MiB, from /proc/<pid>/status. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024;
}

/** Open file descriptors of a process (sockets and files alike). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Percentile `p` (0..100) of `values`, which it sorts. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;
}

export { MiB };
