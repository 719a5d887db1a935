import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PROJECT_ROOT } from "../../lib/common/program-process.ts";

const MODULE = resolve(PROJECT_ROOT, "lib/common/stdio-flush.ts");
/** A program that writes 5 MB to stdout and exits, waiting for the pipe first when asked. */
const writer = (flush: boolean) => `
  import { stdoutWriter } from ${JSON.stringify(MODULE)};
  const out = stdoutWriter();
  out.write("x".repeat(5_000_000) + "\\n");
  ${flush ? "await out.flushed();" : ""}
  process.exit(0);`;

test("stdoutWriter().flushed() lets 5 MB reach a slow reader whole before process.exit()", async () => {
  const proc = Bun.spawn([process.execPath, "-e", writer(true)], { stdout: "pipe", stderr: "inherit" });
  await Bun.sleep(300); // the reader comes late: the pipe holds 64 KiB
  expect((await new Response(proc.stdout).text()).length).toBe(5_000_001);
  expect(await proc.exited).toBe(0);
});

test("without it, process.exit() cuts the output short (what the writer is for)", async () => {
  const proc = Bun.spawn([process.execPath, "-e", writer(false)], { stdout: "pipe", stderr: "inherit" });
  await Bun.sleep(300);
  expect((await new Response(proc.stdout).text()).length).toBeLessThan(5_000_001);
  await proc.exited;
});

test("a reader that goes away does not keep the writer waiting", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cas-stdio-flush-"));
  try {
    const script = join(dir, "writer.ts");
    writeFileSync(script, writer(true));
    // pipefail: the pipeline's status is the writer's own, so a writer that failed or hung cannot pass
    const pipeline = `set -o pipefail; ${JSON.stringify(process.execPath)} ${JSON.stringify(script)} | head -c 10 > /dev/null`;
    const proc = Bun.spawn(["bash", "-c", pipeline], { stderr: "inherit" });
    expect(await proc.exited).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
