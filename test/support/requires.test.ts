/**
 * test/support/requires.ts, run as bun test runs it: a test needing a missing tool is skipped with one line
 * naming what to install outside CI, and turns into a failing test on CI.
 */
import { expect, test } from "bun:test";
import { PROJECT_ROOT } from "../../lib/common/program-process.ts";
import { runCommand } from "./run-command.ts";

const FIXTURE = "./test/fixtures/needs-missing-tool.ts";

async function runFixture(ci: string) {
  // CI="" is "not CI" to requires.ts, as an unset CI is.
  const { stdout, stderr, code } = await runCommand([process.execPath, "test", FIXTURE], {
    cwd: PROJECT_ROOT,
    env: { CI: ci },
  });
  return { out: stdout + stderr, code };
}

test("requireTool() outside CI skips with one line naming the install, and the run passes", async () => {
  for (const ci of ["", "false"]) {
    const { out, code } = await runFixture(ci);
    const lines = out.split("\n").filter((l) => l.startsWith("skip: "));
    expect(lines).toEqual([
      "skip: tests that need cas-harness-no-such-tool (missing; to run them: apt-get install cas-harness-no-such-tool)",
    ]);
    expect(out).toContain("(skip) uses the tool");
    expect(out).toMatch(/^ 0 fail$/m);
    expect(code).toBe(0);
  }
});

test("requireTool() on CI fails a test named after the missing tool", async () => {
  const { out, code } = await runFixture("true");
  expect(out).toContain(
    "(fail) needs cas-harness-no-such-tool (CI must provide it: apt-get install cas-harness-no-such-tool)",
  );
  expect(out).toContain("(skip) uses the tool");
  expect(out).toMatch(/^ 1 fail$/m);
  expect(code).toBe(1);
});
