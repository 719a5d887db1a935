/**
 * `--find-max` against a real server that answers 503 once more than R requests arrived within the last second:
 * the search finds R within 10% and reports the step that failed above it.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runClient } from "../support/client-run.ts";

const LIMIT = 330; // requests per second: not a rate the search reaches by doubling or halving from 50

/** 503 for any request that makes more than LIMIT arrivals in the last second (a sliding window). */
function limitedServer() {
  const arrivals = new Float64Array(LIMIT + 1); // the last LIMIT + 1 arrival times, a ring
  let next = 0;
  let seen = 0;
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      const now = performance.now();
      arrivals[next] = now;
      next = (next + 1) % arrivals.length;
      seen++;
      const oldest = arrivals[next]!; // LIMIT arrivals before this one
      if (seen > LIMIT && now - oldest < 1000) return new Response("busy", { status: 503 });
      return new Response("ok");
    },
  });
}

const server = limitedServer();
const dir = mkdtempSync(join(tmpdir(), "cas-find-max-"));
afterAll(() => {
  void server.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

// any: the report is checked field by field
type Report = Record<string, any>;

test(
  "--find-max finds a server's limit within 10% and reports the step above it that failed",
  async () => {
    const json = join(dir, "search.json");
    const run = await runClient([
      ...["--url", `http://127.0.0.1:${server.port}/`, "--find-max", "--rate", "50", "--step-duration", "2s"],
      // a shared machine's hiccups must not make a step look generator-bound
      ...["--max-send-lag", "50ms", "--max-time", "2m", "--quiet", "--log-level", "warn", "--json", json],
      ...["--report", "text"],
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(readFileSync(json, "utf8")) as Report;
    const capacity = report.cas.capacity;
    expect(capacity.exit_code).toBe(0);
    expect(capacity.rate).toBeGreaterThanOrEqual(0.9 * LIMIT);
    expect(capacity.rate).toBeLessThanOrEqual(LIMIT);
    const steps: Report[] = report.cas.steps;
    // doubling from 50 up to the first failure, then bisecting below it
    expect(steps.slice(0, 4).map((s) => [s.rate_asked, s.outcome])).toEqual([
      [50, "pass"],
      [100, "pass"],
      [200, "pass"],
      [400, "fail"],
    ]);
    const above = steps.filter((s) => s.rate_asked > capacity.rate);
    const next = above.reduce((a, b) => (b.rate_asked < a.rate_asked ? b : a));
    expect(next.outcome).toBe("fail");
    expect(next.failed).toEqual(["success>=0.999"]);
    expect(next.rate_asked).toBeGreaterThan(LIMIT);
    expect(capacity.verdict).toBe(
      `capacity: ${capacity.rate} req/s (p99 ${capacity.verdict.match(/p99 ([^)]+)\)/)![1]}); ` +
        `next step ${next.rate_asked} req/s failed success>=0.999`,
    );
    // every step holds on schedule or fails by the target, never by the generator
    expect(steps.every((s) => s.outcome !== "generator-bound")).toBe(true);
    expect(run.stdout).toContain(capacity.verdict + "\n");
    expect(run.stderr).toBe(`client: ${capacity.verdict}\n`);
  },
  { timeout: 120_000 },
);

test("--find-max refuses what it cannot search with, in one line and exit 2", async () => {
  for (const [args, line] of [
    [["--rate", "0"], "--find-max starts its first step at --rate, which must be above 0"],
    [["--steps", "10,20"], "--find-max chooses its own steps: drop --steps"],
    [["--shard", "0/2"], "--find-max picks each step from the last, so shards cannot share its schedule"],
  ] as const) {
    const run = await runClient(["--url", "http://127.0.0.1:9/", "--find-max", ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toStartWith(`client: ${line}`);
  }
});
