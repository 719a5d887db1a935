/**
 * The one table of duration units and the one table of size units, with the scanners built on them: flag
 * values (`10s`, `64MiB`), vegeta's rate periods (lib/client/rate.ts) and Go's `time.ParseDuration`
 * (lib/report/go-format.ts) all read durations through {@linkcode scanDuration}. Pure, no I/O.
 */

/** Nanoseconds per duration unit, spelled as Go's time package takes them: `us`, `µs` (micro sign) and `μs` (mu). */
export const DURATION_UNITS_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** What {@linkcode scanDuration} found: the sum in nanoseconds, or which of Go's three mistakes it met. */
export type DurationScan =
  | { ok: true; ns: number }
  | { ok: false; problem: "invalid" | "missing unit" }
  | { ok: false; problem: "unknown unit"; unit: string };

/**
 * Sums `<number><unit>` terms such as `1m30s`, `1.5µs` or `.5ms` into nanoseconds, with Go's grammar: a number
 * is digits with an optional fraction (either side may be empty, not both), the unit is everything up to the
 * next digit or point. No sign and no bare `0`: callers that take them handle them first. Not rounded.
 */
export function scanDuration(text: string): DurationScan {
  if (text === "") return { ok: false, problem: "invalid" };
  let s = text;
  let ns = 0;
  while (s !== "") {
    const [matched, whole = "", fraction] = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    if (whole === "" && (fraction === undefined || fraction === "")) return { ok: false, problem: "invalid" };
    s = s.slice(matched.length);
    const unit = /^[^.0-9]*/.exec(s)![0];
    if (unit === "") return { ok: false, problem: "missing unit" };
    const scale = DURATION_UNITS_NS[unit];
    if (scale === undefined) return { ok: false, problem: "unknown unit", unit };
    s = s.slice(unit.length);
    ns += Number(`${whole === "" ? "0" : whole}.${fraction ?? "0"}`) * scale;
  }
  return { ok: true, ns };
}

/** A duration in milliseconds: `10s`, `1m30s`, `250ms`, `1500µs`; a bare number means seconds. */
export function parseDuration(raw: string): number {
  const v = raw.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const scan = scanDuration(v);
  if (!scan.ok) throw new Error("expected a duration such as 10s, 1m30s or 250ms");
  // Whole nanoseconds, as Go keeps them: 1.1s is then exactly 1100 ms rather than 1100.0000000000002.
  return Math.round(scan.ns) / 1e6;
}

/** Bytes per size unit, matched without case: SI (`k`, `MB`) and binary (`Ki`, `MiB`). */
export const SIZE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 2 ** 10,
  kib: 2 ** 10,
  mi: 2 ** 20,
  mib: 2 ** 20,
  gi: 2 ** 30,
  gib: 2 ** 30,
  ti: 2 ** 40,
  tib: 2 ** 40,
};

/** A size in bytes: `25000`, `64MiB`, `1GiB`, `10 MB` (SI and binary units). */
export function parseBytes(raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error("expected a size such as 25000, 64MiB or 1GB");
  return Math.round(Number(m[1]) * unit);
}
