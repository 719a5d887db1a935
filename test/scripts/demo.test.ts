/**
 * `bun run demo` end to end: a short run exits 0, prints the text report and writes both reports to
 * ./reports/; Ctrl-C (SIGINT) mid-run or during start-up stops everything; no process is ever left behind.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { copyFile, mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PROJECT_ROOT } from "../../lib/common/program-process.ts";

const DEMO = resolve(PROJECT_ROOT, "scripts/demo.ts");

/** Processes whose environment carries `marker`: the demo and every child it started. */
async function processesMarked(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = await Bun.file(`/proc/${entry}/environ`).text();
      if (environ.includes(`CAS_DEMO_TEST_MARKER=${marker}`)) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

interface DemoRun {
  proc: ReturnType<typeof spawnDemo>;
  cwd: string;
  marker: string;
  /** stderr so far, split into lines. */
  stderrLines: string[];
  /** Resolves when stderr is closed and every line is in. */
  stderrDone: Promise<void>;
  stdout: Promise<string>;
}

/**
 * `bun scripts/demo.ts ARGS`, or with `viaPackageScript` `bun run demo -- ARGS` as a user types it, in a
 * process group of its own as a terminal's foreground job is: the package script runs from a copy of
 * package.json next to a link to scripts/, so the reports still land in the temp dir.
 */
function spawnDemo(cwd: string, marker: string, args: string[], viaPackageScript = false) {
  const command = viaPackageScript
    ? [process.execPath, "run", "demo", "--", ...args]
    : [process.execPath, DEMO, ...args];
  return Bun.spawn(command, {
    cwd,
    detached: viaPackageScript,
    env: { ...process.env, CAS_DEMO_TEST_MARKER: marker },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

/** Every run of this file, so that even a test that timed out leaves nothing behind. */
const runs: DemoRun[] = [];

async function startDemo(args: string[], viaPackageScript = false): Promise<DemoRun> {
  const cwd = await mkdtemp(join(tmpdir(), "cas-demo-test-"));
  if (viaPackageScript) {
    await copyFile(join(PROJECT_ROOT, "package.json"), join(cwd, "package.json"));
    await symlink(join(PROJECT_ROOT, "scripts"), join(cwd, "scripts"));
  }
  const marker = crypto.randomUUID();
  const proc = spawnDemo(cwd, marker, args, viaPackageScript);
  const stderrLines: string[] = [];
  const stderrDone = (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of proc.stderr) {
      const lines = (pending + decoder.decode(chunk, { stream: true })).split("\n");
      pending = lines.pop()!;
      stderrLines.push(...lines);
    }
    if (pending !== "") stderrLines.push(pending);
  })();
  const run = { proc, cwd, marker, stderrLines, stderrDone, stdout: new Response(proc.stdout).text() };
  runs.push(run);
  return run;
}

async function waitForLog(run: DemoRun, msg: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!run.stderrLines.some((l) => l.includes(`"msg":"${msg}"`))) {
    if (Date.now() > deadline) throw new Error(`no "${msg}" from the demo:\n${run.stderrLines.join("\n")}`);
    await Bun.sleep(50);
  }
}

async function cleanUp(run: DemoRun): Promise<void> {
  for (const pid of await processesMarked(run.marker)) process.kill(pid, "SIGKILL");
  await rm(run.cwd, { recursive: true, force: true });
}

describe("bun run demo", () => {
  afterAll(async () => {
    for (const run of runs) await cleanUp(run);
  });

  test("a short run exits 0, prints the text report, writes both reports and leaves no process", async () => {
    const run = await startDemo(["--duration", "2s", "--rate", "20"]);
    try {
      const code = await run.proc.exited;
      const stdout = await run.stdout;
      expect(code).toBe(0);
      expect(stdout).toContain("Requests      [total, rate, throughput]");
      expect(stdout).toContain("Success       [ratio]");
      const report = (await Bun.file(join(run.cwd, "reports/demo.json")).json()) as Record<string, unknown>;
      // --rate 20 from the command line overrides the demo's rate: about 40 requests in 2 s.
      expect(report.requests).toBeGreaterThan(20);
      expect(report.requests).toBeLessThan(60);
      expect(report.success).toBe(1);
      // The mixed workload: some requests hit, some are forced misses (--hit-ratio 0.9) or first loads.
      const hitRatio = (report.cas as { hit_ratio: number }).hit_ratio;
      expect(hitRatio).toBeGreaterThan(0);
      expect(hitRatio).toBeLessThan(1);
      // The three peers work as a cluster: each took a share of the client's requests, and they loaded
      // from each other (a peer asked for a key another owns).
      await run.stderrDone;
      const peerStats = run.stderrLines
        .filter((l) => l.includes('"msg":"peer stats"'))
        .map((l) => JSON.parse(l) as Record<string, number>);
      expect(peerStats.length).toBe(3);
      for (const peer of peerStats) expect(peer.clientGets).toBeGreaterThan(0);
      expect(peerStats.reduce((sum, peer) => sum + peer.peerLoads!, 0)).toBeGreaterThan(0);
      const html = await Bun.file(join(run.cwd, "reports/demo.html")).text();
      expect(html).toStartWith("<!doctype html>");
      expect(await processesMarked(run.marker)).toEqual([]);
    } finally {
      await cleanUp(run);
    }
  }, 30_000);

  test("Ctrl-C mid-run ends the run early with its report, exits 130 and leaves no process", async () => {
    const run = await startDemo(["--duration", "60s", "--rate", "20"]);
    try {
      await waitForLog(run, "cluster up");
      // The children run in sessions of their own; with the demo six marked processes: the demo, the server, three caches and the client.
      await Bun.sleep(1000);
      expect((await processesMarked(run.marker)).length).toBe(6);
      run.proc.kill("SIGINT");
      expect(await run.proc.exited).toBe(130);
      expect(await run.stdout).toContain("Requests      [total, rate, throughput]");
      expect(await Bun.file(join(run.cwd, "reports/demo.json")).exists()).toBe(true);
      expect(await processesMarked(run.marker)).toEqual([]);
    } finally {
      await cleanUp(run);
    }
  }, 30_000);

  test("a terminal's Ctrl-C on `bun run demo` (SIGINT to its process group) still reports", async () => {
    // The group signal reaches both the package-script runner and the demo, and the runner forwards its
    // own copy: the demo must take the two as one Ctrl-C, not as a second one that kills everything.
    const run = await startDemo(["--duration", "3s"], true);
    try {
      await waitForLog(run, "cluster up");
      await Bun.sleep(1000);
      process.kill(-run.proc.pid, "SIGINT");
      expect(await run.proc.exited).toBe(130);
      expect(await run.stdout).toContain("Requests      [total, rate, throughput]");
      await run.stderrDone;
      expect(run.stderrLines.filter((l) => l.includes('"msg":"peer stats"')).length).toBe(3);
      expect(run.stderrLines.some((l) => l.includes('"msg":"reports written"'))).toBe(true);
      expect(await Bun.file(join(run.cwd, "reports/demo.json")).exists()).toBe(true);
      expect(await Bun.file(join(run.cwd, "reports/demo.html")).exists()).toBe(true);
      expect(await processesMarked(run.marker)).toEqual([]);
    } finally {
      await cleanUp(run);
    }
  }, 30_000);

  test("Ctrl-C while the cluster starts exits 130 and leaves no process", async () => {
    const run = await startDemo(["--duration", "60s"]);
    try {
      // As soon as the demo has started a child.
      const deadline = Date.now() + 10_000;
      while ((await processesMarked(run.marker)).length < 2 && Date.now() < deadline) await Bun.sleep(10);
      run.proc.kill("SIGINT");
      expect(await run.proc.exited).toBe(130);
      expect(await processesMarked(run.marker)).toEqual([]);
    } finally {
      await cleanUp(run);
    }
  }, 30_000);
});
