/**
 * Fault suite, a misbehaving origin behind cache.ts (test/support/fault-origin.ts): down, accepting and
 * never answering, lying, short body, reset mid-body, drip-feeding, answering 500; sized and chunked,
 * small (held) and streamed (above --max-item-bytes). Every case gets the right answer within its deadline
 * while hits are still served, nothing wrong is served or cached, and the next request after the origin
 * mends is served without a restart.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { ProgramProcess } from "../../lib/common/program-process.ts";
import { freePort } from "../../lib/common/program-process.ts";
import { cacheStats, randomBytes, sha256, startCacheProcess } from "../support/cache-fixtures.ts";
import { percentile, reportFigures, scaled } from "../support/fault-run.ts";
import { startFaultOrigin, type FaultOrigin, type Framing, type OriginFault } from "../support/fault-origin.ts";

const TIMEOUT_MS = 2000;
const MAX_ITEM = 32 * 1024;
const SMALL = 20_000;
const STREAMED = scaled(100_000, 2 * 2 ** 20);
/** Scheduling slack on a shared 2-core machine: an answer due at the deadline may come this much later. */
const SLACK_MS = 1500;

/** What the client must see: an error status, or for a streamed blob a body broken off before its end. */
type Expected = 200 | 502 | 504 | "cut";

interface Case {
  fault: OriginFault;
  framing: Framing;
  size: "small" | "streamed";
  expected: Expected;
}

function expectedOf(fault: OriginFault, framing: Framing, size: Case["size"]): Expected {
  switch (fault) {
    case "none":
      return 200;
    case "silent":
      return 504;
    case "error500":
      return 502;
    case "drip":
      // Until a body is known to outgrow --max-item-bytes it has the deadline (504); beyond, the rate bound.
      return size === "small" || framing === "chunked" ? 504 : "cut";
    default:
      // lying, short, reset: a held blob is checked whole (502); a streamed one is cut before its last bytes.
      return size === "small" ? 502 : "cut";
  }
}

const FAULTS: OriginFault[] = ["none", "silent", "lying", "short", "reset", "drip", "error500"];
const CASES: Case[] = (["sized", "chunked"] as const).flatMap((framing) =>
  (["small", "streamed"] as const).flatMap((size) =>
    FAULTS.map((fault) => ({ fault, framing, size, expected: expectedOf(fault, framing, size) })),
  ),
);

let origin: FaultOrigin;
let cache: ProgramProcess;
let hitKey: string;

beforeAll(async () => {
  origin = startFaultOrigin();
  cache = await startCacheProcess(origin.url, [
    ...["--upstream-timeout", `${TIMEOUT_MS}ms`, "--max-item-bytes", String(MAX_ITEM), "--upstream-min-rate", "256KiB"],
  ]);
  hitKey = origin.serve(randomBytes(SMALL));
  const warm = await fetch(`${cache.url}/cas/${hitKey}`);
  expect(sha256(new Uint8Array(await warm.arrayBuffer()))).toBe(hitKey);
});
afterAll(async () => {
  await cache?.stop("SIGKILL");
  origin?.stop();
});

interface Outcome {
  /** The status, or "cut" when the body broke off (or the connection was reset before any status). */
  seen: number | "cut";
  /** True when a complete body was received and does not hash to the key. */
  wrong: boolean;
  ms: number;
}

async function get(key: string): Promise<Outcome> {
  const started = performance.now();
  let seen: Outcome["seen"] = "cut";
  let wrong = false;
  try {
    const res = await fetch(`${cache.url}/cas/${key}`, { signal: AbortSignal.timeout(120_000) });
    seen = res.status;
    const body = new Uint8Array(await res.arrayBuffer());
    if (res.status === 200) wrong = sha256(body) !== key;
  } catch {
    // A streamed body broken off, or a reset before the status line.
    seen = "cut";
  }
  return { seen, wrong, ms: performance.now() - started };
}

/** Requests the hit key every 50 ms until `until` settles; returns the latencies (all must be 200s). */
async function hitsDuring(until: Promise<unknown>): Promise<{ ms: number[]; failed: number }> {
  let done = false;
  void until.finally(() => (done = true));
  const ms: number[] = [];
  let failed = 0;
  while (!done) {
    const outcome = await get(hitKey);
    ms.push(outcome.ms);
    if (outcome.seen !== 200 || outcome.wrong) failed++;
    await Bun.sleep(50);
  }
  return { ms, failed };
}

test(`${CASES.length} origin faults at once (sized/chunked, small/streamed): right answer in time, nothing wrong, recovery`, async () => {
  const before = await cacheStats(cache.url);
  const keys = CASES.map((c) =>
    origin.serve(randomBytes(c.size === "small" ? SMALL : STREAMED), { fault: c.fault, framing: c.framing }),
  );
  const running = Promise.all(keys.map((key) => get(key)));
  const hits = await hitsDuring(running);
  const outcomes = await running;
  const during = await cacheStats(cache.url);

  // The origin mends: each key is asked for again, without restarting anything.
  for (const [i, c] of CASES.entries()) origin.set(keys[i]!, { fault: "none", framing: c.framing });
  const recovered = await Promise.all(keys.map((key) => get(key)));
  // HEAD says the size a GET sends: known for held and sized blobs, none for a chunked stream.
  const heads = await Promise.all(
    keys.map(async (key) => (await fetch(`${cache.url}/cas/${key}`, { method: "HEAD" })).headers.get("content-length")),
  );

  const rows = CASES.map((c, i) => {
    const o = outcomes[i]!;
    // The rate bound adds what the bytes received earn at 256 KiB/s: a few ms for a drip.
    const limit = TIMEOUT_MS + SLACK_MS;
    const size = c.size === "small" ? SMALL : STREAMED;
    const head = c.size === "streamed" && c.framing === "chunked" ? null : String(size);
    const ok = o.seen === c.expected && !o.wrong && o.ms <= limit && recovered[i]!.seen === 200 && heads[i] === head;
    return { c, o, ok, head: heads[i] };
  });
  for (const { c, o, ok, head } of rows) {
    reportFigures(
      "origin fault behind the cache",
      { fault: c.fault, framing: c.framing, size: c.size === "small" ? SMALL : STREAMED, timeoutMs: TIMEOUT_MS },
      { expected: c.expected, seen: o.seen, ms: Math.round(o.ms), wrongServed: o.wrong, headLength: head ?? "none" },
      ok,
    );
  }
  const items = (s: typeof before) => (s.main.Items ?? 0) + (s.hot.Items ?? 0);
  const newItems = items(during) - items(before);
  const honest = CASES.filter((c) => c.fault === "none" && c.size === "small").length;
  const held = hits.failed === 0 && newItems === honest && recovered.every((r) => r.seen === 200 && !r.wrong);
  reportFigures(
    "origin faults: hits meanwhile, nothing cached, recovery",
    { cases: CASES.length },
    {
      hits: hits.ms.length,
      hitsFailed: hits.failed,
      hitP99ms: Math.round(percentile(hits.ms, 99)),
      cachedDuringFaults: newItems,
      honestSmall: honest,
      recovered: `${recovered.filter((r) => r.seen === 200 && !r.wrong).length}/${CASES.length}`,
    },
    held,
  );
  expect(rows.filter((r) => !r.ok).map((r) => `${r.c.fault}/${r.c.framing}/${r.c.size}: ${r.o.seen}`)).toEqual([]);
  expect(hits.failed).toBe(0);
  expect(newItems).toBe(honest);
  expect(recovered.every((r) => r.seen === 200 && !r.wrong)).toBe(true);
}, 60_000);

test("origin down: misses 502 at once, hits served, and the first miss after it returns is served", async () => {
  const port = freePort();
  let down = startFaultOrigin(port);
  const alone = await startCacheProcess(down.url, ["--upstream-timeout", `${TIMEOUT_MS}ms`]);
  try {
    const cached = down.serve(randomBytes(SMALL));
    expect((await fetch(`${alone.url}/cas/${cached}`)).status).toBe(200);
    down.stop();
    const started = performance.now();
    const res = await fetch(`${alone.url}/cas/${sha256(randomBytes(10))}`);
    const missMs = performance.now() - started;
    const body = (await res.json()) as { error: string };
    const hit = await fetch(`${alone.url}/cas/${cached}`);
    const hitOk = hit.status === 200 && sha256(new Uint8Array(await hit.arrayBuffer())) === cached;
    down = startFaultOrigin(port);
    const later = down.serve(randomBytes(SMALL));
    const back = await fetch(`${alone.url}/cas/${later}`);
    const backOk = back.status === 200 && sha256(new Uint8Array(await back.arrayBuffer())) === later;
    const held = res.status === 502 && body.error === "upstream_unavailable" && hitOk && backOk;
    reportFigures(
      "origin down behind the cache",
      { timeoutMs: TIMEOUT_MS },
      { miss: `${res.status} ${body.error}`, missMs: Math.round(missMs), hitServed: hitOk, afterReturn: back.status },
      held,
    );
    expect(res.status).toBe(502);
    expect(body.error).toBe("upstream_unavailable");
    expect(missMs).toBeLessThan(TIMEOUT_MS);
    expect(hitOk).toBe(true);
    expect(backOk).toBe(true);
  } finally {
    await alone.stop("SIGKILL");
    down.stop();
  }
}, 30_000);
