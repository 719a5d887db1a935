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
  const fail = (reason: string): never => {
    throw new ResultsFormatError(`${source} line ${number}: ${reason}`);
  };
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    fail(`not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return fail("expected one result object per line");
  const o = v as Record<string, unknown>; // checked to be a plain object just above
  const num = (key: string, optional = false): number => {
    const x = o[key];
    if (x === undefined && optional) return 0;
    if (typeof x !== "number" || !(x >= 0)) return fail(`${key} must be a number of at least 0`);
    return x;
  };
  const str = (key: string): string => {
    const x = o[key];
    if (x === undefined || x === null) return "";
    if (typeof x !== "string") return fail(`${key} must be a string`);
    return x;
  };
  if (typeof o.timestamp !== "string") fail("timestamp must be an RFC 3339 time");
  let dueNs: bigint | undefined;
  try {
    dueNs = timestampNs(o.timestamp as string); // checked to be a string just above
  } catch (err) {
    fail((err as Error).message);
  }
  const due = dueMs(dueNs ?? fail("timestamp must not be the zero time"));
  const latencyNs = num("latency");
  const sendLagNs = num("send_lag", true);
  const r: ShotResult = {
    seq: num("seq", true),
    target: target(str("attack"), str("method"), str("url")),
    due,
    sent: due + sendLagNs / 1e6,
    latencyNs,
    sendLagNs,
    queueNs: num("queue_wait", true),
    slotWaitNs: num("slot_wait", true),
    status: num("code"),
    bytesIn: num("bytes_in", true),
    bytesOut: num("bytes_out", true),
  };
  const error = str("error");
  if (error !== "") r.error = error;
  const cache = xCacheOf(o.headers);
  if (cache !== undefined) r.cache = cache;
  return r;
}

/** RFC 3339 to epoch ns, with the seconds part of the last timestamp kept: records of one second share it. */
let lastPrefix = "";
let lastPrefixNs = 0n;
function timestampNs(text: string): bigint | undefined {
  // "2026-11-25T15:37:01" then ".123456789Z" or "Z"
  if (text.length >= 20 && text.charCodeAt(text.length - 1) === 90 && text.charCodeAt(19) !== 43) {
    const prefix = text.slice(0, 19);
    const frac = text.length > 20 ? text.slice(20, -1) : "";
    if ((text.length === 20 || text[19] === ".") && /^\d{0,9}$/.test(frac)) {
      if (prefix !== lastPrefix) {
        const base = parseRfc3339Nano(`${prefix}Z`);
        if (base === undefined) return undefined;
        lastPrefix = prefix;
        lastPrefixNs = base;
      }
      return lastPrefixNs + BigInt(frac.padEnd(9, "0") || "0");
    }
  }
  return parseRfc3339Nano(text);
}

function dueMs(ns: bigint): number {
  return msFromEpochNs(ns);
}

function xCacheOf(headers: unknown): ShotResult["cache"] {
  if (typeof headers !== "object" || headers === null) return undefined;
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
  const fail = (reason: string): never => {
    throw new ResultsFormatError(`${source} line ${number}: ${reason}`);
  };
  let f: string[] | undefined;
  try {
    f = splitCsv(line);
  } catch (err) {
    fail((err as Error).message);
  }
  if (f === undefined) return fail("a quoted field is not closed");
  if (f.length !== 12 && f.length !== 15) fail(`expected 12 fields (vegeta's) or 15 (ours), got ${f.length}`);
  const int = (i: number, what: string): number => {
    const text = f[i]!;
    if (!/^\d+$/.test(text)) return fail(`${what} must be a whole number, got ${JSON.stringify(text)}`);
    return Number(text);
  };
  const tsText = f[0]!;
  if (!/^\d{1,19}$/.test(tsText)) fail(`timestamp must be whole ns since the epoch, got ${JSON.stringify(tsText)}`);
  const due = dueMs(BigInt(tsText));
  const sendLagNs = f.length === 15 ? int(12, "send lag") : 0;
  const r: ShotResult = {
    seq: int(8, "seq"),
    target: target(f[7]!, f[9]!, f[10]!),
    due,
    sent: due + sendLagNs / 1e6,
    latencyNs: int(2, "latency"),
    sendLagNs,
    queueNs: f.length === 15 ? int(13, "queue wait") : 0,
    slotWaitNs: f.length === 15 ? int(14, "slot wait") : 0,
    status: int(1, "code"),
    bytesIn: int(4, "bytes in"),
    bytesOut: int(3, "bytes out"),
  };
  if (f[5] !== "") r.error = f[5]!;
  if (f[11] !== "") {
    const text = Buffer.from(f[11]!, "base64").toString("latin1");
    const m = /^x-cache:\s*(.*)$/im.exec(text);
    const cache = m === null ? undefined : verdictOf(m[1]!);
    if (cache !== undefined) r.cache = cache;
  }
  return r;
}
