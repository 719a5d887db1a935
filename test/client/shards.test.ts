/**
 * Four generators, each `--shard I/4` of one schedule and all `--start-at` one time, against a real server: they
 * send exactly the requests of that schedule, none twice, and `bun client.ts report` merges their reports into
 * what one generator reports for the same schedule.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runClient } from "../support/client-run.ts";

const seen = new Map<string, number>();
const target = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req) {
    const path = new URL(req.url).pathname;
    seen.set(path, (seen.get(path) ?? 0) + 1);
    return path === "/c" ? new Response("no", { status: 404 }) : new Response("ok");
  },
});
const base = `http://127.0.0.1:${target.port}`;
const dir = mkdtempSync(join(tmpdir(), "cas-shards-"));
afterAll(() => {
  void target.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

// any: reports and results records are checked field by field
type Json = Record<string, any>;

/** One schedule: three targets round-robin, two steps of 1 s (600 requests). */
const SCHEDULE = [...["--url", `${base}/a`, "--url", `${base}/b`, "--url", `${base}/c`]];
SCHEDULE.push(...["--steps", "200,400/s", "--step-duration", "1s", "--quiet", "--log-level", "warn"]);
// the thresholds hold whatever the latency: this test is about what was sent, not how fast
SCHEDULE.push(...["--max-send-lag", "1s", "--threshold", "requests>=0"]);

const lines = (file: string) =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Json);

test(
  "4 shards send exactly one schedule's requests, none twice, and merge into one generator's report",
  async () => {
    seen.clear();
    // far enough ahead for four processes to start on a busy machine
    const startAt = new Date(Date.now() + 4000).toISOString();
    const runs = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        runClient([
          ...SCHEDULE,
          ...["--shard", `${i}/4`, "--start-at", startAt],
          ...["--json", join(dir, `shard-${i}.json`), "--results", join(dir, `shard-${i}.jsonl`)],
        ]),
      ),
    );
    for (const run of runs) expect([run.code, run.stderr]).toEqual([0, ""]);
    expect([...seen.values()].reduce((a, b) => a + b, 0)).toBe(600);
    expect(Object.fromEntries(seen)).toEqual({ "/a": 200, "/b": 200, "/c": 200 });

    const records = [0, 1, 2, 3].flatMap((i) => lines(join(dir, `shard-${i}.jsonl`)));
    expect(records.length).toBe(600);
    // each request of the schedule once: its index and its due time
    expect(records.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 600 }, (_, i) => i));
    expect(new Set(records.map((r) => r.timestamp)).size).toBe(600);
    // request i went to target i mod 3, as one generator would have sent it
    for (const r of records) expect(r.url).toBe(`${base}/${"abc"[r.seq % 3]}`);

    const merged = await runClient([
      "report",
      ...["--type", "json", "--threshold", "requests>=0", "--max-send-lag", "1s"],
      ...[0, 1, 2, 3].map((i) => join(dir, `shard-${i}.json`)),
    ]);
    expect(merged.code).toBe(0);
    const m = JSON.parse(merged.stdout) as Json;
    expect(m.cas.starts.map((s: Json) => s.shard)).toEqual(["0/4", "1/4", "2/4", "3/4"]);
    // the same instant; RFC 3339 with nanoseconds, as Go writes it, drops trailing zeros (".020Z" -> ".02Z")
    for (const s of m.cas.starts) expect(Date.parse(s.start_at)).toBe(Date.parse(startAt));

    seen.clear();
    const one = await runClient([...SCHEDULE, "--json", join(dir, "one.json")]);
    expect(one.code).toBe(0);
    const o = JSON.parse(readFileSync(join(dir, "one.json"), "utf8")) as Json;
    // the same requests, answers, errors and per-target and per-step counts; the times are each run's own
    for (const key of ["requests", "status_codes", "success", "errors", "bytes_in", "bytes_out"]) {
      expect([key, m[key]]).toEqual([key, o[key]]);
    }
    const byTarget = (r: Json) =>
      Object.entries(r.cas.by_target as Json).map(([name, g]) => [name, g.requests, g.status_codes]);
    expect(byTarget(m)).toEqual(byTarget(o));
    const steps = (r: Json) => r.cas.steps.map((s: Json) => [s.rate_asked, s.requests, s.success, s.outcome]);
    expect(steps(m)).toEqual(steps(o));
    expect(steps(m)).toEqual([
      // request i goes to /c, which answers 404, when i mod 3 is 2: 66 of the first 200, 134 of the next 400
      [200, 200, 134 / 200, "pass"],
      [400, 400, 266 / 400, "pass"],
    ]);
    // The span from the first due time to the last is one generator's, shifted by the shards' own start offsets
    // (to the µs an epoch time in ms holds). Shard k's first request is k (5 ms apart at 200/s) and its last
    // 596 + k (2.5 ms apart at 400/s); which shard holds the very last due time depends on how late each started.
    const offset = (k: number) => m.cas.starts.find((s: Json) => s.shard === `${k}/4`).offset as number;
    const shards = [0, 1, 2, 3];
    const first = Math.min(...shards.map((k) => offset(k) + k * 5e6));
    const last = Math.max(...shards.map((k) => offset(k) + o.duration - (3 - k) * 2.5e6));
    expect(Math.abs(m.duration - (last - first))).toBeLessThan(2000);
  },
  { timeout: 60_000 },
);

test("--shard and --start-at are refused where they cannot work", async () => {
  for (const [args, line] of [
    [["--shard", "4/4"], 'invalid value "4/4" for --shard: the shard index must be below 4'],
    [["--shard", "0/2", "--rate", "0"], "--shard splits a paced schedule"],
    [["--start-at", "tomorrow"], 'invalid value "tomorrow" for --start-at: expected an RFC 3339 time'],
  ] as const) {
    const run = await runClient(["--url", "http://127.0.0.1:9/", ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toStartWith(`client: ${line}`);
  }
});
