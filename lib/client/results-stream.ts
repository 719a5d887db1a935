/**
 * `--results FILE`: one record per request, written as it completes, in vegeta's result formats plus our
 * timing fields: JSON lines (vegeta's `Result` fields, which vegeta's own decoder reads, then `send_lag`,
 * `queue_wait` and `slot_wait`) or CSV (vegeta's 12 columns of `encode --to csv`, then the same 3). Buffered and
 * written synchronously in 64 KiB blocks, so memory stays flat however long the run. `timestamp` is the due time
 * and `latency` counts from it (vegeta: the actual send); `attack` holds the target's name.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import type { ShotResult } from "../loadgen.ts";
import { epochNsFromMs } from "../report/epoch-ns.ts";
import { rfc3339Nano } from "../report/go-format.ts";
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
  let pending: string[] = [];
  let pendingBytes = 0;
  let records = 0;
  let closed = false;
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join("");
    pending = [];
    pendingBytes = 0;
    writeSync(fd, text);
  };
  return {
    write(r) {
      const line = format1(r);
      pending.push(line);
      pendingBytes += line.length;
      records++;
      if (pendingBytes >= BLOCK) flush();
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
  const t = timing(r);
  return (
    `{"attack":${JSON.stringify(targetName(r.target))},"seq":${r.seq},"code":${r.status},` +
    `"timestamp":"${rfc3339Nano(t.due)}","latency":${t.latency},"bytes_out":${r.bytesOut},"bytes_in":${r.bytesIn},` +
    `"error":${JSON.stringify(r.error ?? "")},"body":null,"method":${JSON.stringify(r.target.method)},` +
    `"url":${JSON.stringify(r.target.url)},"headers":${r.cache === undefined ? "null" : `{"X-Cache":["${r.cache}"]}`},` +
    `"send_lag":${t.sendLag},"queue_wait":${t.queue},"slot_wait":${t.slot}}\n`
  );
}

/**
 * One CSV record: timestamp (ns), code, latency (ns), bytes out, bytes in, error, base64 body (empty: bodies are
 * not kept), attack (the target's name), seq, method, URL, base64 response headers (the X-Cache header when there
 * was one), then send lag, queue wait and slot wait (ns).
 */
export function formatResultCsv(r: ShotResult): string {
  const t = timing(r);
  const headers = r.cache === undefined ? "" : X_CACHE_BASE64[r.cache];
  return (
    `${t.due},${r.status},${t.latency},${r.bytesOut},${r.bytesIn},${csvField(r.error ?? "")},,` +
    `${csvField(targetName(r.target))},${r.seq},${csvField(r.target.method)},${csvField(r.target.url)},${headers},` +
    `${t.sendLag},${t.queue},${t.slot}\n`
  );
}

/** Go's `http.Header.Write` of the one header, plus the blank line vegeta adds. */
const X_CACHE_BASE64 = {
  HIT: Buffer.from("X-Cache: HIT\r\n\r\n").toString("base64"),
  MISS: Buffer.from("X-Cache: MISS\r\n\r\n").toString("base64"),
};

/** The record's times in whole ns, rounded exactly as the report rounds them. */
function timing(r: ShotResult): { due: bigint; latency: number; sendLag: number; queue: number; slot: number } {
  return {
    due: epochNsFromMs(r.due),
    latency: Math.max(0, Math.round(r.latencyNs)),
    sendLag: Math.max(0, Math.round(r.sendLagNs)),
    queue: Math.max(0, Math.round(r.queueNs ?? 0)),
    slot: Math.max(0, Math.round(r.slotWaitNs ?? 0)),
  };
}

/** Go's `encoding/csv` quoting: quote a field holding a comma, quote, CR, LF or a leading space. */
function csvField(text: string): string {
  if (text === "" || !/[",\r\n]|^ /.test(text)) return text;
  return `"${text.replace(/"/g, '""')}"`;
}
