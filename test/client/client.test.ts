import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLIENT_PROGRAM, type ClientConfig } from "../../lib/client/flags.ts";
import { ConfigError, loadConfig } from "../../lib/common/config.ts";
import { PROJECT_ROOT, startProgram, type ProgramProcess } from "../../lib/common/program-process.ts";
import { CLIENT, cleanEnv, runClient } from "../support/client-run.ts";

function parse(argv: string[], env: Record<string, string> = {}): ClientConfig {
  const result = loadConfig(CLIENT_PROGRAM, argv, env);
  if (result.kind === "error") throw result.error;
  if (result.kind === "help") throw new Error("unexpected help");
  return result.config;
}

// any: the report is checked field by field against vegeta's documented shape
type Report = Record<string, any>;

describe("client flags", () => {
  test("defaults: localhost server and cache, 50/s for 10 s, one 25,000-byte blob, JSON report", () => {
    const c = parse([]);
    expect(c.server).toBe("http://localhost:5000");
    expect(c.cache).toEqual(["http://localhost:18001"]);
    expect(c.rate).toEqual({ kind: "constant", perSecond: 50 });
    expect(c.duration).toBe(10_000);
    expect(c.size).toBe(25_000);
    expect(c.blobs).toBe(1);
    expect(c.hitRatio).toBe(1);
    expect(c.dist).toEqual({ kind: "uniform" });
    expect(c.report).toEqual({ kind: "json" });
    expect(c.verify).toBe(true);
    expect(c.metricsPort).toBeUndefined();
    expect(c.workload).toBe("default");
    expect(parse([], { ATTACK_WORKLOAD: "build-cache" }).workload).toBe("build-cache");
  });

  test("the original system's environment variables work, and flags beat them", () => {
    const env = {
      ATTACK_FREQ: "3",
      ATTACK_DURATION: "7",
      CONTENT_SIZE: "2500",
      HIT_MISS_RATIO: "0.25",
      CAS_SERVER_ADDR: "cas-server:5000",
      CACHE_SERVER_ADDR: "cache-a:18001,cache-b:18001",
      CAS_WRITE_TOKEN: "s3cret",
    };
    const c = parse([], env);
    expect(c.rate).toEqual({ kind: "constant", perSecond: 3 });
    expect(c.duration).toBe(7_000);
    expect(c.size).toBe(2_500);
    expect(c.hitRatio).toBe(0.25);
    expect(c.server).toBe("http://cas-server:5000");
    expect(c.cache).toEqual(["http://cache-a:18001", "http://cache-b:18001"]);
    expect(c.writeToken).toBe("s3cret");
    const f = parse(["--rate", "100/1m", "--duration", "1m30s", "--size", "1MiB", "--hit-ratio", "1"], env);
    expect(f.rate).toEqual({ kind: "constant", perSecond: 100 / 60 });
    expect(f.duration).toBe(90_000);
    expect(f.size).toBe(2 ** 20);
    expect(f.hitRatio).toBe(1);
  });

  test("repeatable --url and --header, reports, dist, metrics port", () => {
    const c = parse([
      "--url",
      "http://127.0.0.1:1/a",
      "--url=http://127.0.0.1:1/b",
      "--header",
      "X-One: 1",
      "--header",
      "Authorization: Bearer t",
      "--method",
      "post",
      "--body",
      "hello",
      "--report",
      "hist[0,1ms,5ms]",
      "--dist",
      "zipf:1.2",
      "--metrics-port",
      "0",
      "--no-verify",
      "--rate",
      "infinity",
    ]);
    expect(c.url).toEqual(["http://127.0.0.1:1/a", "http://127.0.0.1:1/b"]);
    expect(c.header).toEqual([
      ["X-One", "1"],
      ["Authorization", "Bearer t"],
    ]);
    expect(c.method).toBe("POST");
    expect(new TextDecoder().decode(c.body)).toBe("hello");
    expect(c.report).toEqual({ kind: "hist", buckets: [0, 1e6, 5e6] });
    expect(c.dist).toEqual({ kind: "zipf", s: 1.2 });
    expect(c.metricsPort).toBe(0);
    expect(c.verify).toBe(false);
    expect(c.rate).toEqual({ kind: "constant", perSecond: 0 });
  });

  test("targets, results, thresholds, the send lag limit and the upload form", () => {
    const c = parse([
      ...["--targets", "-", "--format", "json", "--body", "x", "--results", "r.csv", "--results-format", "csv"],
      ...["--threshold", "p99<50ms", "--threshold=target=GET http://h/a,b:errors==0", "--max-send-lag", "2.5ms"],
      ...["--upload", "multipart"],
    ]);
    expect([c.targets, c.format, c.results, c.resultsFormat, c.maxSendLag, c.upload]).toEqual([
      ...["-", "json", "r.csv", "csv", 2.5, "multipart"],
    ]);
    expect(c.threshold.map((t) => t.text)).toEqual(["p99<50ms", "target=GET http://h/a,b:errors==0"]);
    const d = parse([]);
    expect([d.targets, d.format, d.results, d.resultsFormat, d.maxSendLag, d.upload]).toEqual([
      "",
      "http",
      "",
      "json",
      10,
      "raw",
    ]);
    expect(d.threshold).toEqual([]);
    // one threshold per line in the env var: expressions may name URLs with commas
    const e = parse([], { ATTACK_THRESHOLD: "p99<1s\ntarget=GET http://h/a,b:p50<1ms" });
    expect(e.threshold.map((t) => t.text)).toEqual(["p99<1s", "target=GET http://h/a,b:p50<1ms"]);
  });

  test("rate shapes, the capacity search and shards: flags and their env vars", () => {
    const d = parse([]);
    expect([d.steps, d.stepDuration, d.findMax, d.maxRate, d.maxTime, d.shard, d.startAt]).toEqual([
      [],
      10_000,
      false,
      0,
      300_000,
      undefined,
      undefined,
    ]);
    expect(parse(["--rate", "100..2000/s"]).rate).toEqual({ kind: "ramp", from: 100, to: 2000 });
    const c = parse([
      ...["--steps", "100,200/s", "--step-duration", "5s", "--shard", "1/4", "--start-at", "2026-12-01T16:00:00Z"],
    ]);
    expect([c.steps, c.stepDuration, c.shard, c.startAt]).toEqual([
      [100, 200],
      5000,
      { index: 1, count: 4 },
      Date.UTC(2026, 11, 1, 16),
    ]);
    const env = {
      ...{ ATTACK_FIND_MAX: "true", ATTACK_MAX_RATE: "5000", ATTACK_MAX_TIME: "2m", ATTACK_STEP_DURATION: "3s" },
    };
    const f = parse([], env);
    expect([f.findMax, f.maxRate, f.maxTime, f.stepDuration]).toEqual([true, 5000, 120_000, 3000]);
    const s = parse([], { ATTACK_STEPS: "10,20", ATTACK_SHARD: "0/2", ATTACK_START_AT: "2026-12-01T16:00:00Z" });
    expect([s.steps, s.shard, s.startAt]).toEqual([[10, 20], { index: 0, count: 2 }, Date.UTC(2026, 11, 1, 16)]);
  });

  test("bad values are one ConfigError each", () => {
    const bad: [string[], string][] = [
      [["--rate", "fast"], 'invalid value "fast" for --rate'],
      [["--duration", "soon"], 'invalid value "soon" for --duration'],
      [["--hit-ratio", "2"], 'invalid value "2" for --hit-ratio: expected a share from 0 to 1'],
      [["--dist", "normal"], 'invalid value "normal" for --dist'],
      [["--report", "hist"], "invalid value \"hist\" for --report: bad buckets: ''"],
      [["--report", "csv"], 'invalid value "csv" for --report: unknown report type: "csv"'],
      [["--header", "no colon"], 'invalid value "no colon" for --header'],
      [["--url", "not a url"], 'invalid value "not a url" for --url'],
      [["--blobs", "0"], 'invalid value "0" for --blobs'],
      [["--method", "PUT"], "--method applies only with --url"],
      [["--body", "x"], "--body applies only with --url"],
      [["--workload", "bazel"], 'invalid value "bazel" for --workload: expected default or build-cache'],
      [["--url", "http://x/", "--workload", "build-cache"], "--workload applies only without --url or --targets"],
      [["--bogus"], 'unknown flag "--bogus"'],
      [["--format", "xml"], 'invalid value "xml" for --format: expected "http" or "json"'],
      [["--results-format", "gob"], 'invalid value "gob" for --results-format: expected "json" or "csv"'],
      [["--upload", "form"], 'invalid value "form" for --upload: expected "raw" or "multipart"'],
      [["--threshold", "p99"], 'invalid value "p99" for --threshold: expected METRIC OP VALUE'],
      [["--max-send-lag", "soon"], 'invalid value "soon" for --max-send-lag'],
      [["--targets", "t.txt", "--url", "http://x/"], "--url and --targets both name what to attack"],
      [["--targets", "t.txt", "--method", "POST"], "--method applies only with --url (the targets file gives"],
      [["--results", "r.json", "--json", "r.json"], "--results names the same file as a report"],
      [["--rate", "100.."], 'invalid value "100.." for --rate: expected a ramp such as 100..2000/s'],
      [["--steps", "100,0"], 'invalid value "100,0" for --steps: every step needs a rate above 0'],
      [["--step-duration", "0"], "--step-duration must be above 0"],
      [["--steps", "1,2", "--rate", "1..2"], "--steps and a ramp --rate both shape the rate"],
      [["--rate", "1..2", "--duration", "0"], "a ramp --rate needs a --duration above 0"],
      [["--find-max", "--rate", "1..2"], "--find-max starts at one --rate, not a ramp"],
      [["--find-max", "--start-at", "2026-12-01T16:00:00Z"], "--start-at starts one schedule; --find-max runs many"],
      [["--find-max", "--max-time", "0"], "--max-time must be above 0"],
      [["--shard", "1"], 'invalid value "1" for --shard: expected I/N'],
      [
        ["--url", "http://x/", "--body", "@/nonexistent/body"],
        'invalid value "@/nonexistent/body" for --body: cannot read the body file /nonexistent/body',
      ],
    ];
    for (const [argv, message] of bad) {
      expect(() => parse(argv)).toThrow(ConfigError);
      expect(() => parse(argv)).toThrow(message);
    }
  });
});

describe("client process", () => {
  test("--help prints every flag and exits 0", async () => {
    const run = await runClient(["--help"]);
    expect(run.code).toBe(0);
    for (const flag of [
      "--server",
      "--cache",
      "--rate",
      "--duration",
      "--hit-ratio",
      "--report",
      "--html",
      "--url",
      "--metrics-port",
      "--targets",
      "--results",
      "--threshold",
      "--max-send-lag",
      "--upload",
    ]) {
      expect(run.stdout).toContain(flag);
    }
    expect(run.stdout).toContain("ATTACK_FREQ");
    expect(run.stdout).toContain("bun client.ts report [flags] FILE...");
    expect(run.stdout).toContain("3 the generator could not keep its schedule");
  });

  test("report --help prints the report's flags and exits 0", async () => {
    const run = await runClient(["report", "--help"]);
    expect(run.code).toBe(0);
    for (const flag of ["--type", "--output", "--json", "--html", "--threshold", "--max-send-lag"]) {
      expect(run.stdout).toContain(flag);
    }
    expect(run.stdout).toStartWith("client report: one report from results files");
  });

  test("a bad flag or value exits 2 with one line", async () => {
    for (const args of [["--rate", "fast"], ["--bogus"], ["--method", "POST"], ["extra-arg"]]) {
      const run = await runClient(args);
      expect(run.code).toBe(2);
      expect(run.stderr.trimEnd().split("\n").length).toBe(1);
      expect(run.stderr.startsWith("client: ")).toBe(true);
      expect(run.stdout).toBe("");
    }
  });

  test("a stray argument is refused: one line naming it, exit 2", async () => {
    const run = await runClient(["--rate", "1", "http://127.0.0.1:1/"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('client: unexpected argument "http://127.0.0.1:1/" (see --help)\n');
  });

  test("an unreachable server stops the default flow with one clear line", async () => {
    const run = await runClient(["--server", "http://127.0.0.1:9", "--duration", "1s", "--log-level", "error"]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe("client: cannot reach the server at http://127.0.0.1:9: connection refused");
    expect(run.stdout).toBe("");
  });
});

describe("upload phase against a server that never answers a PUT", () => {
  // A stand-in origin: it takes each PUT and stalls until the client gives up, so only Ctrl-C can end the upload.
  const puts: string[] = [];
  let stall: ReturnType<typeof Bun.serve>;
  beforeAll(() => {
    stall = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 0,
      fetch(req) {
        puts.push(new URL(req.url).pathname);
        return new Promise<Response>((resolve) => req.signal.addEventListener("abort", () => resolve(new Response())));
      },
    });
  });
  afterAll(() => void stall.stop(true));

  test("uploads 8 blobs at once, and SIGINT stops the upload with one line and exit 130, without a report", async () => {
    const proc = Bun.spawn(
      [process.execPath, CLIENT, "--server", `http://127.0.0.1:${stall.port}`, "--blobs", "20", "--size", "100"],
      { cwd: PROJECT_ROOT, env: cleanEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe" },
    );
    try {
      const output = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
      // Wait (bounded) for the upload to fill its 8 slots; one at a time would leave it at 1.
      for (let i = 0; i < 120 && puts.length < 8; i++) await Bun.sleep(25);
      expect(puts.length).toBe(8);
      proc.kill("SIGINT");
      // The client must end on its own: before the fix it waited out every upload's 30 s timeout.
      const ended = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => "still running")]);
      expect(ended).toBe(130);
      const [stdout, stderr] = await output;
      expect(stdout).toBe("");
      expect(stderr).toContain("client: upload interrupted after 0 of 20 blob(s); nothing was attacked\n");
      expect(stderr).not.toContain("attack started");
      expect(puts.length).toBe(8); // nothing new started after the signal
    } finally {
      proc.kill("SIGKILL");
    }
  }, 20_000);
});

describe("--url mode against a test target", () => {
  let target: ReturnType<typeof Bun.serve>;
  const seen: { method: string; path: string; header: string | null; body: string }[] = [];
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "cas-client-"));
    target = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const path = new URL(req.url).pathname;
        seen.push({ method: req.method, path, header: req.headers.get("x-test"), body: await req.text() });
        if (path === "/missing") return new Response("nope", { status: 404 });
        if (path === "/slow") await Bun.sleep(50);
        return new Response("ok!");
      },
    });
  });

  afterAll(() => {
    void target.stop(true);
    rmSync(dir, { recursive: true, force: true });
  });

  test("--method, --header and --body @file reach the target; the JSON report's counts match", async () => {
    seen.length = 0;
    const bodyFile = join(dir, "body.bin");
    writeFileSync(bodyFile, "payload-123");
    const base = `http://127.0.0.1:${target.port}`;
    const run = await runClient([
      "--url",
      `${base}/a`,
      "--url",
      `${base}/missing`,
      "--method",
      "POST",
      "--header",
      "X-Test: yes",
      "--body",
      `@${bodyFile}`,
      "--rate",
      "40",
      "--duration",
      "1s",
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.requests).toBe(40);
    expect(seen.length).toBe(40);
    expect(report.status_codes).toEqual({ "200": 20, "404": 20 });
    expect(report.success).toBe(0.5);
    expect(report.errors).toEqual(["404 Not Found"]);
    expect(report.bytes_out).toEqual({ total: 40 * 11, mean: 11 });
    expect(report.bytes_in.total).toBe(20 * 3 + 20 * 4);
    for (const s of seen) {
      expect(s.method).toBe("POST");
      expect(s.header).toBe("yes");
      expect(s.body).toBe("payload-123");
    }
    expect(seen.filter((s) => s.path === "/a").length).toBe(20);
    expect(report.cas.cache_stats).toBeNull();
    expect(report.cas.hit_ratio).toBeNull();
    expect(report.cas.hit_ratio_observed).toBeNull(); // the target sends no X-Cache
    expect(report.cas.x_cache).toEqual({ hit: 0, miss: 0 });
  });

  test("ATTACK_FREQ and ATTACK_DURATION set the rate and length; --output, --json and --html write files", async () => {
    const out = join(dir, "report.txt");
    const json = join(dir, "report.json");
    const html = join(dir, "report.html");
    const run = await runClient(
      [
        "--url",
        `http://127.0.0.1:${target.port}/a`,
        "--report",
        "text",
        "--output",
        out,
        "--json",
        json,
        "--html",
        html,
      ],
      { env: { ATTACK_FREQ: "25", ATTACK_DURATION: "1" } },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("");
    expect(readFileSync(out, "utf8")).toMatch(/^Requests {6}\[total, rate, throughput\] {9}25, /);
    expect((JSON.parse(readFileSync(json, "utf8")) as Report).requests).toBe(25);
    const page = readFileSync(html, "utf8");
    expect(page.startsWith("<!doctype html>")).toBe(true);
    expect(page).toContain("<svg");
    // the generator's own lag and the wait for a --max-inflight slot are told apart
    expect(page).toContain("<th>Send lag (generator) p50 / p99 / max</th>");
    expect(page).toContain("<th>Queue wait (max-inflight) p50 / p99 / max</th>");
  });

  test("--report hist[...] prints vegeta's table and puts the buckets in the --json file; hdrplot prints its table", async () => {
    const json = join(dir, "hist.json");
    const url = `http://127.0.0.1:${target.port}/a`;
    const hist = await runClient([
      "--url",
      url,
      "--rate",
      "20",
      "--duration",
      "0.5s",
      "--report",
      "hist[0,1ms,1m]",
      "--json",
      json,
    ]);
    expect(hist.code).toBe(0);
    const lines = hist.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^Bucket +# +% +Histogram$/);
    expect(lines.slice(1).map((l) => l.split("]")[0])).toEqual(["[0s,    1ms", "[1ms,   1m0s", "[1m0s,  +Inf"]);
    const report = JSON.parse(readFileSync(json, "utf8")) as Report;
    expect(Object.keys(report.buckets)).toEqual(["0", "1000000", "60000000000"]);
    expect(Object.values(report.buckets as Record<string, number>).reduce((a, b) => a + b)).toBe(10);
    const hdr = await runClient(["--url", url, "--rate", "20", "--duration", "0.5s", "--report", "hdrplot"]);
    expect(hdr.code).toBe(0);
    expect(hdr.stdout.split("\n")[0]).toBe("Value(ms)  Percentile  TotalCount  1/(1-Percentile)");
    expect(hdr.stdout.trimEnd().split("\n").length).toBe(95);
  });

  test("SIGINT mid-run stops the attack and still prints the report of what ran", async () => {
    const run = await runClient(
      ["--url", `http://127.0.0.1:${target.port}/slow`, "--rate", "50", "--duration", "30s"],
      {
        interruptAfterMs: 1500,
      },
    );
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.requests).toBeGreaterThan(0);
    expect(report.requests).toBeLessThan(50 * 30);
    expect(report.status_codes["200"]).toBe(report.requests);
    expect(run.stderr).toContain('"msg":"stopping"');
  });

  test("--metrics-port serves the client's Prometheus metrics during the run", async () => {
    const client: ProgramProcess = await startProgram("client.ts", [
      "--url",
      `http://127.0.0.1:${target.port}/a`,
      "--rate",
      "50",
      "--duration",
      "3s",
      "--metrics-port",
      "0",
      "--host",
      "127.0.0.1",
    ]);
    try {
      await Bun.sleep(700);
      const text = await (await fetch(`${client.url}/metrics`)).text();
      expect(text).toMatch(/^cas_client_requests_total\{status="200"\} [1-9]\d*$/m);
      expect(text).toContain("cas_client_request_duration_seconds_bucket");
      expect(text).toContain("cas_client_errors_total 0");
      expect(text).toContain("process_resident_memory_bytes");
    } finally {
      await client.stop("SIGINT");
    }
  });
});

describe("default flow against real server and cache processes", () => {
  let dataDir: string;
  let server: ProgramProcess;
  let cache: ProgramProcess;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "cas-client-flow-"));
    server = await startProgram("server.ts", ["--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir]);
    cache = await startProgram("cache.ts", ["--host", "127.0.0.1", "--port", "0", "--origin", server.url]);
  });

  afterAll(async () => {
    await Promise.all([cache?.stop(), server?.stop()]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Blob files the server holds under its data dir. */
  function storedBlobs(): string[] {
    const root = join(dataDir, "sha256");
    if (!existsSync(root)) return [];
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && /^[0-9a-f]{64}$/.test(e.name))
      .map((e) => e.name);
  }

  test("uploads the blobs, attacks the cache and prints a JSON report whose counts match", async () => {
    const before = storedBlobs().length;
    const run = await runClient([
      "--server",
      server.url,
      "--cache",
      cache.url,
      "--rate",
      "30",
      "--duration",
      "1s",
      "--blobs",
      "3",
      "--size",
      "5000",
      "--hit-ratio",
      "0.5",
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.requests).toBe(30);
    expect(report.status_codes).toEqual({ "200": 30 });
    expect(report.success).toBe(1);
    expect(report.errors).toEqual([]);
    expect(report.bytes_in).toEqual({ total: 30 * 5000, mean: 5000 });
    expect(report.cas.integrity_failures).toBe(0);
    expect(storedBlobs().length).toBe(before + 3);
    // The cache saw exactly our 30 gets; 15 were forced misses, so at most 15 hits.
    const b = report.cas.cache_stats.before[cache.url];
    const a = report.cas.cache_stats.after[cache.url];
    expect(a.Gets - b.Gets).toBe(30);
    expect(a.CacheHits - b.CacheHits).toBeLessThanOrEqual(15);
    expect(report.cas.hit_ratio).toBe((a.CacheHits - b.CacheHits) / 30);
    // Every response said HIT or MISS, and the responses agree with the cache's own count: 15 forced misses
    // plus the first load of each blob that was not itself forced (0 to 3 of them).
    const { hit, miss } = report.cas.x_cache;
    expect(hit + miss).toBe(30);
    expect(hit).toBe(a.CacheHits - b.CacheHits);
    expect(miss).toBeGreaterThanOrEqual(15);
    expect(miss).toBeLessThanOrEqual(18);
    expect(report.cas.hit_ratio_observed).toBe(hit / 30);
  });

  test("the observed hit ratio counts the responses' X-Cache: forced misses plus the blob's first load", async () => {
    // One blob, sent one at a time so no request overlaps the first load: request 0 is the cold miss, the odd
    // ones carry no-cache (hit ratio 0.5 spreads them evenly), and the other 14 hit.
    const run = await runClient([
      "--server",
      server.url,
      "--cache",
      cache.url,
      "--rate",
      "30",
      "--duration",
      "1s",
      "--blobs",
      "1",
      "--size",
      "3000",
      "--hit-ratio",
      "0.5",
      "--max-inflight",
      "1",
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.requests).toBe(30);
    expect(report.status_codes).toEqual({ "200": 30 });
    expect(report.cas.x_cache).toEqual({ hit: 14, miss: 16 });
    expect(report.cas.hit_ratio_observed).toBe(14 / 30);
    expect(report.cas.hit_ratio).toBe(14 / 30); // the cache's /stats tell the same story
  });

  test("the original env vars drive the default flow: CAS_SERVER_ADDR, CACHE_SERVER_ADDR, CONTENT_SIZE, HIT_MISS_RATIO", async () => {
    const run = await runClient([], {
      env: {
        CAS_SERVER_ADDR: server.url.replace("http://", ""),
        CACHE_SERVER_ADDR: cache.url.replace("http://", ""),
        ATTACK_FREQ: "20",
        ATTACK_DURATION: "1",
        CONTENT_SIZE: "2500",
        HIT_MISS_RATIO: "0",
      },
    });
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.requests).toBe(20);
    expect(report.bytes_in).toEqual({ total: 20 * 2500, mean: 2500 });
    expect(report.cas.hit_ratio).toBe(0); // every request carried Cache-Control: no-cache
    expect(report.cas.hit_ratio_observed).toBe(0);
    expect(report.cas.x_cache).toEqual({ hit: 0, miss: 20 });
  });

  test("--timeout 0 means no timeout: the upload and the attack both go through", async () => {
    const run = await runClient([
      "--server",
      server.url,
      "--cache",
      cache.url,
      "--rate",
      "10",
      "--duration",
      "0.5s",
      "--timeout",
      "0",
    ]);
    expect(run.stderr).not.toContain("client: ");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.requests).toBe(5);
    expect(report.status_codes).toEqual({ "200": 5 });
  });

  test("SIGINT during the default flow still prints the report of what ran", async () => {
    const run = await runClient(["--server", server.url, "--cache", cache.url, "--rate", "20", "--duration", "30s"], {
      interruptAfterMs: 1500,
    });
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.requests).toBeGreaterThan(0);
    expect(report.requests).toBeLessThan(600);
    expect(report.status_codes["200"]).toBe(report.requests);
    expect(report.cas.cache_stats.after[cache.url]).not.toBeNull();
  });

  test("a server with a write token refuses the upload without it, in one line, and accepts it with it", async () => {
    const tokenDir = mkdtempSync(join(tmpdir(), "cas-client-token-"));
    const guarded = await startProgram("server.ts", [
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--data-dir",
      tokenDir,
      "--write-token",
      "s3cret",
    ]);
    try {
      const args = ["--server", guarded.url, "--cache", cache.url, "--rate", "10", "--duration", "0.2s"];
      const refused = await runClient([...args, "--log-level", "error"]);
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim().split("\n").length).toBe(1);
      expect(refused.stderr).toMatch(/^client: uploading [0-9a-f]{64} to http:\/\/127\.0\.0\.1:\d+ failed: 401 /);
      const accepted = await runClient(args, { env: { CAS_WRITE_TOKEN: "s3cret" } });
      expect(accepted.code).toBe(0);
      expect((JSON.parse(accepted.stdout) as Report).requests).toBe(2);
    } finally {
      await guarded.stop();
      rmSync(tokenDir, { recursive: true, force: true });
    }
  });
});

describe("--workload build-cache against real server and cache processes", () => {
  test("seeds the actions, then looks up, fetches and uploads through the cache, with figures by kind", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "cas-client-build-cache-"));
    const args = ["--host", "127.0.0.1", "--port", "0"];
    const server = await startProgram("server.ts", [...args, "--data-dir", dataDir, "--write-token", "tk"]);
    const cache = await startProgram("cache.ts", [...args, "--origin", server.url, "--stats-interval", "0"]);
    try {
      const run = await runClient([
        ...["--server", server.url, "--cache", cache.url, "--workload", "build-cache", "--write-token", "tk"],
        ...["--blobs", "5", "--size", "2000", "--hit-ratio", "0.75", "--rate", "40", "--duration", "1s"],
      ]);
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as Report;
      expect(report.requests).toBe(40);
      expect(report.cas.integrity_failures).toBe(0);
      // Steps 0-2 hit (4 requests each), 3 misses (a lookup and 4 PUTs), 4-6 hit, 7 misses, 8 hits, and 9 is
      // cut short after its lookup and first fetch: 10 lookups of which 2 find nothing, 22 fetches, 8 PUTs.
      const byKind = Object.fromEntries(
        Object.entries(report.cas.by_target as Report).map(([name, g]) => [name, [g.requests, g.status_codes]]),
      );
      expect(byKind).toEqual({
        ac: [10, { "200": 8, "404": 2 }],
        cas: [22, { "200": 22 }],
        put: [8, { "201": 8 }],
      });
      // The new actions' results reached the origin through the cache: 5 + 2 entries, 15 + 6 blobs.
      const status = (await (await fetch(`${server.url}/status`)).json()) as Report;
      expect([status.ac.entries, status.cas.blobs]).toEqual([7, 21]);
      // Only the fetches carried X-Cache: the cache holds blobs, never entries.
      expect(report.cas.x_cache.hit + report.cas.x_cache.miss).toBe(22);
    } finally {
      await Promise.all([cache.stop(), server.stop()]);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
