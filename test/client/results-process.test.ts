import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestHex } from "../../lib/common/key.ts";
import { splitCsv } from "../../lib/report/read-results.ts";
import { runClient } from "../support/client-run.ts";

// any: reports and records are checked field by field against their documented shape
type Json = Record<string, any>;

const GOOD_KEY = digestHex("sha256", new TextEncoder().encode("good"));

let target: ReturnType<typeof Bun.serve>;
let base: string;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "cas-results-"));
  target = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/missing") return new Response("no", { status: 404 });
      if (path === "/slow") await Bun.sleep(1000); // beyond the runs' --timeout
      if (path === "/slow20") await Bun.sleep(20);
      if (path.startsWith("/cas/")) return new Response("bad"); // not the blob its key names
      return new Response("ok");
    },
  });
  base = `http://127.0.0.1:${target.port}`;
});

afterAll(() => {
  void target.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

function targetsFile(name: string, paths: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, paths.map((p) => `GET ${base}${p}`).join("\n\n") + "\n");
  return file;
}

const quiet = ["--log-level", "error"];

/** The JSON lines of a results file. */
function records(path: string): Json[] {
  return readFileSync(path, "utf8")
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as Json);
}

describe("a run with 200s, 404s, timeouts and integrity failures", () => {
  const mixed = () => targetsFile("mixed.txt", ["/ok", "/missing", "/slow", `/cas/${GOOD_KEY}`]);
  const run = (extra: string[]) =>
    runClient(["--targets", mixed(), "--rate", "40", "--duration", "1s", "--timeout", "200ms", ...quiet, ...extra]);

  test("--results streams one JSON record per request with its outcome, due time, latency and lags", async () => {
    const results = join(dir, "mixed.jsonl");
    const live = join(dir, "mixed-live.json");
    const attack = await run(["--results", results, "--json", live]);
    expect(attack.code).toBe(1); // the bad bodies fail the run by default
    const list = records(results);
    expect(list.length).toBe(40);
    for (const r of list) {
      expect(Object.keys(r)).toEqual([
        ...["attack", "seq", "code", "timestamp", "latency", "bytes_out", "bytes_in", "error", "body", "method"],
        ...["url", "headers", "send_lag", "queue_wait", "slot_wait"],
      ]);
      expect(r.send_lag).toBeGreaterThanOrEqual(r.queue_wait);
      expect(r.queue_wait).toBeGreaterThanOrEqual(r.slot_wait);
      expect(Number.isInteger(r.latency) && Number.isInteger(r.send_lag)).toBe(true);
      expect(r.attack).toBe(`GET ${r.url}`);
    }
    const by = (path: string) => list.filter((r) => r.url === `${base}${path}`);
    expect(by("/ok").map((r) => [r.code, r.error, r.bytes_in])).toEqual(Array(10).fill([200, "", 2]));
    expect(by("/missing").map((r) => [r.code, r.error])).toEqual(Array(10).fill([404, "404 Not Found"]));
    const slow = by("/slow");
    expect(slow.map((r) => [r.code, r.error])).toEqual(Array(10).fill([0, "timeout"]));
    // a timeout counts from the due time: at least the 200 ms, and well before the 1 s the target takes
    for (const r of slow) expect(r.latency).toBeGreaterThanOrEqual(200e6);
    for (const r of slow) expect(r.latency).toBeLessThan(900e6);
    expect(by(`/cas/${GOOD_KEY}`).map((r) => [r.code, r.error])).toEqual(
      Array(10).fill([200, "body does not match its key"]),
    );
    // due times: one every 25 ms from the first, to the ns
    const due = (r: Json) => BigInt(Date.parse(r.timestamp)) * 1_000_000n + BigInt(nanos(r.timestamp));
    const first = due(list.find((r) => r.seq === 0)!);
    for (const r of list) expect(Number(due(r) - first)).toBeCloseTo(r.seq * 25e6, -1);
    // written as they completed: the timeouts come after requests that were due later
    expect(list.findIndex((r) => r.error === "timeout")).toBeGreaterThan(list.findIndex((r) => r.seq === 4));

    // the report of the results file is the live report
    const reported = await runClient(["report", results, ...quiet]);
    expect(reported.code).toBe(1);
    const liveReport = JSON.parse(readFileSync(live, "utf8")) as Json;
    expect(JSON.parse(reported.stdout)).toEqual(liveReport);
    expect(liveReport.cas.integrity_failures).toBe(10);
    expect(liveReport.status_codes).toEqual({ "0": 10, "200": 20, "404": 10 });
  });

  test("--results-format csv writes vegeta's columns then ours, and reports the same as the live run", async () => {
    const results = join(dir, "mixed.csv");
    const live = join(dir, "mixed-live-csv.json");
    const attack = await run(["--results", results, "--results-format", "csv", "--json", live]);
    expect(attack.code).toBe(1);
    const rows = readFileSync(results, "utf8").trimEnd().split("\n").map(splitCsv);
    expect(rows.length).toBe(40);
    for (const row of rows) {
      expect(row!.length).toBe(15);
      const [ts, code, latency, bytesOut, bytesIn, error, body, attackName, seq, method, url] = row!;
      expect(ts).toMatch(/^\d{19}$/);
      expect([bytesOut, body, method, attackName]).toEqual(["0", "", "GET", `GET ${url}`]);
      expect(Number(latency)).toBeGreaterThan(0);
      expect(Number(seq)).toBeLessThan(40);
      if (url === `${base}/slow`) expect([code, error, bytesIn]).toEqual(["0", "timeout", "0"]);
      if (url === `${base}/missing`) expect([code, error]).toEqual(["404", "404 Not Found"]);
    }
    const reported = await runClient(["report", results, ...quiet]);
    expect(JSON.parse(reported.stdout)).toEqual(JSON.parse(readFileSync(live, "utf8")));
  });
});

/** Nanoseconds past the second of an RFC 3339 time. */
function nanos(rfc3339: string): number {
  const m = /\.(\d{1,9})Z$/.exec(rfc3339);
  return m === null ? 0 : Number(m[1]!.padEnd(9, "0")) - Number(m[1]!.slice(0, 3).padEnd(9, "0"));
}

test("4 generators' JSON reports merge to the report over the union of their results", async () => {
  const file = targetsFile("merge.txt", ["/ok", "/missing", "/slow20"]);
  const runs = await Promise.all(
    [0, 1, 2, 3].map((g) =>
      runClient([
        ...["--targets", file, "--rate", "60", "--duration", "1s", ...quiet],
        ...["--json", join(dir, `g${g}.json`), "--results", join(dir, `g${g}.jsonl`)],
      ]),
    ),
  );
  for (const r of runs) expect([0, 3]).toContain(r.code); // four generators on two cores may fall behind
  const reports = [0, 1, 2, 3].map((g) => join(dir, `g${g}.json`));
  const results = [0, 1, 2, 3].map((g) => join(dir, `g${g}.jsonl`));
  const [merged, union] = await Promise.all([
    runClient(["report", "--max-send-lag", "1h", ...reports]),
    runClient(["report", "--max-send-lag", "1h", ...results]),
  ]);
  expect(merged.stderr).toBe("");
  expect(merged.code).toBe(0);
  const m = JSON.parse(merged.stdout) as Json;
  const u = JSON.parse(union.stdout) as Json;
  expect(m).toEqual(u);
  // every percentile, count, min/max, status code and error, spelled out
  expect(m.requests).toBe(240);
  expect(m.latencies).toEqual(u.latencies);
  expect(m.status_codes).toEqual({ "200": 160, "404": 80 });
  expect(m.errors).toEqual(["404 Not Found"]);
  expect(Object.keys(m.cas.by_target)).toEqual(["/ok", "/missing", "/slow20"].map((p) => `GET ${base}${p}`));
  const parts = reports.map((p) => JSON.parse(readFileSync(p, "utf8")) as Json);
  expect(m.latencies.max).toBe(Math.max(...parts.map((p) => p.latencies.max)));
  expect(m.latencies.min).toBe(Math.min(...parts.map((p) => p.latencies.min)));
  const text = await Promise.all([
    runClient(["report", "--type", "text", ...reports]),
    runClient(["report", "--type", "text", ...results]),
  ]);
  expect(text[0]!.stdout).toBe(text[1]!.stdout);
}, 30_000);

describe("exit codes", () => {
  test("0 when every threshold holds", async () => {
    const file = targetsFile("ok.txt", ["/ok"]);
    const run = await runClient([
      ...["--targets", file, "--rate", "100", "--duration", "1s", ...quiet],
      ...["--threshold", "p99<5s", "--threshold", "success>=0.99", "--threshold", "errors==0", "--report", "text"],
      // this test is about the thresholds: a stall of this shared machine must not make it a generator verdict
      ...["--max-send-lag", "1s"],
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\nThresholds:\nPASS  integrity_failures==0  0\nPASS  p99<5s +\S+\n/);
    expect(run.stdout.trimEnd().split("\n").at(-1)).toBe("Verdict: exit 0: every threshold holds (4)");
  });

  test("1 when the system under test breaks a threshold", async () => {
    const file = targetsFile("half.txt", ["/ok", "/missing"]);
    const run = await runClient([
      "--targets",
      file,
      "--rate",
      "40",
      "--duration",
      "0.5s",
      "--threshold",
      "errors==0",
      ...quiet,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe("client: exit 1: the system under test broke 1 threshold: errors==0\n");
    const report = JSON.parse(run.stdout) as Json;
    expect(report.cas.thresholds).toEqual([
      { threshold: "integrity_failures==0", measured: 0, pass: true },
      { threshold: "errors==0", measured: 10, pass: false },
    ]);
    expect(report.cas.verdict.exit_code).toBe(1);
  });

  test("1 for a body that does not match its key, with no threshold given", async () => {
    const run = await runClient(["--url", `${base}/cas/${GOOD_KEY}`, "--rate", "20", "--duration", "0.5s", ...quiet]);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).success).toBe(1); // vegeta's success counts the status only
    expect(run.stderr).toBe("client: exit 1: the system under test broke 1 threshold: integrity_failures==0\n");
  });

  test("3 when requests wait for a --max-inflight slot, and the report of its results says the same", async () => {
    const results = join(dir, "starved.jsonl");
    const run = await runClient([
      ...["--url", `${base}/slow20`, "--rate", "200", "--duration", "0.5s", "--max-inflight", "1", "--timeout", "0"],
      ...["--threshold", "p99<1ns", "--results", results, ...quiet],
    ]);
    expect(run.code).toBe(3);
    expect(run.stderr).toStartWith(
      "client: exit 3: the generator could not keep its schedule, so the run says nothing about the target: ",
    );
    expect(run.stderr).toContain("waited for a free --max-inflight slot past their due time");
    const report = JSON.parse(run.stdout) as Json;
    expect(report.requests).toBe(100);
    expect(report.cas.slot_waits).toBeGreaterThan(90);
    // honest rates: 100 scheduled over 0.5 s, but one at a time at 20 ms each
    expect(report.cas.target_rate).toBeCloseTo(200, 3);
    expect(report.cas.achieved_rate).toBeLessThan(55);
    const again = await runClient(["report", "--threshold", "p99<1ns", results, ...quiet]);
    expect(again.code).toBe(3);
  }, 20_000);

  test("3 when the generator's own send lag p99 is above --max-send-lag", async () => {
    const run = await runClient([
      "--url",
      `${base}/ok`,
      "--rate",
      "200",
      "--duration",
      "0.5s",
      "--max-send-lag",
      "1ns",
      ...quiet,
    ]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/its own send lag p99 was \S+, above --max-send-lag 1ns/);
  });

  test("2 for a bad threshold, a threshold naming no target, or an unreadable report input", async () => {
    const url = `${base}/ok`;
    const bad = await runClient(["--url", url, "--threshold", "p99<50"]);
    expect([bad.code, bad.stderr]).toEqual([
      2,
      'client: invalid value "p99<50" for --threshold: expected a duration such as 50ms or 1.5s for p99, got "50"\n',
    ]);
    const unknown = await runClient(["--url", url, "--threshold", "target=GET http://elsewhere/:p99<1s", ...quiet]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      `client: --threshold "target=GET http://elsewhere/:p99<1s" names no target of this run (targets: "GET ${url}")\n`,
    );
    const notes = join(dir, "notes.jsonl");
    writeFileSync(notes, '{"code":200}\n');
    const report = await runClient(["report", notes]);
    expect([report.code, report.stderr]).toEqual([
      2,
      `client report: ${notes} line 1: timestamp must be an RFC 3339 time\n`,
    ]);
    const absent = await runClient(["report", join(dir, "absent.jsonl")]);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toStartWith("client report: cannot read: ");
    const badType = await runClient(["report", "--type", "csv", notes]);
    expect([badType.code, badType.stderr]).toEqual([
      2,
      'client report: invalid value "csv" for --type: unknown report type: "csv"\n',
    ]);
  });
});
