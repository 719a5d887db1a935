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
