import { expect, test } from "bun:test";
import { HdrHistogram } from "../../lib/report/hdr-histogram.ts";
import { progressLine, progressWanted, startProgress } from "../../lib/client/progress.ts";
import { shot } from "../fixtures/shots.ts";

test("progressWanted() only on a terminal and when not quiet", () => {
  expect(progressWanted(false, true)).toBe(true);
  expect(progressWanted(true, true)).toBe(false);
  expect(progressWanted(false, false)).toBe(false);
});

test("progressLine() shows elapsed/total, requests, success and the last second's p50/p99", () => {
  const h = new HdrHistogram();
  for (let i = 1; i <= 100; i++) h.record(i * 1e6);
  expect(progressLine(3_200, 10_000, 30, 27, h)).toBe(
    "[3s/10s] 30 requests, 90.00% success, p50 50ms, p99 99ms (last second)",
  );
  expect(progressLine(0, 10_000, 0, 0, new HdrHistogram())).toBe(
    "[0s/10s] 0 requests, 0.00% success, p50 -, p99 - (last second)",
  );
  // --duration 0 runs until Ctrl-C: no total to show
  expect(progressLine(61_000, 0, 5, 5, new HdrHistogram())).toBe(
    "[1m1s] 5 requests, 100.00% success, p50 -, p99 - (last second)",
  );
});

test("startProgress() rewrites one line in place and erases it on stop()", async () => {
  const writes: string[] = [];
  let wrote: () => void = () => {};
  const first = new Promise<void>((resolve) => (wrote = resolve));
  const p = startProgress({
    durationMs: 10_000,
    intervalMs: 20,
    write: (text) => {
      writes.push(text);
      wrote();
    },
  });
  p.add(shot({ status: 200, latencyNs: 2e6 }));
  p.add(shot({ status: 500, latencyNs: 4e6 }));
  await first;
  p.stop();
  p.stop();
  expect(writes[0]).toMatch(/^\r\x1b\[K\[0s\/10s\] 2 requests, 50\.00% success, p50 2ms, p99 4ms/);
  expect(writes[writes.length - 1]).toBe("\r\x1b[K");
  expect(writes.filter((w) => w === "\r\x1b[K").length).toBe(1);
  expect(writes.every((w) => !w.includes("\n"))).toBe(true);
});
