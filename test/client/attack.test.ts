import { afterAll, expect, test } from "bun:test";
import { runAttack } from "../../lib/client/attack.ts";
import { CLIENT_PROGRAM, type ClientConfig } from "../../lib/client/flags.ts";
import { loadConfig } from "../../lib/common/config.ts";
import { silentLogger } from "../../lib/common/log.ts";

const target = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("pong") });
afterAll(() => void target.stop(true));

function config(argv: string[]): ClientConfig {
  const result = loadConfig(CLIENT_PROGRAM, argv, {});
  if (result.kind !== "config") throw new Error(`unexpected ${result.kind}`);
  return result.config;
}

test("runAttack() in --url mode writes the chosen report to stdout and returns 0", async () => {
  let out = "";
  let err = "";
  const code = await runAttack(
    config(["--url", `http://127.0.0.1:${target.port}/`, "--rate", "20", "--duration", "0.5s", "--report", "text"]),
    { logger: silentLogger, stdout: (t) => (out += t), stderr: (t) => (err += t), stderrIsTty: false },
  );
  expect(code).toBe(0);
  expect(err).toBe("");
  expect(out).toMatch(/^Requests {6}\[total, rate, throughput\] {9}10, /);
  expect(out).toContain("Status Codes  [code:count]                      200:10  \n");
});

test("runAttack() with an already aborted signal sends nothing and still reports", async () => {
  let out = "";
  const code = await runAttack(
    config(["--url", `http://127.0.0.1:${target.port}/`, "--rate", "20", "--duration", "5s"]),
    {
      logger: silentLogger,
      signal: AbortSignal.abort(),
      stdout: (t) => (out += t),
      stderrIsTty: false,
    },
  );
  expect(code).toBe(0);
  const report = JSON.parse(out) as { requests: number; errors: string[] };
  expect(report.requests).toBe(0);
  expect(report.errors).toEqual([]);
});

test("runAttack() reports an unwritable --output in one line and returns 1", async () => {
  let err = "";
  const code = await runAttack(
    config([
      "--url",
      `http://127.0.0.1:${target.port}/`,
      "--rate",
      "10",
      "--duration",
      "0.1s",
      "--output",
      "/nonexistent/dir/r.json",
    ]),
    { logger: silentLogger, stderr: (t) => (err += t), stderrIsTty: false },
  );
  expect(code).toBe(1);
  expect(err).toMatch(/^client: cannot write the report: .*\n$/);
});
