/**
 * The live progress line on a terminal: once a second, on stderr, rewritten in place: elapsed / total,
 * requests, success share, and p50/p99 of the last second. Off with `--quiet` or when stderr is not a TTY.
 */
import { isSuccess } from "../report/attack-metrics.ts";
import { goDuration } from "../report/go-format.ts";
import { HdrHistogram } from "../report/hdr-histogram.ts";
import type { ShotResult } from "../loadgen.ts";

export interface ProgressOptions {
  /** Planned attack length, for `elapsed/total`. */
  durationMs: number;
  /** Where the line goes. @default process.stderr.write */
  write?: (text: string) => void;
  /** @default 1000 */
  intervalMs?: number;
}

export interface Progress {
  add(r: ShotResult): void;
  /** Stops the ticker and erases the line. Safe to call twice. */
  stop(): void;
}

/** True when the line should be shown: not quiet, and stderr is a terminal. */
export function progressWanted(quiet: boolean, stderrIsTty: boolean = process.stderr.isTTY === true): boolean {
  return !quiet && stderrIsTty;
}

/** Starts the ticker; feed it every result. */
export function startProgress(options: ProgressOptions): Progress {
  const write = options.write ?? ((text: string) => void process.stderr.write(text));
  const started = performance.now();
  const recent = new HdrHistogram({ significantDigits: 2 });
  let requests = 0;
  let successes = 0;
  let stopped = false;
  const timer = setInterval(() => {
    write(`\r\x1b[K${progressLine(performance.now() - started, options.durationMs, requests, successes, recent)}`);
    recent.reset();
  }, options.intervalMs ?? 1000);
  return {
    add(r) {
      requests++;
      if (isSuccess(r.status)) successes++;
      recent.record(Math.max(0, r.latencyNs));
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      write("\r\x1b[K");
    },
  };
}

/** `[3s/10s] 30 requests, 100.00% success, p50 1.2ms, p99 3.4ms (last second)`. */
export function progressLine(
  elapsedMs: number,
  totalMs: number,
  requests: number,
  successes: number,
  recent: HdrHistogram,
): string {
  const secs = (ms: number) => goDuration(Math.round(ms / 1000) * 1e9);
  const share = requests === 0 ? 0 : (successes / requests) * 100;
  // Three significant digits: a live line is for eyes, and the histogram's bucket midpoints add noise digits.
  const lat = (q: number) => (recent.count === 0 ? "-" : goDuration(Number(recent.quantile(q).toPrecision(3))));
  return (
    `[${secs(elapsedMs)}${totalMs > 0 ? `/${secs(totalMs)}` : ""}] ${requests} requests, ${share.toFixed(2)}% success, ` +
    `p50 ${lat(0.5)}, p99 ${lat(0.99)} (last second)`
  );
}
