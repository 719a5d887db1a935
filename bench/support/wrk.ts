/** A bounded wrk run pinned to one core: the closed-loop anchor of the HTTP benchmarks. */

/** `wrk -t1 -c<connections> -d<seconds>s` pinned to `core`; returns requests per second. */
export function wrk(url: string, options: { core: number; connections?: number; seconds?: number }): number {
  const args = ["taskset", "-c", String(options.core), "wrk", "-t1", `-c${options.connections ?? 64}`];
  args.push(`-d${options.seconds ?? 8}s`, url);
  const out = Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe" });
  const text = out.stdout.toString();
  const match = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (out.exitCode !== 0 || match === null) throw new Error(`wrk failed:\n${text}${out.stderr.toString()}`);
  return Number(match[1]);
}
