import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatResultCsv, formatResultJson, openResultsWriter } from "../../lib/client/results-stream.ts";
import type { ShotResult } from "../../lib/loadgen.ts";
import { AttackMetrics } from "../../lib/report/attack-metrics.ts";
import { epochNsFromMs } from "../../lib/report/epoch-ns.ts";
import { rfc3339Nano } from "../../lib/report/go-format.ts";
import { renderJson } from "../../lib/report/json.ts";
import { forEachLine, parseResultLine, ResultsFormatError, splitCsv } from "../../lib/report/read-results.ts";
import { readReportInputs } from "../../lib/report/report-inputs.ts";
import { mixedRun, shot, T0 } from "../fixtures/shots.ts";

const dir = mkdtempSync(join(tmpdir(), "cas-read-results-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const extras = { hitRatio: null, cacheStats: null };

function summaryOf(results: readonly ShotResult[], buckets?: number[]) {
  const m = new AttackMetrics(buckets ? { buckets } : {});
  for (const r of results) m.add(r);
  return m.close();
}

/** What a record keeps of a result: everything but `sent` (derived) and the target's verify hook. */
function kept(r: ShotResult) {
  const { sent: _sent, target, ...rest } = r;
  return { ...rest, target: { ...(target.name && { name: target.name }), method: target.method, url: target.url } };
}

const odd: ShotResult = shot({
  seq: 7,
  due: T0 + 12.3456789,
  latencyNs: 2e9,
  sendLagNs: 1500,
  queueNs: 1000,
  slotWaitNs: 0,
  status: 0,
  error: 'dial tcp: "quoted", with, commas\nand a line end',
  target: { name: "POST http://h/a,b", method: "POST", url: "http://h/a,b" },
  bytesOut: 11,
});

describe("results records", () => {
  test("a JSON line holds vegeta's Result fields in order, then ours, and reads back to the same result", () => {
    const r = shot({ seq: 3, due: T0 + 0.5, cache: "HIT", queueNs: 20, slotWaitNs: 0, sendLagNs: 30 });
    const line = formatResultJson(r);
    expect(line.endsWith("}\n")).toBe(true);
    const o = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(o)).toEqual([
      ...["attack", "seq", "code", "timestamp", "latency", "bytes_out", "bytes_in", "error", "body", "method", "url"],
      ...["headers", "send_lag", "queue_wait", "slot_wait"],
    ]);
    expect(o).toMatchObject({ attack: "GET http://x/", timestamp: "2026-11-25T15:00:00.0005Z", latency: 1e6 });
    expect(o.headers).toEqual({ "X-Cache": ["HIT"] });
    expect(kept(parseResultLine(line.trimEnd(), "r", 1))).toEqual(
      kept({ ...r, target: { ...r.target, name: "GET http://x/" } }),
    );
    expect(kept(parseResultLine(formatResultJson(odd).trimEnd(), "r", 1))).toEqual(kept(odd));
  });

  test("record timestamps are the whole ns of the due time, as the report takes them", () => {
    for (let i = 0; i < 20_000; i++) {
      const due = T0 + i * 0.0731 + performance.now() / 1e3;
      const json = JSON.parse(formatResultJson(shot({ due }))) as { timestamp: string };
      expect(json.timestamp).toBe(rfc3339Nano(epochNsFromMs(due)));
      expect(splitCsv(formatResultCsv(shot({ due })))![0]).toBe(String(epochNsFromMs(due)));
    }
  });

  test("a CSV record has vegeta's 12 columns in encode --to csv order, then ours, and reads back", () => {
    const r = shot({ seq: 3, due: T0 + 0.5, cache: "MISS", status: 404, error: "404 Not Found", bytesIn: 9 });
    const fields = splitCsv(formatResultCsv(r).trimEnd())!;
    expect(fields.length).toBe(15);
    expect(fields.slice(0, 11)).toEqual([
      ...["1795618800000500000", "404", "1000000", "0", "9", "404 Not Found", ""],
      ...["GET http://x/", "3", "GET", "http://x/"],
    ]);
    expect(Buffer.from(fields[11]!, "base64").toString()).toBe("X-Cache: MISS\r\n\r\n");
    expect(fields.slice(12)).toEqual(["0", "0", "0"]);
    expect(kept(parseResultLine(formatResultCsv(r).trimEnd(), "r", 1)).cache).toBe("MISS");
    // a quoted error with commas, quotes and a line end spans two lines of the file
    const csv = formatResultCsv(odd);
    expect(csv.split("\n").length).toBe(3);
    expect(splitCsv(csv.split("\n")[0]!)).toBeUndefined();
    expect(kept(parseResultLine(csv.trimEnd(), "r", 1))).toEqual(kept(odd));
  });

  test("vegeta's own JSON and 12-column CSV results are read, with no send lag", () => {
    const vegetaJson =
      '{"attack":"","seq":0,"code":200,"timestamp":"2026-11-25T15:00:00.123456789+01:00","latency":1500000,' +
      '"bytes_out":0,"bytes_in":12,"error":"","body":"aGVsbG8=","method":"GET","url":"http://h/","headers":{"X-Cache":["HIT from squid"]}}';
    const j = parseResultLine(vegetaJson, "v", 1);
    expect(j).toMatchObject({ status: 200, latencyNs: 1.5e6, sendLagNs: 0, bytesIn: 12, cache: "HIT" });
    expect(j.target).toEqual({ method: "GET", url: "http://h/" });
    expect(j.due).toBe(T0 - 3600e3 + 123.456789);
    const c = parseResultLine("1795618800000000000,503,42,0,0,503 Service Unavailable,,,5,GET,http://h/,", "v", 1);
    expect(c).toMatchObject({ seq: 5, status: 503, latencyNs: 42, error: "503 Service Unavailable", due: T0 });
  });

  test("a record that cannot be read names the file and the line", () => {
    const bad: [string, string][] = [
      ['{"code":200', "f line 4: not JSON"],
      ["[1]", "f line 4: expected 12 fields"],
      ['{"code":200,"latency":1}', "f line 4: timestamp must be an RFC 3339 time"],
      ['{"code":200,"latency":1,"timestamp":"soon"}', 'Cannot parse "soon" as an RFC 3339 time'],
      ['{"code":"200","latency":1,"timestamp":"2026-11-25T15:00:00Z"}', "f line 4: code must be a number"],
      [
        '{"code":200,"latency":-1,"timestamp":"2026-11-25T15:00:00Z"}',
        "f line 4: latency must be a number of at least 0",
      ],
      ["1,2,3", "f line 4: expected 12 fields (vegeta's) or 15 (ours), got 3"],
      ["x,200,1,0,0,,,,0,GET,http://h/,", 'f line 4: timestamp must be whole ns since the epoch, got "x"'],
      ["1,200,fast,0,0,,,,0,GET,http://h/,", 'f line 4: latency must be a whole number, got "fast"'],
      ['1,200,1,0,0,"a"b,,,0,GET,http://h/,', "f line 4: extraneous text after a quoted field"],
    ];
    for (const [line, message] of bad) {
      expect(() => parseResultLine(line, "f", 4)).toThrow(ResultsFormatError);
      expect(() => parseResultLine(line, "f", 4)).toThrow(message);
    }
  });
});

describe("a results file", () => {
  for (const format of ["json", "csv"] as const) {
    test(`in ${format} reads back, streaming, to the report of the results written`, async () => {
      const results = [...mixedRun(1, 4000, T0 + 0.4), odd];
      const path = join(dir, `run.${format}`);
      const writer = openResultsWriter(path, format);
      for (const r of results) writer.write(r);
      writer.close();
      writer.close(); // twice is harmless
      expect(writer.records).toBe(results.length);
      const read = await readReportInputs([path], { buckets: [0, 1e6, 10e6] });
      expect(read.records).toBe(results.length);
      expect(renderJson(read.summary, read.extras)).toBe(renderJson(summaryOf(results, [0, 1e6, 10e6]), extras));
    });
  }

  test("several files, and reports among them, combine into one summary", async () => {
    const a = mixedRun(2, 1000, T0);
    const b = mixedRun(3, 1000, T0 + 3.3);
    const fileA = join(dir, "a.jsonl");
    const reportB = join(dir, "b.json");
    const w = openResultsWriter(fileA, "json");
    for (const r of a) w.write(r);
    w.close();
    writeFileSync(reportB, renderJson(summaryOf(b), extras));
    const read = await readReportInputs([fileA, reportB]);
    expect([read.records, read.reports]).toEqual([1000, 1]);
    expect(renderJson(read.summary, read.extras)).toBe(renderJson(summaryOf([...a, ...b]), extras));
  });

  test("a bad line stops the read with the file and line; an empty file is a report of nothing", async () => {
    const path = join(dir, "bad.jsonl");
    writeFileSync(path, formatResultJson(shot()) + "\n" + '{"code":200}\n');
    expect(readReportInputs([path])).rejects.toThrow(`${path} line 3: timestamp must be an RFC 3339 time`);
    const open = join(dir, "open.csv");
    writeFileSync(open, '1,200,1,0,0,"never closed\n');
    expect(readReportInputs([open])).rejects.toThrow(`${open} line 1: a quoted field is not closed`);
    const empty = join(dir, "empty.jsonl");
    writeFileSync(empty, "");
    expect((await readReportInputs([empty])).summary.requests).toBe(0);
    expect(readFileSync(empty, "utf8")).toBe("");
  });
});

test("forEachLine() splits chunks at line ends, CRLF too, keeping a last line without one", async () => {
  const chunks = ["a\r\nb", "c\n", "\nd"].map((s) => new TextEncoder().encode(s));
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk);
      c.close();
    },
  });
  const lines: [string, number][] = [];
  expect(await forEachLine(stream, (line, n) => lines.push([line, n]))).toBe(4);
  expect(lines).toEqual([
    ["a", 1],
    ["bc", 2],
    ["", 3],
    ["d", 4],
  ]);
});
