/**
 * `bun run demo`: the whole system on loopback in one command. A server on a temp data dir, three cache
 * peers wired as a cluster, and a ~10 s mixed load run spread over the peers; the client prints its text
 * report and writes the JSON and HTML reports to ./reports/. Everything stops cleanly at the end, and on
 * Ctrl-C. Arguments after `--` go to the client: `bun run demo -- --rate 50`.
 */
import type { Subprocess } from "bun";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { createLogger } from "../lib/common/log.ts";
import { PROJECT_ROOT, freePort, startProgram, type ProgramProcess } from "../lib/common/program-process.ts";

const log = createLogger({ base: { program: "demo" } });

/** The demo's workload; later arguments (the user's) override these, since the last value of a flag wins. */
export const DEMO_CLIENT_ARGS = [
  ...["--rate", "50", "--duration", "10s"],
  ...["--blobs", "20", "--size", "25000", "--dist", "zipf", "--hit-ratio", "0.9"],
  ...["--report", "text"],
];

const CACHE_PEERS = 3;
/** How long a program gets to stop after SIGTERM before it is killed. */
const STOP_GRACE_MS = 10_000;
/** A second Ctrl-C kills everything at once, if it comes at least this long after the first. */
export const ESCALATE_AFTER_MS = 1000;

/** Sends `signal`, and SIGKILL if the process is still there after the grace period. */
async function stopProcess(proc: Subprocess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_GRACE_MS);
  await proc.exited;
  clearTimeout(timer);
}

/** Starts three peers that list each other, retrying with new ports if one was taken meanwhile. */
export async function startCachePeers(origin: string): Promise<ProgramProcess[]> {
  for (let attempt = 1; ; attempt++) {
    const urls = Array.from({ length: CACHE_PEERS }, () => `http://127.0.0.1:${freePort()}`);
    const started = await Promise.allSettled(
      urls.map((self) =>
        startProgram(
          "cache.ts",
          [
            "--host",
            "127.0.0.1",
            "--port",
            new URL(self).port,
            "--origin",
            origin,
            "--peers",
            urls.join(","),
            "--self",
            self,
          ],
          { detached: true },
        ),
      ),
    );
    const peers = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    if (peers.length === CACHE_PEERS) return peers;
    await Promise.all(peers.map((p) => stopProcess(p.proc)));
    const failure = started.find((s) => s.status === "rejected") as PromiseRejectedResult;
    if (attempt === 3) throw failure.reason;
  }
}

/** One line per peer from its /stats: requests from the client, hits, and the loads between peers. */
async function logPeerStats(urls: readonly string[]): Promise<void> {
  for (const url of urls) {
    try {
      const res = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(2000) });
      const s = (await res.json()) as Record<string, number>;
      log.info("peer stats", {
        peer: url,
        clientGets: s.Gets! - s.ServerRequests!,
        hits: s.CacheHits,
        fromPeers: s.ServerRequests,
        peerLoads: s.PeerLoads,
        originLoads: s.LocalLoads,
      });
    } catch (err) {
      log.warn("no stats from peer", { peer: url, err });
    }
  }
}

export interface DemoOptions {
  /** Arguments appended to the client's. */
  clientArgs: readonly string[];
  /** Where ./reports/ is. @default the working directory */
  cwd?: string;
}

/** Runs the demo; resolves with the exit code: the client's, or 130 when interrupted. */
export async function runDemo(options: DemoOptions): Promise<number> {
  const reportsDir = resolve(options.cwd ?? process.cwd(), "reports");
  const dataDir = await mkdtemp(join(tmpdir(), "cas-demo-"));
  const running: Subprocess[] = [];
  let client: Subprocess | undefined;
  let interrupted = false;

  // The children run in their own sessions, so Ctrl-C reaches only this process, which stops them in
  // order: the client first (it ends its run early and still reports), then the caches and the server.
  // A terminal's Ctrl-C reaches every process of the foreground group, so under `bun run demo` the
  // package-script runner forwards its own copy a moment after the terminal's: signals that arrive
  // within ESCALATE_AFTER_MS of the first are that same Ctrl-C, only a later one means "stop waiting".
  let interruptedAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      if (Date.now() - interruptedAt < ESCALATE_AFTER_MS) return;
      log.warn("interrupted again; killing everything", { signal });
      for (const proc of running) proc.kill("SIGKILL");
      return;
    }
    interrupted = true;
    interruptedAt = Date.now();
    log.info("interrupted; stopping", { signal });
    if (client) client.kill("SIGINT");
  };
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  for (const s of signals) process.on(s, onSignal);

  try {
    const server = await startProgram("server.ts", ["--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir], {
      detached: true,
    });
    running.push(server.proc);
    if (interrupted) return 130;
    const peers = await startCachePeers(server.url);
    running.push(...peers.map((p) => p.proc));
    if (interrupted) return 130;

    await mkdir(reportsDir, { recursive: true });
    const json = join(reportsDir, "demo.json");
    const html = join(reportsDir, "demo.html");
    log.info("cluster up", { server: server.url, caches: peers.map((p) => p.url) });
    const args = [
      ...["--server", server.url, "--cache", peers.map((p) => p.url).join(",")],
      ...DEMO_CLIENT_ARGS,
      ...["--json", json, "--html", html, "--log-level", "warn"],
      ...options.clientArgs,
    ];
    client = Bun.spawn([process.execPath, resolve(PROJECT_ROOT, "client.ts"), ...args], {
      cwd: options.cwd ?? process.cwd(),
      detached: true,
      stdin: "ignore",
      stdout: "inherit",
      stderr: "inherit",
    });
    running.push(client);
    const started = Date.now();
    const code = await client.exited;
    await logPeerStats(peers.map((p) => p.url));
    // `-- --help` prints the client's help and writes nothing; say "written" only of files of this run.
    if (code === 0 && (await Bun.file(json).exists()) && (await Bun.file(json).stat()).mtimeMs >= started - 1000) {
      const shown = (path: string) => relative(options.cwd ?? process.cwd(), path) || path;
      log.info("reports written", { json: shown(json), html: shown(html) });
    }
    return interrupted ? 130 : code;
  } finally {
    // Caches before the server they load from; the client is already done (or never started).
    for (const proc of running.slice().reverse()) await stopProcess(proc);
    await rm(dataDir, { recursive: true, force: true });
    for (const s of signals) process.off(s, onSignal);
  }
}

if (import.meta.main) {
  try {
    process.exitCode = await runDemo({ clientArgs: process.argv.slice(2) });
  } catch (err) {
    log.error("demo failed", { error: err });
    process.exitCode = 1;
  }
}
