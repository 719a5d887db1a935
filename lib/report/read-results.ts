/**
 * Reads results files back, streaming: our JSON lines and CSV (see lib/client/results-stream.ts) and vegeta's own
 * JSON and 12-column CSV results, told apart by their first line. Records are handed to a callback one at a
 * time and never kept, so a file of any size is read in constant memory. A record that cannot be read throws a
 * {@linkcode ResultsFormatError} naming the file and line.
 */
import type { ShotResult, Target } from "../loadgen.ts";
import { msFromEpochNs } from "./epoch-ns.ts";
import { parseRfc3339Nano } from "./go-format.ts";

/** A results file that cannot be read; `message` names the source and the line. */
export class ResultsFormatError extends SyntaxError {
  override name = "ResultsFormatError";
}

/**
 * Splits a byte stream into lines and hands each (without its line end) to `onLine` with its 1-based number.
 * Resolves with the number of lines.
 */
export async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string, number: number) => void,
): Promise<number> {
  const decoder = new TextDecoder();
  let rest = "";
  let number = 0;
  const take = (text: string) => {
    let start = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      onLine(text.slice(start, end), ++number);
      start = nl + 1;
    }
    return text.slice(start);
  };
  for await (const chunk of stream) rest = take(rest + decoder.decode(chunk, { stream: true }));
  rest = take(rest + decoder.decode());
  if (rest !== "") onLine(rest, ++number);
  return number;
}

/** What a line of a results or report file holds. */
export type LineKind = "report" | "json-result" | "csv-result" | "blank";

/** Tells a JSON report line from a JSON result line and a CSV record. */
export function lineKind(line: string): LineKind {
  const t = line.trimStart();
  if (t === "") return "blank";
  if (t[0] !== "{") return "csv-result";
  return /^\{\s*"latencies"\s*:/.test(t) ? "report" : "json-result";
}

/** Parses one line of a results file (JSON or CSV) into a result; throws ResultsFormatError. */
export function parseResultLine(line: string, source: string, number: number): ShotResult {
  return lineKind(line) === "csv-result" ? parseCsvResult(line, source, number) : parseJsonResult(line, source, number);
}

/** The `Target` of a record: a name only when the record had one. */
function target(name: string, method: string, url: string): Target {
  return name === "" ? { method, url } : { name, method, url };
}

function parseJsonResult(line: string, source: string, number: number): ShotResult {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    throw lineError(source, number, `not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw lineError(source, number, "expected one result object per line");
  }
  const o = v as Record<string, unknown>; // checked to be a plain object just above
  const timestamp = o.timestamp;
  if (typeof timestamp !== "string") throw lineError(source, number, "timestamp must be an RFC 3339 time");
  let due: number;
  try {
    due = dueMsOf(timestamp);
  } catch (err) {
    throw lineError(source, number, (err as Error).message);
  }
  const sendLagNs = field(o, "send_lag", true, source, number);
  const r: ShotResult = {
    seq: field(o, "seq", true, source, number),
    target: target(
      text(o, "attack", source, number),
      text(o, "method", source, number),
      text(o, "url", source, number),
    ),
    due,
    sent: due + sendLagNs / 1e6,
    latencyNs: field(o, "latency", false, source, number),
    sendLagNs,
    queueNs: field(o, "queue_wait", true, source, number),
    slotWaitNs: field(o, "slot_wait", true, source, number),
    status: field(o, "code", false, source, number),
    bytesIn: field(o, "bytes_in", true, source, number),
    bytesOut: field(o, "bytes_out", true, source, number),
  };
  const error = text(o, "error", source, number);
  if (error !== "") r.error = error;
  const cache = xCacheOf(o.headers);
  if (cache !== undefined) r.cache = cache;
  return r;
}

function lineError(source: string, number: number, reason: string): ResultsFormatError {
  return new ResultsFormatError(`${source} line ${number}: ${reason}`);
}

/** A number field of at least 0; an optional one defaults to 0. */
function field(o: Record<string, unknown>, key: string, optional: boolean, source: string, number: number): number {
  const x = o[key];
  if (x === undefined && optional) return 0;
  if (typeof x !== "number" || !(x >= 0)) throw lineError(source, number, `${key} must be a number of at least 0`);
  return x;
}

/** A string field; absent or null is "". */
function text(o: Record<string, unknown>, key: string, source: string, number: number): string {
  const x = o[key];
  if (x === undefined || x === null) return "";
  if (typeof x !== "string") throw lineError(source, number, `${key} must be a string`);
  return x;
}

// The whole epoch seconds of the last "YYYY-MM-DDTHH:MM:SS" seen: the records of one second share it.
let lastPrefix = "";
let lastSeconds = 0;

/**
 * Epoch ms of an RFC 3339 time, computed as msFromEpochNs() would from its whole ns (so the same double), without
 * a bigint per record for the usual `...Z` form. Throws SyntaxError for anything else, and for the zero time.
 */
function dueMsOf(time: string): number {
  const n = time.length;
  if (n >= 20 && n <= 30 && time.charCodeAt(n - 1) === 90 && (n === 20 || time.charCodeAt(19) === 46)) {
    const prefix = time.slice(0, 19);
    const frac = n > 21 ? time.slice(20, n - 1) : "";
    if ((n === 20 || frac !== "") && /^\d*$/.test(frac)) {
      if (prefix !== lastPrefix) {
        const base = parseRfc3339Nano(`${prefix}Z`);
        if (base === undefined) throw new SyntaxError("timestamp must not be the zero time");
        lastSeconds = Number(base / 1_000_000_000n);
        lastPrefix = prefix;
      }
      const ns = frac === "" ? 0 : Number(frac.padEnd(9, "0"));
      return lastSeconds * 1000 + Math.floor(ns / 1e6) + (ns % 1e6) / 1e6;
    }
  }
  const ns = parseRfc3339Nano(time);
  if (ns === undefined) throw new SyntaxError("timestamp must not be the zero time");
  return msFromEpochNs(ns);
}

/** Epoch ms of whole epoch ns written as decimal digits (CSV), as msFromEpochNs() computes it. */
function dueMsOfDigits(digits: string): number {
  if (digits.length <= 6) return Number(digits) / 1e6;
  return Number(digits.slice(0, -6)) + Number(digits.slice(-6)) / 1e6;
}

function xCacheOf(headers: unknown): ShotResult["cache"] {
  if (typeof headers !== "object" || headers === null) return undefined;
  const ours = (headers as Record<string, unknown>)["X-Cache"]; // an object: checked just above
  if (Array.isArray(ours) && typeof ours[0] === "string") return verdictOf(ours[0]);
  for (const [name, values] of Object.entries(headers)) {
    if (name.toLowerCase() !== "x-cache" || !Array.isArray(values) || typeof values[0] !== "string") continue;
    return verdictOf(values[0]);
  }
  return undefined;
}

/** `HIT` or `MISS` at the start of an X-Cache value, in any case (Squid's `HIT from host` too). */
function verdictOf(value: string): ShotResult["cache"] {
  const v = value.trim().toUpperCase();
  return v.startsWith("HIT") ? "HIT" : v.startsWith("MISS") ? "MISS" : undefined;
}

/** Fields of one CSV record, with Go's `encoding/csv` quoting; undefined while a quoted field runs on. */
export function splitCsv(line: string): string[] | undefined {
  if (!line.includes('"')) return line.split(",");
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = "";
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q === -1) return undefined; // the quoted field goes on past this line
        value += line.slice(j, q);
        if (line[q + 1] === '"') {
          value += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(value);
      if (i < line.length && line[i] !== ",") throw new SyntaxError(`extraneous text after a quoted field`);
      i++;
    } else {
      const comma = line.indexOf(",", i);
      const end = comma === -1 ? line.length : comma;
      fields.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return fields;
}

function parseCsvResult(line: string, source: string, number: number): ShotResult {
  let f: string[] | undefined;
  try {
    f = splitCsv(line);
  } catch (err) {
    throw lineError(source, number, (err as Error).message);
  }
  if (f === undefined) throw lineError(source, number, "a quoted field is not closed");
  if (f.length !== 12 && f.length !== 15) {
    throw lineError(source, number, `expected 12 fields (vegeta's) or 15 (ours), got ${f.length}`);
  }
  const tsText = f[0]!;
  if (!/^\d{1,19}$/.test(tsText)) {
    throw lineError(source, number, `timestamp must be whole ns since the epoch, got ${JSON.stringify(tsText)}`);
  }
  const due = dueMsOfDigits(tsText);
  const ours = f.length === 15;
  const sendLagNs = ours ? whole(f[12]!, "send lag", source, number) : 0;
  const r: ShotResult = {
    seq: whole(f[8]!, "seq", source, number),
    target: target(f[7]!, f[9]!, f[10]!),
    due,
    sent: due + sendLagNs / 1e6,
    latencyNs: whole(f[2]!, "latency", source, number),
    sendLagNs,
    queueNs: ours ? whole(f[13]!, "queue wait", source, number) : 0,
    slotWaitNs: ours ? whole(f[14]!, "slot wait", source, number) : 0,
    status: whole(f[1]!, "code", source, number),
    bytesIn: whole(f[4]!, "bytes in", source, number),
    bytesOut: whole(f[3]!, "bytes out", source, number),
  };
  if (f[5] !== "") r.error = f[5]!;
  if (f[11] !== "") {
    const headers = f[11]!;
    const cache = headers === X_CACHE_HIT ? "HIT" : headers === X_CACHE_MISS ? "MISS" : csvXCache(headers);
    if (cache !== undefined) r.cache = cache;
  }
  return r;
}

/** A whole number field of a CSV record. */
function whole(text: string, what: string, source: string, number: number): number {
  const n = Number(text);
  // the digits a writer prints for a whole number, nothing else ("1e3", "0x10", " 1" and "" are refused)
  if (!Number.isSafeInteger(n) || n < 0 || String(n) !== text) {
    throw lineError(source, number, `${what} must be a whole number, got ${JSON.stringify(text)}`);
  }
  return n;
}

// the headers column as this client writes it, so that most records need no base64 decoding
const X_CACHE_HIT = Buffer.from("X-Cache: HIT\r\n\r\n").toString("base64");
const X_CACHE_MISS = Buffer.from("X-Cache: MISS\r\n\r\n").toString("base64");

/** The X-Cache verdict in a base64 response headers column (vegeta's `Header.Write` form). */
function csvXCache(base64: string): ShotResult["cache"] {
  const m = /^x-cache:\s*(.*)$/im.exec(Buffer.from(base64, "base64").toString("latin1"));
  return m === null ? undefined : verdictOf(m[1]!);
}
