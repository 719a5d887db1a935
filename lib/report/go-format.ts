/**
 * Go's text conventions that vegeta's reports are made of, reproduced so ours match byte for byte:
 * `time.Duration.String`, `time.ParseDuration` (with Go's error messages), RFC 3339 with nanoseconds,
 * and `text/tabwriter`'s column alignment. Pure functions, no I/O.
 */
import { scanDuration } from "../common/units.ts";

/** `time.Duration(ns).String()`: `0s`, `750ns`, `1.5µs`, `12.345ms`, `1m30s`, `1h0m0s`. */
export function goDuration(ns: number): string {
  let u = Math.round(Math.abs(ns));
  const sign = ns < 0 && u !== 0 ? "-" : "";
  if (u === 0) return "0s";
  if (u < 1e3) return `${sign}${u}ns`;
  if (u < 1e6) return `${sign}${fraction(u, 3)}µs`;
  if (u < 1e9) return `${sign}${fraction(u, 6)}ms`;
  let out = `${fraction(u % 60e9, 9)}s`;
  u = Math.floor(u / 60e9);
  if (u > 0) {
    out = `${u % 60}m${out}`;
    u = Math.floor(u / 60);
    if (u > 0) out = `${u}h${out}`;
  }
  return sign + out;
}

/** `value / 10^digits` with the fraction's trailing zeros (and a bare point) dropped, as Go's fmtFrac. */
function fraction(value: number, digits: number): string {
  const scale = 10 ** digits;
  const whole = Math.floor(value / scale);
  const frac = String(value % scale)
    .padStart(digits, "0")
    .replace(/0+$/, "");
  return frac === "" ? String(whole) : `${whole}.${frac}`;
}

const ROUND_UNITS = [3600e9, 60e9, 1e9, 1e6, 1e3, 1];

/** vegeta's `round()` for the text report: rounds to the unit below the largest one the value reaches. */
export function roundDuration(ns: number): number {
  for (let i = 0; i < ROUND_UNITS.length - 1; i++) {
    if (ns >= ROUND_UNITS[i]!) {
      const unit = ROUND_UNITS[i + 1]!;
      return Math.round(ns / unit) * unit;
    }
  }
  return ns;
}

/** `time.ParseDuration`: nanoseconds, or a `SyntaxError` with Go's exact message. */
export function parseGoDuration(raw: string): number {
  let s = raw;
  let negative = false;
  if (s.startsWith("-") || s.startsWith("+")) {
    negative = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0;
  const scan = scanDuration(s);
  if (scan.ok) return Math.round(negative ? -scan.ns : scan.ns);
  if (scan.problem === "missing unit") throw new SyntaxError(`time: missing unit in duration ${goQuote(raw)}`);
  if (scan.problem === "unknown unit") {
    throw new SyntaxError(`time: unknown unit ${goQuote(scan.unit)} in duration ${goQuote(raw)}`);
  }
  throw new SyntaxError(`time: invalid duration ${goQuote(raw)}`);
}

/**
 * Go's `%.Nf`: like `toFixed`, except that an exact tie (0.125 to 2 digits) rounds half to even as Go does,
 * where JavaScript rounds it up. Only exact binary ties differ, e.g. a mean of 1001/8 bytes.
 */
export function goFixed(x: number, digits: number): string {
  const plain = x.toFixed(digits);
  if (!Number.isFinite(x) || Math.abs(x) >= 1e21) return plain;
  const exact = Math.abs(x).toFixed(100); // a double's full decimal expansion fits in 100 digits at these sizes
  const point = exact.indexOf(".");
  if (!/^50*$/.test(exact.slice(point + 1 + digits))) return plain;
  const truncated = digits === 0 ? exact.slice(0, point) : exact.slice(0, point + 1 + digits);
  if (Number(truncated[truncated.length - 1]) % 2 === 1) return plain; // odd: rounding up is also Go's answer
  return (x < 0 ? "-" : "") + truncated;
}

/** Go's `%q` for plain text: double quotes with backslash escapes. */
export function goQuote(text: string): string {
  return JSON.stringify(text);
}

/**
 * Go's `time.Time` JSON form (RFC 3339 with up to 9 fraction digits, trailing zeros dropped) of whole epoch ns,
 * or Go's zero time for undefined (as vegeta prints with no results).
 */
export function rfc3339Nano(epochNs: bigint | undefined): string {
  if (epochNs === undefined) return GO_ZERO_TIME;
  const seconds = epochNs / 1_000_000_000n - (epochNs % 1_000_000_000n < 0n ? 1n : 0n);
  const nanos = Number(epochNs - seconds * 1_000_000_000n);
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  const frac = nanos === 0 ? "" : "." + String(nanos).padStart(9, "0").replace(/0+$/, "");
  return `${base}${frac}Z`;
}

export const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/**
 * Parses RFC 3339 with up to 9 fraction digits (`Z` or a `+hh:mm` offset) to whole epoch ns; Go's zero time gives
 * undefined. Throws SyntaxError for anything else.
 */
export function parseRfc3339Nano(text: string): bigint | undefined {
  if (text === GO_ZERO_TIME) return undefined;
  const m = RFC3339.exec(text);
  const ms = m === null ? NaN : Date.parse(`${m[1]}${m[3]}`);
  if (m === null || !Number.isFinite(ms)) throw new SyntaxError(`Cannot parse ${goQuote(text)} as an RFC 3339 time`);
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? "").padEnd(9, "0") || "0");
}

/**
 * Aligns tab-separated text like Go's `tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)`: a cell is text ended by a tab,
 * a column block is a run of consecutive lines that have that cell, and each cell is padded to the widest
 * cell of its block plus `padding`. The text after a line's last tab is never padded.
 */
export function tabwrite(text: string, padding = 2): string {
  const lines = text.split("\n").map((line) => line.split("\t"));
  const out: string[] = [];
  const width = (s: string) => [...s].length;

  function writeLines(from: number, to: number, widths: number[]): void {
    for (let i = from; i < to; i++) {
      const cells = lines[i]!;
      let line = "";
      cells.forEach((cell, j) => {
        line += j < widths.length && j < cells.length - 1 ? cell + " ".repeat(widths[j]! - width(cell)) : cell;
      });
      out.push(line);
    }
  }

  function format(line0: number, line1: number, widths: number[]): void {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= lines[t]!.length - 1) continue;
      writeLines(line0, t, widths);
      line0 = t;
      let blockWidth = 0;
      for (; t < line1; t++) {
        const cells = lines[t]!;
        if (column >= cells.length - 1) break;
        blockWidth = Math.max(blockWidth, width(cells[column]!) + padding);
      }
      format(line0, t, [...widths, blockWidth]);
      line0 = t;
    }
    writeLines(line0, line1, widths);
  }

  format(0, lines.length, []);
  return out.join("\n");
}
