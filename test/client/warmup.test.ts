/**
 * lib/client/warmup.ts and --warmup: the rate a schedule opens with, and, as a real client process against a
 * real target, a warm-up that is sent before the schedule on the connections the schedule then uses, reported
 * apart and counted in none of the report's figures.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openingRate } from "../../lib/client/warmup.ts";
import { runClient } from "../support/client-run.ts";

test("openingRate() is the rate a constant, a ramp or steps start at", () => {
  expect(openingRate({ kind: "constant", perSecond: 250 })).toBe(250);
  expect(openingRate({ kind: "constant", perSecond: 0 })).toBe(0);
  expect(openingRate({ kind: "ramp", from: 100, to: 2000 })).toBe(100);
  expect(openingRate({ kind: "steps", rates: [300, 600], stepMs: 1000 })).toBe(300);
});

describe("--warmup against a real target", () => {
  let target: ReturnType<typeof Bun.serve>;
  let seen = 0;
  const ports = new Set<number>();
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "cas-warmup-test-"));
    target = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req, server) {
        seen++;
        ports.add(server.requestIP(req)!.port);
        return new Response("ok");
      },
    });
  });

  afterAll(() => {
    target.stop(true);
    rmSync(dir, { recursive: true, force: true });
  });

  test("sends at the opening rate first, on the same connection, and reports it apart from every figure", async () => {
    const json = join(dir, "report.json");
    const run = await runClient([
      ...["--url", `http://127.0.0.1:${target.port}/a`, "--rate", "100", "--duration", "1s"],
      ...["--warmup", "500ms", "--report", "text", "--json", json],
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(readFileSync(json, "utf8"));
    // the schedule's figures hold exactly its own requests
    expect(report.requests).toBe(100);
    expect(report.status_codes).toEqual({ "200": 100 });
    // the warm-up ran about as long as asked, at the opening rate, and the target saw it too
    const warmup = report.cas.warmup;
    expect(warmup.duration).toBeGreaterThanOrEqual(450e6);
    expect(warmup.requests).toBeGreaterThanOrEqual(40);
    expect(warmup.requests).toBeLessThanOrEqual(51);
    expect(warmup.errors).toBe(0);
    expect(seen).toBe(100 + warmup.requests);
    // one connection, opened by the warm-up and kept for the schedule
    expect(ports.size).toBe(1);
    expect(run.stdout).toMatch(
      new RegExp(`Warm-up\\s+\\[duration, requests, errors\\]\\s+[\\d.]+m?s, ${warmup.requests}, 0`),
    );
    expect(run.stderr).toContain('"msg":"warmed up"');

    // a re-report of the JSON keeps it
    const again = await runClient(["report", "--type", "json", json]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).cas.warmup).toEqual(warmup);
  });

  test("--warmup 0 sends nothing before the schedule and reports no warm-up", async () => {
    const before = seen;
    const json = join(dir, "none.json");
    const run = await runClient([
      ...["--url", `http://127.0.0.1:${target.port}/b`, "--rate", "50", "--duration", "400ms"],
      ...["--warmup", "0", "--report", "json", "--json", json],
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(readFileSync(json, "utf8"));
    expect(report.requests).toBe(20);
    expect(seen - before).toBe(20);
    expect(report.cas.warmup).toBeUndefined();
  });
});
