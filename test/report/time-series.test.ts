import { expect, test } from "bun:test";
import { mergeSeries, TimeSeries } from "../../lib/report/time-series.ts";

const T0 = Date.UTC(2026, 10, 25, 15, 0, 0);

test("TimeSeries windows sit at whole multiples of their width since the epoch", () => {
  const s = new TimeSeries(1000);
  s.add(T0 + 1500.25, 1e6, true); // second 1
  s.add(T0 + 3999, 2e6, false); // second 3; second 2 stays empty
  const { startMs, windowMs, points } = s.close();
  expect([startMs, windowMs]).toEqual([T0 + 1000, 1000]);
  expect(points.map((p) => [p.t, p.requests, p.failures, p.max])).toEqual([
    [0, 1, 0, 1e6],
    [1, 0, 0, 0],
    [2, 1, 1, 2e6],
  ]);
});

test("TimeSeries doubles its width while it has more than maxPoints windows", () => {
  const s = new TimeSeries(1000, 10);
  for (let i = 0; i < 45; i++) s.add(T0 + i * 1000, 1e6, true); // 45 one-second windows, at most 10 kept
  const { windowMs, points, startMs } = s.close();
  expect(windowMs).toBe(8000);
  expect(startMs! % 8000).toBe(0);
  expect(points.reduce((n, p) => n + p.requests, 0)).toBe(45);
  expect(points.length).toBeLessThanOrEqual(10);
});

test("mergeSeries() adds windows of several runs that line up, at the widest width", () => {
  const a = new TimeSeries(1000);
  const b = new TimeSeries(2000);
  const all = new TimeSeries(2000);
  for (let i = 0; i < 20; i++) {
    const due = T0 + i * 333.3;
    (i % 2 === 0 ? a : b).add(due, 1e6 * (1 + i), i % 5 !== 0);
    all.add(due, 1e6 * (1 + i), i % 5 !== 0);
  }
  const merged = mergeSeries([a.close(), b.close()]);
  const expected = all.close();
  expect(merged.startMs).toBe(expected.startMs!);
  const strip = (p: (typeof merged.points)[number]) => ({ ...p, histogram: p.histogram.toData() });
  expect(merged.points.map(strip)).toEqual(expected.points.map(strip));
  expect(() =>
    mergeSeries([
      { startMs: T0, windowMs: 1500, points: [] },
      { startMs: T0, windowMs: 2000, points: [] },
    ]),
  ).toThrow(RangeError);
});
