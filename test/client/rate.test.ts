import { describe, expect, test } from "bun:test";
import { formatRate, formatRateSpec, parseRate, parseRateSpec, parseStepRates } from "../../lib/client/rate.ts";

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

describe("parseRateSpec()", () => {
  test("a plain rate is constant, as parseRate reads it", () => {
    expect(parseRateSpec("50/s")).toEqual({ kind: "constant", perSecond: 50 });
    expect(parseRateSpec("0")).toEqual({ kind: "constant", perSecond: 0 });
    expect(parseRateSpec("100/1m")).toEqual({ kind: "constant", perSecond: 100 / 60 });
  });

  test("FROM..TO is a ramp; a period given at the end applies to both ends", () => {
    const cases: [string, number, number][] = [
      ["100..2000/s", 100, 2000],
      ["100..2000", 100, 2000],
      [" 100 .. 2000/s ", 100, 2000],
      ["60..120/1m", 1, 2],
      ["1/1s..120/1m", 1, 2],
      ["0..500/s", 0, 500],
      ["500..0", 500, 0],
      ["2.5..5", 2.5, 5],
    ];
    for (const [raw, from, to] of cases) expect([raw, parseRateSpec(raw)]).toEqual([raw, { kind: "ramp", from, to }]);
  });

  test("rejects broken ramps with a message saying what was expected", () => {
    for (const raw of ["..2000", "100..", "100..fast", "infinity..100", "100..max", "100..2000/x", "-1..5"]) {
      expect(() => parseRateSpec(raw)).toThrow(SyntaxError);
    }
    expect(() => parseRateSpec("100..")).toThrow("expected a ramp such as 100..2000/s");
    expect(() => parseRateSpec("0..0/s")).toThrow("a ramp needs a rate above 0 at one end at least");
  });
});

describe("parseStepRates()", () => {
  test("reads comma-separated rates, the last one's period applying to those without one", () => {
    expect(parseStepRates("100,200,400,800/s")).toEqual([100, 200, 400, 800]);
    expect(parseStepRates("100, 200 ,400")).toEqual([100, 200, 400]);
    expect(parseStepRates("60,120/1m")).toEqual([1, 2]);
    expect(parseStepRates("5/500ms,100")).toEqual([10, 100]);
    expect(parseStepRates("7")).toEqual([7]);
  });

  test("rejects empty entries, unpaced steps and malformed rates", () => {
    for (const raw of ["", "100,,200", "100,0", "max,100", "100,200/x", "a,b"]) {
      expect(() => parseStepRates(raw)).toThrow(SyntaxError);
    }
    expect(() => parseStepRates("100,0/s")).toThrow("every step needs a rate above 0");
    expect(() => parseStepRates("100,,200")).toThrow("expected rates such as 100,200,400,800/s");
  });
});

test("formatRateSpec() shows a constant rate or both ends of a ramp", () => {
  expect(formatRateSpec({ kind: "constant", perSecond: 0 })).toBe("max");
  expect(formatRateSpec({ kind: "ramp", from: 100, to: 2000 })).toBe("100/s..2000/s");
});
