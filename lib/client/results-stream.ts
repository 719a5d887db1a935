/**
 * `--results FILE`: one record per request, written as it completes, in vegeta's result formats plus our
 * timing fields: JSON lines (vegeta's `Result` fields, which vegeta's own decoder reads, then `send_lag`,
 * `queue_wait` and `slot_wait`) or CSV (vegeta's 12 columns of `encode --to csv`, then the same 3). Buffered and
 * written synchronously in 64 KiB blocks, so memory stays flat however long the run. `timestamp` is the due time
 * and `latency` counts from it (vegeta: the actual send); `attack` holds the target's name.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import type { ShotResult } from "../loadgen.ts";
import { carriedSeconds, nanosPast } from "../report/epoch-ns.ts";
import { targetName } from "../report/attack-metrics.ts";

export type ResultsFormat = "json" | "csv";

/** Bytes gathered before one write. */
const BLOCK = 64 * 1024;

export interface ResultsWriter {
  /** Appends one record; throws when the file cannot be written. */
  write(r: ShotResult): void;
  /** Writes what is buffered and closes the file. Safe to call twice. */
  close(): void;
  readonly records: number;
}

/** Parses `--results-format`: `json` or `csv`. */
export function parseResultsFormat(raw: string): ResultsFormat {
  const v = raw.trim();
  if (v === "json" || v === "csv") return v;
  throw new SyntaxError('expected "json" or "csv"');
}

/** Creates (or truncates) `path` and returns a writer of `format` records to it. Throws when it cannot. */
export function openResultsWriter(path: string, format: ResultsFormat): ResultsWriter {
  const fd = openSync(path, "w");
  const format1 = format === "json" ? formatResultJson : formatResultCsv;
  // one growing string: appending is cheaper per record than pushing to an array and joining it per block
  let pending = "";
  let records = 0;
  let closed = false;
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending;
    pending = "";
    writeSync(fd, text);
  };
  return {
    write(r) {
      pending += format1(r);
      records++;
      if (pending.length >= BLOCK) flush();
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        flush();
      } finally {
        closeSync(fd);
      }
    },
    get records() {
      return records;
    },
  };
}

/** One JSON line: vegeta's `Result` in its field order, then ours. */
export function formatResultJson(r: ShotResult): string {
  const t = fragments(r.target);
  return (
    `${t.jsonHead}${r.seq},"code":${r.status},"timestamp":"${rfc3339Of(r.due)}","latency":${ns(r.latencyNs)},` +
    `"bytes_out":${r.bytesOut},"bytes_in":${r.bytesIn},"error":${r.error === undefined ? '""' : JSON.stringify(r.error)},` +
    `"body":null${t.jsonMiddle}${r.cache === undefined ? "null" : X_CACHE_JSON[r.cache]},` +
    `"send_lag":${ns(r.sendLagNs)},"queue_wait":${ns(r.queueNs ?? 0)},"slot_wait":${ns(r.slotWaitNs ?? 0)}}\n`
  );
}

/**
 * One CSV record: timestamp (ns), code, latency (ns), bytes out, bytes in, error, base64 body (empty: bodies are
 * not kept), attack (the target's name), seq, method, URL, base64 response headers (the X-Cache header when there
 * was one), then send lag, queue wait and slot wait (ns).
 */
export function formatResultCsv(r: ShotResult): string {
  const t = fragments(r.target);
  const headers = r.cache === undefined ? "" : X_CACHE_BASE64[r.cache];
  return (
    `${epochNsDigits(r.due)},${r.status},${ns(r.latencyNs)},${r.bytesOut},${r.bytesIn},${csvField(r.error ?? "")},,` +
    `${t.csvName},${r.seq},${t.csvRequest},${headers},${ns(r.sendLagNs)},${ns(r.queueNs ?? 0)},${ns(r.slotWaitNs ?? 0)}\n`
  );
}

const X_CACHE_JSON = { HIT: '{"X-Cache":["HIT"]}', MISS: '{"X-Cache":["MISS"]}' };

/** Go's `http.Header.Write` of the one header, plus the blank line vegeta adds. */
const X_CACHE_BASE64 = {
  HIT: Buffer.from("X-Cache: HIT\r\n\r\n").toString("base64"),
  MISS: Buffer.from("X-Cache: MISS\r\n\r\n").toString("base64"),
};

/** A duration in whole ns, rounded exactly as the report rounds it. */
function ns(value: number): number {
  return Math.max(0, Math.round(value));
}

/** The parts of a record that depend only on its target, escaped once per target rather than once per record. */
interface Fragments {
  jsonHead: string;
  jsonMiddle: string;
  csvName: string;
  csvRequest: string;
}

const byTarget = new WeakMap<ShotResult["target"], Fragments>();

function fragments(target: ShotResult["target"]): Fragments {
  let f = byTarget.get(target);
  if (f === undefined) {
    f = {
      jsonHead: `{"attack":${JSON.stringify(targetName(target))},"seq":`,
      jsonMiddle: `,"method":${JSON.stringify(target.method)},"url":${JSON.stringify(target.url)},"headers":`,
      csvName: csvField(targetName(target)),
      csvRequest: `${csvField(target.method)},${csvField(target.url)}`,
    };
    byTarget.set(target, f);
  }
  return f;
}

// "YYYY-MM-DDTHH:MM:SS" of the last whole second formatted: the records of one second share it
let lastSecond = NaN;
let lastPrefix = "";

/** Go's RFC 3339 with ns of epoch ms, equal to rfc3339Nano(epochNsFromMs(ms)), without a bigint per record. */
function rfc3339Of(ms: number): string {
  const s = carriedSeconds(ms);
  const nanos = nanosPast(ms, s);
  if (s !== lastSecond) {
    lastSecond = s;
    lastPrefix = new Date(s * 1000).toISOString().slice(0, 19);
  }
  return nanos === 0 ? `${lastPrefix}Z` : `${lastPrefix}.${String(nanos).padStart(9, "0").replace(/0+$/, "")}Z`;
}

/** Whole epoch ns of epoch ms as decimal digits, equal to String(epochNsFromMs(ms)). */
function epochNsDigits(ms: number): string {
  const s = carriedSeconds(ms);
  const nanos = nanosPast(ms, s);
  return s === 0 ? String(nanos) : `${s}${String(nanos).padStart(9, "0")}`;
}

/** Go's `encoding/csv` quoting: quote a field holding a comma, quote, CR, LF or a leading space. */
function csvField(text: string): string {
  if (text === "" || !/[",\r\n]|^ /.test(text)) return text;
  return `"${text.replace(/"/g, '""')}"`;
}
