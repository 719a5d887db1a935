/**
 * Fault suite, HTTP fuzz: seeded malformed and hostile requests over raw sockets (test/support/http-fuzz.ts)
 * at server.ts and at cache.ts in front of it. Neither process crashes, neither of our handlers answers in
 * the 5xx range or logs an error, no file appears outside the data dir's layout, and RSS stays bounded.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestHex } from "../../lib/common/key.ts";
import type { ProgramProcess } from "../../lib/common/program-process.ts";
import { putBlob, randomBytes, startCacheProcess } from "../support/cache-fixtures.ts";
import { reportFigures, rssMiB, scaled } from "../support/fault-run.ts";
import { answersIn, fuzzCases, runFuzz } from "../support/http-fuzz.ts";
import { rawConnect } from "../support/raw-http.ts";
import { filesUnder, startServer, type ServerProcess } from "../support/server-process.ts";

const COUNT = scaled(4000, 20_000);
const SEED = Number(process.env.FAULTS_SEED ?? 11);
/** RSS may grow this much over a run (Bun's buffers for huge headers and bodies), not more. */
const RSS_BOUND_MIB = 64;

const parent = mkdtempSync(join(tmpdir(), "cas-fault-fuzz-"));
const dataDir = join(parent, "data");
let server: ServerProcess;
let cache: ProgramProcess;
let keys: string[];

beforeAll(async () => {
  server = await startServer(["--max-blob-bytes", "1MiB"], { dataDir });
  cache = await startCacheProcess(server.url, ["--upstream-timeout", "2s"]);
  keys = await Promise.all(Array.from({ length: 20 }, (_, i) => putBlob(server.url, randomBytes(100 + i * 5000))));
});
afterAll(async () => {
  await cache?.stop("SIGKILL");
  await server?.stop("SIGKILL");
  rmSync(parent, { recursive: true, force: true });
});

/** Files that are not where blobs and temp files live. */
function strays(): string[] {
  const outside = readdirSync(parent).filter((name) => name !== "data");
  const inside = filesUnder(dataDir).filter(
    (rel) => !/^(sha1\/[0-9a-f]{2}\/[0-9a-f]{40}|sha256\/[0-9a-f]{2}\/[0-9a-f]{64}|tmp\/[0-9a-f-]{36})$/.test(rel),
  );
  return [...outside, ...inside];
}

const errorLines = (p: ProgramProcess) => p.logs.filter((line) => line.includes('"level":"error"'));

for (const target of ["server", "cache"] as const) {
  test(`${COUNT} fuzzed requests at ${target}.ts: no crash, no 5xx of ours, nothing outside the data dir`, async () => {
    const proc = target === "server" ? server : cache;
    const rssBefore = rssMiB(proc.proc.pid);
    const stats = await runFuzz(proc.port, fuzzCases(SEED + (target === "cache" ? 1 : 0), keys), {
      count: COUNT,
      concurrency: 32,
      waitMs: 400,
    });
    const alive = proc.proc.exitCode === null && proc.proc.signalCode === null;
    const healthy = alive && (await fetch(`${proc.url}/healthz`)).status === 200;
    const rssAfter = rssMiB(proc.proc.pid);
    const stray = strays();
    const errors = errorLines(proc);
    const statuses = [...stats.byStatus.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([s, n]) => `${s}:${n}`)
      .join(",");
    const held =
      healthy &&
      stats.ours5xx.length === 0 &&
      errors.length === 0 &&
      stray.length === 0 &&
      rssAfter - rssBefore < RSS_BOUND_MIB;
    reportFigures(
      `HTTP fuzz of ${target}.ts`,
      { requests: COUNT, seed: SEED, concurrency: 32 },
      {
        crashed: !alive,
        ours5xx: stats.ours5xx.length,
        errorLogs: errors.length,
        strayFiles: stray.length,
        unanswered: stats.unanswered,
        rssMiB: `${rssBefore.toFixed(0)}->${rssAfter.toFixed(0)}`,
        statuses,
      },
      held,
    );
    expect(alive).toBe(true);
    expect(healthy).toBe(true);
    expect(stats.ours5xx.slice(0, 3)).toEqual([]);
    expect(errors.slice(0, 3)).toEqual([]);
    expect(stray).toEqual([]);
    expect(rssAfter - rssBefore).toBeLessThan(RSS_BOUND_MIB);
    expect(stats.sent).toBe(COUNT);
  }, 120_000);
}

test("pins Bun 1.4.5: a request pipelined behind an answer still pending closes the connection unanswered", async () => {
  const ask = async (bytes: string) => {
    const conn = await rawConnect(server.port);
    conn.write(bytes);
    const raw = await conn.received(2000);
    conn.close();
    return answersIn(raw).map((a) => a.status);
  };
  // An upload is answered asynchronously: a request pipelined behind it makes uWS drop both
  // (oven-sh/bun#38128, open), a malformed one leaves only Bun's 400.
  const put = (n: number) => {
    const body = "x".repeat(n);
    return `PUT /cas/${digestHex("sha256", new TextEncoder().encode(body))} HTTP/1.1\r\nHost: a\r\nContent-Length: ${n}\r\n\r\n${body}`;
  };
  expect(await ask(put(10) + "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")).toEqual([]);
  expect(await ask(put(11) + "BAD\r\n\r\n")).toEqual([400]);
  // Answered synchronously (here /healthz), pipelining works, a malformed request after it included.
  const health = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
  expect(await ask(health + "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")).toEqual([200, 200]);
  expect(await ask(health + "BAD\r\n\r\n")).toEqual([200, 400]);
  // Bare LF line endings: Bun's HTTP layer answers 505 (RFC 9112 lets a server refuse them; 400 would fit better).
  expect(await ask("GET /healthz HTTP/1.1\nHost: a\nConnection: close\n\n")).toEqual([505]);
});
