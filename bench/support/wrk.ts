/** A bounded wrk run pinned to one core: the closed-loop anchor of the HTTP benchmarks. */

export interface WrkFigures {
  requestsPerSecond: number;
  requests: number;
  /** wrk's own CPU time (user + system), seconds. */
  cpuSeconds: number;
  /** The part of it in user space (the rest is the kernel's: sockets, loopback TCP). */
  userSeconds: number;
  /** Latency percentiles in milliseconds (wrk --latency: 50, 75, 90, 99). */
  latencyMs: { p50: number; p75: number; p90: number; p99: number };
}

/** `wrk -t1 -c<connections> -d<seconds>s` pinned to `core`, with its request count and its own CPU time. */
export function wrkRun(url: string, options: { core: number; connections?: number; seconds?: number }): WrkFigures {
  const args = ["taskset", "-c", String(options.core), "wrk", "-t1", `-c${options.connections ?? 64}`, "--latency"];
  args.push(`-d${options.seconds ?? 8}s`, url);
  const out = Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe" });
  const text = out.stdout.toString();
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const count = /(\d+) requests in/.exec(text);
  if (out.exitCode !== 0 || rate === null || count === null) {
    throw new Error(`wrk failed:\n${text}${out.stderr.toString()}`);
  }
  // taskset execs wrk in the same process, so the child's usage is wrk's own (microseconds)
  const cpuSeconds = Number(out.resourceUsage.cpuTime.total) / 1e6;
  const userSeconds = Number(out.resourceUsage.cpuTime.user) / 1e6;
  const latencyMs = {
    p50: percentile(text, 50),
    p75: percentile(text, 75),
    p90: percentile(text, 90),
    p99: percentile(text, 99),
  };
  return { requestsPerSecond: Number(rate[1]), requests: Number(count[1]), cpuSeconds, userSeconds, latencyMs };
}

const UNIT_MS: Record<string, number> = { us: 1e-3, ms: 1, s: 1000, m: 60_000 };

/** One row of wrk's "Latency Distribution" (`  99%    1.23ms`), in milliseconds. */
function percentile(text: string, p: number): number {
  const match = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)$`, "m").exec(text);
  return match === null ? NaN : Number(match[1]) * UNIT_MS[match[2]!]!;
}

/** `wrk -t1 -c<connections> -d<seconds>s` pinned to `core`; returns requests per second. */
export function wrk(url: string, options: { core: number; connections?: number; seconds?: number }): number {
  return wrkRun(url, options).requestsPerSecond;
}
