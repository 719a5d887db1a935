import { expect, test } from "bun:test";
import { resolve } from "node:path";
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
  const script = `${JSON.stringify(process.execPath)} -e ${JSON.stringify(writer(true)).replace(/\$/g, "\\$")} | head -c 10 > /dev/null`;
  const proc = Bun.spawn(["sh", "-c", script], { stderr: "inherit" });
  expect(await proc.exited).toBe(0);
});
