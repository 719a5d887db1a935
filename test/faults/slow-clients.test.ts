/**
 * Fault suite, slow clients at server.ts with its default bounds: hundreds of idle connections and of
 * uploads dripping 1 byte/s do not slow a normal client down; each slow upload is cut with 408 once its
 * grace period is over, its temp file removed and its descriptors freed. Beyond the cap on uploads, more
 * get 503 with Retry-After at once, a normal client's uploads too (the cap's price) but never its reads.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { digestHex } from "../../lib/common/key.ts";
import { DEFAULT_MAX_UPLOADS, DEFAULT_UPLOAD_GRACE_MS } from "../../lib/server/upload-limits.ts";
import { randomBytes } from "../support/cache-fixtures.ts";
import { openFds, percentile, reportFigures, rssMiB, scaled } from "../support/fault-run.ts";
import { rawConnect, statusOf, type RawConnection } from "../support/raw-http.ts";
import { startServer, type ServerProcess } from "../support/server-process.ts";

const IDLE = scaled(300, 1000);
/** Slow uploads that fit under the cap on uploads, and a burst beyond it. */
const SLOW = scaled(200, 250);
const BURST = scaled(300, 600);

let server: ServerProcess;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.dispose();
});

/** A normal client's round: PUT a new 25 KB blob and GET it back; returns both latencies. */
async function normalRound(): Promise<number[]> {
  const blob = randomBytes(25_000);
  const key = digestHex("sha256", blob);
  let t = performance.now();
  const put = await fetch(`${server.url}/cas/${key}`, { method: "PUT", body: blob });
  const putMs = performance.now() - t;
  t = performance.now();
  const get = await fetch(`${server.url}/cas/${key}`);
  const body = new Uint8Array(await get.arrayBuffer());
  const getMs = performance.now() - t;
  if (put.status !== 201 || get.status !== 200 || digestHex("sha256", body) !== key) {
    throw new Error(`normal client: PUT ${put.status}, GET ${get.status}`);
  }
  return [putMs, getMs];
}

async function normalClient(rounds: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < rounds; i++) {
    ms.push(...(await normalRound()));
    await Bun.sleep(20);
  }
  return ms;
}

interface SlowResult {
  status: number;
  /** From the start of the burst to the answer. */
  ms: number;
}

/** An upload announcing 100,000 bytes and sending 1 byte per second until answered. */
async function slowUpload(started: number): Promise<SlowResult> {
  const conn = await rawConnect(server.port);
  conn.write(`PUT /cas/${digestHex("sha256", randomBytes(8))} HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n`);
  const timer = setInterval(() => conn.write("x"), 1000);
  const raw = await conn.received(DEFAULT_UPLOAD_GRACE_MS + 30_000);
  clearInterval(timer);
  conn.close();
  return { status: statusOf(raw), ms: performance.now() - started };
}

/** Waits until a process's descriptors are back to `limit` or fewer (closes are handled a moment later). */
async function fdsSettled(pid: number, limit: number): Promise<number> {
  let fds = openFds(pid);
  for (let i = 0; i < 50 && fds > limit; i++) {
    await Bun.sleep(100);
    fds = openFds(pid);
  }
  return fds;
}

const range = (ms: number[]) =>
  ms.length === 0 ? "-" : `${(Math.min(...ms) / 1000).toFixed(1)}-${(Math.max(...ms) / 1000).toFixed(1)}`;
const p = (ms: number[], q: number) => percentile([...ms], q).toFixed(1);

test(`${IDLE} idle connections and ${SLOW} uploads at 1 byte/s: a normal client unhindered, slow uploads cut`, async () => {
  await normalClient(10);
  const baseline = await normalClient(50);
  const fdsBefore = openFds(server.proc.pid);
  const rssBefore = rssMiB(server.proc.pid);

  const idle: RawConnection[] = [];
  for (let i = 0; i < IDLE; i++) {
    const conn = await rawConnect(server.port);
    // Half say nothing at all; half stop in the middle of their request line.
    if (i % 2 === 1) conn.write("GET /cas/");
    idle.push(conn);
  }
  const started = performance.now();
  const uploads = Promise.all(Array.from({ length: SLOW }, () => slowUpload(started)));
  await Bun.sleep(1000);
  const tmpHeld = readdirSync(join(server.dataDir, "tmp")).length;
  const fdsHeld = openFds(server.proc.pid);
  // The normal client works through the grace period, while every slow upload is still open.
  const loaded: number[] = [];
  while (performance.now() - started < DEFAULT_UPLOAD_GRACE_MS - 1500) loaded.push(...(await normalClient(5)));
  const results = await uploads;
  const cut = results.filter((r) => r.status === 408);
  const tmpAfter = readdirSync(join(server.dataDir, "tmp")).length;
  for (const conn of idle) conn.close();
  const fdsAfter = await fdsSettled(server.proc.pid, fdsBefore + 5);
  const rssAfter = rssMiB(server.proc.pid);
  const cutMs = cut.map((r) => r.ms);
  const held = cut.length === SLOW && tmpAfter === 0 && fdsAfter <= fdsBefore + 5 && percentile([...loaded], 99) < 1000;
  reportFigures(
    "slow clients at server.ts (default bounds)",
    { idleConns: IDLE, slowUploads: SLOW, rate: "1B/s", graceS: DEFAULT_UPLOAD_GRACE_MS / 1000 },
    {
      got408: cut.length,
      cutAtS: range(cutMs),
      tmpHeld,
      tmpAfter,
      fds: `${fdsBefore}->${fdsHeld}->${fdsAfter}`,
      normalP50ms: `${p(baseline, 50)}->${p(loaded, 50)}`,
      normalP99ms: `${p(baseline, 99)}->${p(loaded, 99)}`,
      rssMiB: `${rssBefore.toFixed(0)}->${rssAfter.toFixed(0)}`,
    },
    held,
  );
  expect(cut.length).toBe(SLOW);
  expect(Math.min(...cutMs)).toBeGreaterThanOrEqual(DEFAULT_UPLOAD_GRACE_MS - 100);
  expect(tmpHeld).toBe(SLOW);
  expect(tmpAfter).toBe(0);
  expect(fdsAfter).toBeLessThanOrEqual(fdsBefore + 5);
  // Generous: a normal request waits behind nothing but the machine's other work.
  expect(percentile(loaded, 99)).toBeLessThan(1000);
}, 90_000);

test(`${BURST} uploads at 1 byte/s against a cap of ${DEFAULT_MAX_UPLOADS}: 503 with Retry-After beyond it, reads unhindered`, async () => {
  const started = performance.now();
  const uploads = Promise.all(Array.from({ length: BURST }, () => slowUpload(started)));
  await Bun.sleep(1000);
  const put = await fetch(`${server.url}/cas/${digestHex("sha256", new Uint8Array(1))}`, {
    method: "PUT",
    body: new Uint8Array(1),
  });
  const putWhileFull = put.status;
  const retryAfter = put.headers.get("retry-after");
  const reads: number[] = [];
  const blob = randomBytes(25_000);
  const key = digestHex("sha256", blob);
  const results = await Promise.all([
    uploads,
    (async () => {
      while (performance.now() - started < DEFAULT_UPLOAD_GRACE_MS - 1500) {
        const t = performance.now();
        const res = await fetch(`${server.url}/healthz`);
        if (res.status !== 200) throw new Error(`a read got ${res.status} while uploads were capped`);
        reads.push(performance.now() - t);
        await Bun.sleep(20);
      }
    })(),
  ]).then(([r]) => r);
  const cut = results.filter((r) => r.status === 408);
  const refused = results.filter((r) => r.status === 503);
  const putAfter = (await fetch(`${server.url}/cas/${key}`, { method: "PUT", body: blob })).status;
  const held =
    cut.length === DEFAULT_MAX_UPLOADS &&
    refused.length === BURST - DEFAULT_MAX_UPLOADS &&
    putWhileFull === 503 &&
    retryAfter === "1" &&
    putAfter === 201;
  reportFigures(
    "upload cap at server.ts (default bounds)",
    { slowUploads: BURST, rate: "1B/s", maxUploads: DEFAULT_MAX_UPLOADS },
    {
      got408: cut.length,
      got503: refused.length,
      refusedAtS: range(refused.map((r) => r.ms)),
      normalPutWhileFull: `${putWhileFull} Retry-After=${retryAfter}`,
      readP99ms: p(reads, 99),
      putAfterCut: putAfter,
    },
    held,
  );
  expect(cut.length).toBe(DEFAULT_MAX_UPLOADS);
  expect(refused.length).toBe(BURST - DEFAULT_MAX_UPLOADS);
  expect(Math.max(...refused.map((r) => r.ms))).toBeLessThan(DEFAULT_UPLOAD_GRACE_MS);
  expect(putWhileFull).toBe(503);
  expect(retryAfter).toBe("1");
  expect(putAfter).toBe(201);
}, 90_000);

test("rounds of 500 slow uploads, each cut and closed: RSS settles instead of growing round after round", async () => {
  // A short grace, so that the rounds are quick; the bound itself is the one above.
  const quick = await startServer(["--upload-grace", "1s", "--max-uploads", "1000"]);
  try {
    const pid = quick.proc.pid;
    const start = rssMiB(pid);
    const after: number[] = [];
    for (let round = 0; round < scaled(3, 8); round++) {
      const conns = await Promise.all(
        Array.from({ length: 500 }, async () => {
          const conn = await rawConnect(quick.port);
          conn.write(`PUT /cas/${"a".repeat(64)} HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n`);
          return conn;
        }),
      );
      const answers = await Promise.all(conns.map((c) => c.received(10_000)));
      for (const c of conns) c.close();
      expect(answers.filter((a) => statusOf(a) === 408)).toHaveLength(500);
      await fdsSettled(pid, 20);
      after.push(rssMiB(pid));
    }
    const growth = after.at(-1)! - after[0]!;
    reportFigures(
      "RSS after rounds of 500 slow uploads (cut, closed)",
      { rounds: after.length, perRound: 500, graceS: 1 },
      {
        rssMiB: `start ${start.toFixed(0)} after each ${after.map((r) => r.toFixed(0)).join(",")}`,
        growthFirstToLast: growth,
      },
      growth < 8,
    );
    expect(growth).toBeLessThan(8);
  } finally {
    await quick.dispose();
  }
}, 90_000);
