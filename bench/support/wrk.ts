/** A bounded wrk run pinned to one core: the closed-loop anchor of the HTTP benchmarks. */

export interface WrkFigures {
  requestsPerSecond: number;
  requests: number;
  /** wrk's own CPU time (user + system), seconds. */
  cpuSeconds: number;
}

/** `wrk -t1 -c<connections> -d<seconds>s` pinned to `core`, with its request count and its own CPU time. */
export function wrkRun(url: string, options: { core: number; connections?: number; seconds?: number }): WrkFigures {
  const args = ["taskset", "-c", String(options.core), "wrk", "-t1", `-c${options.connections ?? 64}`];
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
  return { requestsPerSecond: Number(rate[1]), requests: Number(count[1]), cpuSeconds };
}

/** `wrk -t1 -c<connections> -d<seconds>s` pinned to `core`; returns requests per second. */
export function wrk(url: string, options: { core: number; connections?: number; seconds?: number }): number {
  return wrkRun(url, options).requestsPerSecond;
}
