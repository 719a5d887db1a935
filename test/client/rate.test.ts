import { describe, expect, test } from "bun:test";
import { formatRate, parseRate } from "../../lib/client/rate.ts";

describe("parseRate()", () => {
  test("reads vegeta's freq/per forms as requests per second", () => {
    const cases: [string, number][] = [
      ["50", 50],
      ["50/s", 50],
      ["50/1s", 50],
      ["100/1m", 100 / 60],
      ["100/m", 100 / 60],
      ["5/500ms", 10],
      ["1/2s", 0.5],
      ["3600/1h", 1],
      ["2.5", 2.5],
      [" 20 ", 20],
      ["1/1m30s", 1 / 90],
    ];
    for (const [raw, want] of cases) expect([raw, parseRate(raw)]).toEqual([raw, want]);
  });

  test("0 and infinity mean unpaced", () => {
    expect(parseRate("0")).toBe(0);
    expect(parseRate("0/s")).toBe(0);
    expect(parseRate("infinity")).toBe(0);
  });

  test("rejects malformed rates with a message saying what was expected", () => {
    for (const raw of ["", "abc", "-5", "5/", "5/xs", "5/0s", "/s", "1e3"]) {
      expect(() => parseRate(raw)).toThrow(SyntaxError);
    }
    expect(() => parseRate("fast")).toThrow("expected a rate such as 50, 50/s, 100/1m or 0 for max");
    expect(() => parseRate("5/0s")).toThrow("the period of a rate must be positive");
  });
});

test("formatRate() shows max for unpaced", () => {
  expect(formatRate(0)).toBe("max");
  expect(formatRate(50)).toBe("50/s");
  expect(formatRate(100 / 60)).toBe("1.667/s");
});
