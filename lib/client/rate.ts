/**
 * Parses a request rate the way vegeta's `-rate` does: `N` (per second), `N/s`, `N/1m`, `N/500ms`.
 * `0` and `infinity` mean unpaced (as fast as the in-flight bound allows). Pure; returns requests per second.
 */
import { DURATION_UNITS_NS, scanDuration } from "../common/units.ts";

/** Requests per second for `raw`; 0 means "as fast as possible". Throws a `SyntaxError` saying what was expected. */
export function parseRate(raw: string): number {
  const v = raw.trim().toLowerCase();
  if (v === "infinity" || v === "max") return 0;
  const slash = v.indexOf("/");
  const freqText = slash === -1 ? v : v.slice(0, slash);
  const perText = slash === -1 ? "1s" : v.slice(slash + 1);
  if (!/^\d+(\.\d+)?$/.test(freqText)) throw new SyntaxError(`expected a rate such as 50, 50/s, 100/1m or 0 for max`);
  const freq = Number(freqText);
  if (freq === 0) return 0;
  const perNs = parsePer(perText);
  if (perNs <= 0) throw new SyntaxError(`the period of a rate must be positive`);
  return (freq * 1e9) / perNs;
}

/** The period after the slash in ns: a bare unit (`s`, `m`) means one of it, as in vegeta. */
function parsePer(text: string): number {
  const bare = DURATION_UNITS_NS[text];
  if (bare !== undefined) return bare;
  const scan = scanDuration(text);
  if (!scan.ok) throw new SyntaxError(`expected a period such as s, 1m or 500ms after "/"`);
  return scan.ns;
}

/** Shows a rate for humans: `50/s`, or `max` for unpaced. */
export function formatRate(perSecond: number): string {
  return perSecond === 0 ? "max" : `${Number(perSecond.toFixed(3))}/s`;
}

/** What `--rate` asks for: a constant rate (0 = unpaced) or a linear ramp between two rates over `--duration`. */
export type RateSpec = { kind: "constant"; perSecond: number } | { kind: "ramp"; from: number; to: number };

const RAMP_EXAMPLE = "expected a ramp such as 100..2000/s";

/**
 * `--rate`: a rate as {@linkcode parseRate} reads it, or a ramp `FROM..TO[/period]` (`100..2000/s`, `1..10/1m`)
 * whose period, given once at the end, applies to both ends. A ramp's end may be 0 (a ramp from nothing), not
 * both, and neither may be unpaced. Throws a `SyntaxError` saying what was expected.
 */
export function parseRateSpec(raw: string): RateSpec {
  const v = raw.trim();
  const dots = v.indexOf("..");
  if (dots === -1) return { kind: "constant", perSecond: parseRate(v) };
  const left = v.slice(0, dots).trim();
  const right = v.slice(dots + 2).trim();
  if (left === "" || right === "") throw new SyntaxError(RAMP_EXAMPLE);
  const slash = right.indexOf("/");
  const period = slash === -1 ? "" : right.slice(slash);
  const [from, to] = [left.includes("/") ? left : left + period, right].map((end) => {
    if (!/^\d/.test(end)) throw new SyntaxError(RAMP_EXAMPLE);
    return parseRate(end);
  });
  if (from === 0 && to === 0) throw new SyntaxError("a ramp needs a rate above 0 at one end at least");
  return { kind: "ramp", from: from!, to: to! };
}

/**
 * `--steps`: rates separated by commas, each above 0, with an optional period at the end for all of those that
 * have none (`100,200,400,800/s`, `10,20/1m`). Throws a `SyntaxError` saying what was expected.
 */
export function parseStepRates(raw: string): number[] {
  const parts = raw.split(",").map((p) => p.trim());
  const last = parts[parts.length - 1]!;
  const slash = last.indexOf("/");
  const period = slash === -1 ? "" : last.slice(slash);
  return parts.map((part) => {
    if (!/^\d/.test(part)) throw new SyntaxError("expected rates such as 100,200,400,800/s");
    const rate = parseRate(part.includes("/") ? part : part + period);
    if (rate === 0) throw new SyntaxError("every step needs a rate above 0");
    return rate;
  });
}

/** Shows a `--rate` for humans: `50/s`, `max`, `100/s..2000/s`. */
export function formatRateSpec(spec: RateSpec): string {
  return spec.kind === "constant" ? formatRate(spec.perSecond) : `${formatRate(spec.from)}..${formatRate(spec.to)}`;
}
