/**
 * Parses a request rate the way vegeta's `-rate` does: `N` (per second), `N/s`, `N/1m`, `N/500ms`.
 * `0` and `infinity` mean unpaced (as fast as the in-flight bound allows). Pure; returns requests per second.
 */

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

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
  const perMs = parsePer(perText);
  if (perMs <= 0) throw new SyntaxError(`the period of a rate must be positive`);
  return (freq * 1000) / perMs;
}

/** The period after the slash: a bare unit (`s`, `m`) means one of it, as in vegeta. */
function parsePer(text: string): number {
  const bare = UNIT_MS[text];
  if (bare !== undefined) return bare;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new SyntaxError(`expected a period such as s, 1m or 500ms after "/"`);
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (text === "") throw new SyntaxError(`expected a period such as s, 1m or 500ms after "/"`);
  return total;
}

/** Shows a rate for humans: `50/s`, or `max` for unpaced. */
export function formatRate(perSecond: number): string {
  return perSecond === 0 ? "max" : `${Number(perSecond.toFixed(3))}/s`;
}
