/** lib/cache/stream-bound.ts: the allowance for each read of a streamed upstream body, as a table. */
import { expect, test } from "bun:test";
import { streamBound } from "../../lib/cache/stream-bound.ts";

test("streamBound() allows the timeout per read, and in all the timeout plus what the bytes earn", () => {
  // [reads so far as [ms waited, bytes], allowance for the next read]; timeout 1000 ms, 1000 bytes/s.
  const rows: Array<[reads: Array<[number, number]>, allowance: number]> = [
    [[], 1000],
    [[[400, 0]], 600],
    [
      [
        [400, 0],
        [600, 0],
      ],
      0,
    ],
    [[[500, 500]], 1000],
    [[[900, 100]], 200],
    [[[100, 10_000]], 1000],
    [
      [
        [900, 100],
        [300, 0],
      ],
      -100,
    ],
  ];
  for (const [reads, allowance] of rows) {
    const bound = streamBound(1000, 1000);
    for (const [ms, bytes] of reads) bound.record(ms, bytes);
    expect({ reads, allowance: bound.allowance() }).toEqual({ reads, allowance });
  }
});

test("streamBound() counts what the upstream took before the body, and a rate of 0 bounds only each read", () => {
  expect(streamBound(1000, 1000, 700).allowance()).toBe(300);
  const unbounded = streamBound(1000, 0, 5000);
  unbounded.record(100_000, 1);
  expect(unbounded.allowance()).toBe(1000);
});
