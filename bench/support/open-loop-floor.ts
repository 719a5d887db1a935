/**
 * Builds and runs open-loop-floor.c (gcc): the least CPU per request an open-loop sender pays on this machine,
 * the anchor that separates what open-loop sending costs here from what our generator adds.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface FloorFigures {
  requests: number;
  cpuPerRequestUs: number;
  /** How late, on average, the sleep woke after the due time. */
  meanWakeLateUs: number;
}

let binary: string | undefined;

/** Compiles the floor sender once per process; throws when gcc is missing or fails. */
function build(): string {
  if (binary !== undefined) return binary;
  const dir = mkdtempSync(join(tmpdir(), "cas-bench-floor-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true })); // build output is not kept
  const out = join(dir, "open-loop-floor");
  const cc = Bun.spawnSync(["gcc", "-O2", "-o", out, join(import.meta.dir, "open-loop-floor.c")], { stderr: "pipe" });
  if (cc.exitCode !== 0) throw new Error(`gcc could not build open-loop-floor.c: ${cc.stderr.toString().trim()}`);
  binary = out;
  return out;
}

/** Sends `rate` req/s for `seconds` to `url` (http://host:port/path) from `core`, one connection. */
export function openLoopFloor(url: string, options: { rate: number; seconds: number; core: number }): FloorFigures {
  const { hostname, port, pathname } = new URL(url);
  const run = Bun.spawnSync(
    [
      "taskset",
      "-c",
      String(options.core),
      build(),
      hostname,
      port,
      pathname,
      String(options.rate),
      String(options.seconds),
    ],
    { stderr: "pipe" },
  );
  const line = run.stdout.toString();
  const field = (name: string) => Number(new RegExp(`${name}=([0-9.]+)`).exec(line)?.[1] ?? NaN);
  if (run.exitCode !== 0) throw new Error(`open-loop-floor failed (${run.exitCode}): ${line}${run.stderr.toString()}`);
  const requests = field("ok");
  return {
    requests,
    cpuPerRequestUs: (field("cpu_seconds") * 1e6) / requests,
    meanWakeLateUs: field("mean_wake_late_us"),
  };
}
