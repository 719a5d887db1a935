import { expect, test } from "bun:test";
import { createKindCounts } from "../../lib/report/kind-counts.ts";
import { shot } from "../fixtures/shots.ts";

test("createKindCounts() counts named targets by status, in first-seen order, and skips unnamed ones", () => {
  const counts = createKindCounts();
  const named = (name: string) => ({ name, method: "GET", url: "http://x/" });
  counts.add(shot({ target: named("ac"), status: 200 }));
  counts.add(shot({ target: named("ac"), status: 404 }));
  counts.add(shot({ target: named("put"), status: 201 }));
  counts.add(shot({ target: named("ac"), status: 200 }));
  counts.add(shot({ target: named("cas"), status: 0 }));
  counts.add(shot({ status: 200 }));
  const snapshot = counts.snapshot();
  expect(snapshot).toEqual({
    ac: { requests: 3, status_codes: { "200": 2, "404": 1 } },
    put: { requests: 1, status_codes: { "201": 1 } },
    cas: { requests: 1, status_codes: { "0": 1 } },
  });
  expect(Object.keys(snapshot)).toEqual(["ac", "put", "cas"]);
  // A snapshot is a copy: later results do not change it.
  counts.add(shot({ target: named("put"), status: 201 }));
  expect(snapshot.put!.requests).toBe(1);
});
