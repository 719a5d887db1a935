import { afterAll, describe, expect, test } from "bun:test";
import { runLoad, VERIFY_ERROR, type LoadOptions, type ShotResult, type Target } from "../lib/loadgen.ts";

const cleanups: (() => void | Promise<unknown>)[] = [];
afterAll(async () => {
  for (const f of cleanups) await f();
});

/** An in-process server that counts requests in progress at once. */
function countingServer(delayMs = 0) {
  const stats = { concurrent: 0, maxConcurrent: 0, requests: 0 };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      stats.requests++;
      stats.concurrent++;
      stats.maxConcurrent = Math.max(stats.maxConcurrent, stats.concurrent);
      try {
        const path = new URL(req.url).pathname;
        if (path === "/missing") return new Response("no", { status: 404 });
        if (delayMs > 0) await Bun.sleep(delayMs);
        return new Response("blob-body");
      } finally {
        stats.concurrent--;
      }
    },
  });
  cleanups.push(() => server.stop(true));
  return { url: `http://127.0.0.1:${server.port}`, stats };
}

/**
 * A server in its own process (so its stalls do not stop the generator) that blocks its event loop for
 * `freezeMs` when it receives /freeze, and answers everything else at once.
 */
async function freezingServer(freezeMs: number): Promise<string> {
  const code = `
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch(req) {
      if (new URL(req.url).pathname === "/freeze") { const end = performance.now() + ${freezeMs}; while (performance.now() < end); }
      return new Response("ok");
    }});
    console.log(server.port);`;
  const proc = Bun.spawn([process.execPath, "-e", code], { stdout: "pipe", stderr: "inherit" });
  cleanups.push(() => {
    proc.kill();
    return proc.exited;
  });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("freezing server exited");
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return `http://127.0.0.1:${Number(text.trim())}`;
}

async function collect(options: Omit<LoadOptions, "onResult">) {
  const results: ShotResult[] = [];
  const summary = await runLoad({ ...options, onResult: (r) => results.push(r) });
  results.sort((a, b) => a.seq - b.seq);
  return { summary, results };
}

const get = (url: string): Target => ({ method: "GET", url });

describe("runLoad()", () => {
  test("sends exactly rate x duration requests, each reported once, due 1/rate apart", async () => {
    const { url, stats } = countingServer();
    const target = get(url + "/blob");
    const { summary, results } = await collect({ next: () => target, rate: 200, durationMs: 500 });
    expect(summary.requests).toBe(100);
    expect(summary.stoppedBy).toBe("duration");
    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(stats.requests).toBe(100);
    for (const r of results) {
      expect(r.due - results[0]!.due).toBeCloseTo(r.seq * 5, 6); // milliseconds
      expect([r.status, r.error, r.bytesIn, r.bytesOut]).toEqual([200, undefined, 9, 0]);
      expect(r.target).toBe(target);
      expect(r.sendLagNs / 1e6).toBeCloseTo(r.sent - r.due, 3);
      expect(r.latencyNs).toBeGreaterThanOrEqual(r.sendLagNs);
    }
    expect(results[0]!.due).toBeCloseTo(summary.started, 0);
    expect(summary.ended).toBeGreaterThanOrEqual(results[99]!.due);
  });

  test("stops early when the signal aborts and reports what ran", async () => {
    const { url } = countingServer();
    const controller = new AbortController();
    const results: ShotResult[] = [];
    const run = runLoad({
      next: () => get(url),
      rate: 100,
      durationMs: 60_000,
      signal: controller.signal,
      onResult: (r) => {
        results.push(r);
        if (results.length === 10) controller.abort();
      },
    });
    const summary = await run;
    expect(summary.stoppedBy).toBe("signal");
    expect(summary.requests).toBeGreaterThanOrEqual(10);
    expect(summary.requests).toBeLessThan(6000);
    expect(results.length).toBe(summary.requests);
  });

  test("sends nothing when the signal is already aborted", async () => {
    let calls = 0;
    const summary = await runLoad({
      next: () => get("http://127.0.0.1:9/"),
      rate: 100,
      durationMs: 1000,
      signal: AbortSignal.abort(),
      onResult: () => calls++,
    });
    expect([summary.requests, summary.stoppedBy, calls]).toEqual([0, "signal", 0]);
  });

  test("keeps at most maxInflight requests at the server, and the queue wait counts in latency", async () => {
    const { url, stats } = countingServer(30);
    const { results } = await collect({ next: () => get(url), rate: 1000, durationMs: 100, maxInflight: 4 });
    expect(results.length).toBe(100);
    expect(stats.maxConcurrent).toBe(4);
    expect(results.every((r) => r.status === 200)).toBe(true);
    // 100 requests through 4 slots of at least 30 ms: the last ones waited at least 24 rounds
    expect(results[99]!.latencyNs).toBeGreaterThanOrEqual(((100 / 4 - 1) * 30 - 100) * 1e6);
    // that wait is back-pressure, not the generator's own lag
    expect(results[99]!.queueNs!).toBeGreaterThanOrEqual(((100 / 4 - 1) * 30 - 100) * 1e6);
    for (const r of results) expect(r.queueNs!).toBeLessThanOrEqual(r.sendLagNs);
    // the wait for a slot is told apart from connecting: the first 4 had a slot at once, the last one waited
    expect(results.slice(0, 4).map((r) => r.slotWaitNs)).toEqual([0, 0, 0, 0]);
    expect(results[99]!.slotWaitNs!).toBeGreaterThanOrEqual(((100 / 4 - 1) * 30 - 100) * 1e6);
    for (const r of results) expect(r.slotWaitNs!).toBeLessThanOrEqual(r.queueNs!);
  });

  test("with rate 0 sends as fast as maxInflight allows", async () => {
    const { url, stats } = countingServer(5);
    const { summary, results } = await collect({ next: () => get(url), rate: 0, durationMs: 200, maxInflight: 3 });
    expect(summary.stoppedBy).toBe("duration");
    expect(stats.maxConcurrent).toBe(3);
    expect(results.length).toBe(summary.requests);
    expect(summary.requests).toBeGreaterThan(3);
    expect(results.every((r) => r.status === 200 && r.sendLagNs >= 0)).toBe(true);
  });

  for (const maxInflight of [256, 1]) {
    test(`shows a server stall in the latency of every request due during it (maxInflight ${maxInflight})`, async () => {
      const base = await freezingServer(400);
      const { results } = await collect({
        next: (seq) => get(seq === 10 ? base + "/freeze" : base + "/"),
        rate: 100,
        durationMs: 500,
        maxInflight,
      });
      expect(results.length).toBe(50);
      const freeze = results[10]!;
      expect(freeze.latencyNs).toBeGreaterThanOrEqual(400e6);
      // the server froze after /freeze went out and for 400 ms: nothing due in between could finish earlier
      const frozenUntil = freeze.sent + 400;
      const during = results.filter((r) => r.seq > 10 && r.due < frozenUntil);
      expect(during.length).toBeGreaterThanOrEqual(30);
      for (const r of during) expect(r.due + r.latencyNs / 1e6).toBeGreaterThanOrEqual(frozenUntil);
    });
  }

  test("fails a request past its timeout, counted from its due time", async () => {
    const base = await freezingServer(1000);
    const { results } = await collect({
      next: (seq) => get(seq === 0 ? base + "/freeze" : base + "/"),
      rate: 50,
      durationMs: 100,
      timeoutMs: 150,
    });
    expect(results.length).toBe(5);
    for (const r of results) {
      expect([r.status, r.error]).toEqual([0, "timeout"]);
      expect(r.latencyNs).toBeGreaterThanOrEqual(150e6);
    }
  });

  test("reports non-2xx statuses, failed verification, refused connections and bad URLs as errors", async () => {
    const { url } = countingServer();
    const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const refusedPort = closed.port;
    closed.stop(true);
    const targets: Target[] = [
      { method: "GET", url: url + "/blob", verify: (body) => new TextDecoder().decode(body) === "blob-body" },
      { method: "GET", url: url + "/blob", verify: () => false },
      { method: "GET", url: url + "/missing", verify: () => true },
      get(`http://127.0.0.1:${refusedPort}/`),
      get("ftp://127.0.0.1/x"),
      { method: "PUT", url: url + "/blob", body: new Uint8Array(1234) },
    ];
    const { results } = await collect({ next: (seq) => targets[seq]!, rate: 100, durationMs: 60 });
    expect(results.map((r) => [r.status, r.error ?? ""])).toEqual([
      [200, ""],
      [200, VERIFY_ERROR],
      [404, "404 Not Found"],
      [0, "connection refused"],
      [0, 'Cannot send to "ftp://127.0.0.1/x": only http and https'],
      [200, ""],
    ]);
    expect(results[5]!.bytesOut).toBe(1234);
  });

  test("carries each response's X-Cache verdict, and none when the response had no such header", async () => {
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        const path = new URL(req.url).pathname;
        if (path === "/plain") return new Response("ok");
        return new Response("ok", { headers: { "x-cache": path === "/hit" ? "HIT" : "miss" } });
      },
    });
    cleanups.push(() => server.stop(true));
    const base = `http://127.0.0.1:${server.port}`;
    const paths = ["/hit", "/miss", "/plain", "/hit"];
    const { results } = await collect({ next: (seq) => get(base + paths[seq]!), rate: 100, durationMs: 40 });
    expect(results.map((r) => r.cache)).toEqual(["HIT", "MISS", undefined, "HIT"]);
    expect("cache" in results[2]!).toBe(false);
  });

  test("rejects with the error next() throws, after reporting what was sent", async () => {
    const { url } = countingServer();
    const seen: number[] = [];
    const run = runLoad({
      next: (seq) => {
        if (seq === 3) throw new Error("out of targets");
        return get(url);
      },
      rate: 200,
      durationMs: 1000,
      onResult: (r) => seen.push(r.seq),
    });
    expect(run).rejects.toThrow("out of targets");
    await run.catch(() => {});
    expect(seen.sort()).toEqual([0, 1, 2]);
  });

  test("rejects bad options", () => {
    const base = { next: () => get("http://127.0.0.1:9/"), onResult: () => {} };
    expect(() => runLoad({ ...base, rate: -1, durationMs: 1 })).toThrow(RangeError);
    expect(() => runLoad({ ...base, rate: 1, durationMs: -1 })).toThrow(RangeError);
    expect(() => runLoad({ ...base, rate: 1, durationMs: 1, maxInflight: 0 })).toThrow(
      "'maxInflight' must be a positive integer, got 0",
    );
  });
});
