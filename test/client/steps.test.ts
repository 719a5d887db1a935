/** A ramp and steps run by the real client against a real server: each step reported on its own. */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSchedule } from "../../lib/client/schedule.ts";
import { runClient } from "../support/client-run.ts";

let requests = 0;
const target = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch() {
    requests++;
    return new Response("ok");
  },
});
const url = `http://127.0.0.1:${target.port}/`;
const dir = mkdtempSync(join(tmpdir(), "cas-steps-"));
afterAll(() => {
  void target.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

// any: the report is checked field by field
type Report = Record<string, any>;

test("--steps: each step on its own in the JSON, text and HTML reports, with its rate asked and achieved", async () => {
  requests = 0;
  const json = join(dir, "steps.json");
  const html = join(dir, "steps.html");
  const run = await runClient([
    ...["--url", url, "--steps", "100,300/s", "--step-duration", "1s", "--quiet", "--log-level", "warn"],
    ...["--report", "text", "--json", json, "--html", html, "--max-send-lag", "1s"],
  ]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  expect(requests).toBe(400);
  const report = JSON.parse(readFileSync(json, "utf8")) as Report;
  expect(report.requests).toBe(400);
  const steps: Report[] = report.cas.steps;
  expect(steps.map((s) => [s.rate_asked, s.requests, s.success, s.outcome])).toEqual([
    [100, 100, 1, "pass"],
    [300, 300, 1, "pass"],
  ]);
  for (const s of steps) {
    expect(s.rate_achieved).toBeGreaterThan(0);
    expect(s.latencies["50th"]).toBeLessThanOrEqual(s.latencies["99th"]);
    expect(s.report.requests).toBe(s.requests);
  }
  // the steps start one --step-duration apart
  expect(Date.parse(steps[1]!.start) - Date.parse(steps[0]!.start)).toBe(1000);
  expect(run.stdout).toMatch(/^Step +Rate Asked +Achieved +Requests +Success +p50 +p99 +Outcome$/m);
  expect(run.stdout).toMatch(/^1 +100\.00\/s +[\d.]+\/s +100 +100\.00% .* pass$/m);
  expect(run.stdout).toMatch(/^2 +300\.00\/s +[\d.]+\/s +300 +100\.00% .* pass$/m);
  const page = readFileSync(html, "utf8");
  expect(page).toContain("<h2>Steps</h2>");
  expect(page.match(/<line class="step"/g)?.length).toBe(2);
});

test("a ramp --rate 100..300/s over 1 s: ten slices, each with the requests the ramp has due in it", async () => {
  requests = 0;
  const json = join(dir, "ramp.json");
  const run = await runClient([
    ...["--url", url, "--rate", "100..300/s", "--duration", "1s", "--quiet", "--log-level", "warn"],
    ...["--json", json, "--max-send-lag", "1s"],
  ]);
  expect(run.code).toBe(0);
  expect(requests).toBe(200);
  const report = JSON.parse(readFileSync(json, "utf8")) as Report;
  const schedule = buildSchedule({ kind: "ramp", from: 100, to: 300 }, 1000);
  const due = Array.from({ length: 200 }, (_, seq) => schedule.stepOf(seq));
  const expected = schedule.steps.map((_, k) => due.filter((step) => step === k).length);
  const steps: Report[] = report.cas.steps;
  expect(steps.map((s) => s.requests)).toEqual(expected);
  expect(steps.map((s) => s.rate_asked)).toEqual(schedule.steps.map((s) => s.rate));
  expect(steps[0]!.rate_asked).toBe(110);
  expect(steps[9]!.rate_asked).toBeCloseTo(290, 9);
});
