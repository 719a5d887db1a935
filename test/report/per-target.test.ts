import { expect, test } from "bun:test";
import {
  GroupBreakdown,
  MAX_GROUP_ERRORS,
  OTHER_ERRORS,
  OTHER_GROUP,
  type GroupSample,
} from "../../lib/report/per-target.ts";

function sample(fields: Partial<GroupSample> = {}): GroupSample {
  return {
    latencyNs: 1e6,
    status: 200,
    ok: true,
    error: undefined,
    integrityFailure: false,
    bytesIn: 10,
    bytesOut: 1,
    ...fields,
  };
}

test("GroupBreakdown keeps at most maxGroups names apart and puts the rest together", () => {
  const b = new GroupBreakdown(3);
  for (const name of ["a", "b", "c", "d", "e", "a"]) b.add(name, sample());
  expect(b.close().map((g) => [g.name, g.requests])).toEqual([
    ["a", 2],
    ["b", 1],
    ["c", 1],
    [OTHER_GROUP, 2],
  ]);
});

test("GroupBreakdown counts error texts per group, up to MAX_GROUP_ERRORS of them", () => {
  const b = new GroupBreakdown();
  for (let i = 0; i < MAX_GROUP_ERRORS + 5; i++) b.add("t", sample({ ok: false, status: 0, error: `error ${i}` }));
  b.add("t", sample({ ok: false, status: 0, error: "error 0" }));
  const errors = b.close()[0]!.errors;
  expect(errors.length).toBe(MAX_GROUP_ERRORS + 1);
  expect(errors[0]).toEqual({ error: "error 0", count: 2 });
  expect(errors[errors.length - 1]).toEqual({ error: OTHER_ERRORS, count: 5 });
});

test("GroupBreakdown.addSummary() of two halves equals adding every sample to one", () => {
  const whole = new GroupBreakdown();
  const halves = [new GroupBreakdown(), new GroupBreakdown()];
  for (let i = 0; i < 1000; i++) {
    const s = sample({
      latencyNs: 1e5 * (1 + (i % 37)),
      status: i % 11 === 0 ? 500 : 200,
      ok: i % 11 !== 0,
      error: i % 11 === 0 ? "500 Internal Server Error" : undefined,
      integrityFailure: i % 101 === 0,
    });
    const name = i % 3 === 0 ? "x" : "y";
    whole.add(name, s);
    halves[i % 2]!.add(name, s);
  }
  const merged = new GroupBreakdown();
  for (const h of halves) for (const g of h.close()) merged.addSummary(g);
  const strip = (list: ReturnType<GroupBreakdown["close"]>) =>
    list.map(({ histogram, ...rest }) => ({ ...rest, buckets: histogram.toData() }));
  expect(strip(merged.close())).toEqual(strip(whole.close()));
});
