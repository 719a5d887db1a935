import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort, type ProgramProcess } from "../../lib/common/program-process.ts";
import { startCacheProcess } from "../support/cache-fixtures.ts";
import { runClient } from "../support/client-run.ts";
import { startServer, type ServerProcess } from "../support/server-process.ts";

// any: the report is checked field by field against its documented shape
type Report = Record<string, any>;

const quiet = ["--log-level", "error"];

describe("the default flow over 3 cache peers", () => {
  let origin: ServerProcess;
  let caches: ProgramProcess[] = [];

  beforeAll(async () => {
    origin = await startServer();
    const ports = [freePort(), freePort(), freePort()];
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    caches = await Promise.all(
      ports.map((port, i) =>
        startCacheProcess(origin.url, ["--port", String(port), "--self", urls[i]!, "--peers", urls.join(",")]),
      ),
    );
  });

  afterAll(async () => {
    await Promise.all(caches.map((c) => c.stop()));
    await origin?.close();
  });

  test("breaks the report down by cache peer and by X-Cache verdict, in JSON and text, and thresholds per peer", async () => {
    const peers = caches.map((c) => c.url);
    const args = [
      ...["--server", origin.url, "--cache", peers.join(","), "--rate", "60", "--duration", "1s"],
      ...["--blobs", "6", "--size", "3000", "--hit-ratio", "0.5", ...quiet],
      ...peers.map((p) => `--threshold=target=${p}:errors==0`),
      "--threshold=x_cache=miss:requests>=30",
    ];
    const json = await runClient(args);
    expect(json.stderr).toBe("");
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as Report;
    // in the order their first results came in
    expect(Object.keys(report.cas.by_target).sort()).toEqual([...peers].sort());
    for (const peer of peers) {
      const g = report.cas.by_target[peer];
      expect(g.requests).toBe(20);
      expect(g.status_codes).toEqual({ "200": 20 });
      expect(g.bytes_in).toEqual({ total: 20 * 3000, mean: 3000 });
      expect(g.latencies.max).toBeGreaterThanOrEqual(g.latencies["99th"]);
      expect(g.errors).toEqual([]);
    }
    const { hit, miss } = report.cas.by_x_cache;
    expect(hit.requests + miss.requests).toBe(60);
    expect(miss.requests).toBeGreaterThanOrEqual(30); // the forced half, and first loads
    expect(hit.requests).toBe(report.cas.x_cache.hit);
    expect(report.cas.thresholds.map((t: Report) => t.pass)).toEqual([true, true, true, true, true]);

    const text = await runClient([...args, "--report", "text"]);
    expect(text.code).toBe(0);
    const table = text.stdout.split("\n").filter((line) => peers.some((p) => line.startsWith(p)));
    expect(table.length).toBe(3);
    for (const row of table) expect(row).toMatch(/^http:\/\/127\.0\.0\.1:\d+ +20 +100\.00% +/);
    expect(text.stdout).toMatch(
      /\nX-Cache +Requests +Success +p50 +p90 +p99 +max +Bytes In +Bytes Out +Errors\n(hit|miss) +\d+/,
    );
  }, 30_000);
});

describe("--upload multipart, against a stand-in for the original Go server", () => {
  // The original server stores the multipart field "file" under its file name and serves it back.
  const stored = new Map<string, Uint8Array>();
  const forms: { path: string; type: string | null; field: string | null; filename: string | null }[] = [];
  let original: ReturnType<typeof Bun.serve>;

  beforeAll(() => {
    original = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const path = new URL(req.url).pathname;
        if (req.method === "PUT") {
          const form = await req.formData();
          const file = form.get("file");
          const name = file instanceof File ? file.name : null;
          forms.push({
            path,
            type: req.headers.get("content-type"),
            field: file === null ? null : "file",
            filename: name,
          });
          if (file instanceof File) stored.set(file.name, new Uint8Array(await file.arrayBuffer()));
          return new Response("", { status: 201 });
        }
        const blob = stored.get(path.slice("/cas/".length));
        return blob === undefined ? new Response("", { status: 404 }) : new Response(blob);
      },
    });
  });
  afterAll(() => void original.stop(true));

  test("sends the field file named after the key, and the blobs verify when read back", async () => {
    const url = `http://127.0.0.1:${original.port}`;
    const run = await runClient([
      ...["--server", url, "--cache", url, "--upload", "multipart", "--blobs", "3", "--size", "100"],
      ...["--rate", "20", "--duration", "0.5s", ...quiet],
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(forms.length).toBe(3);
    for (const f of forms) {
      expect(f.type).toStartWith("multipart/form-data; boundary=");
      expect(f.field).toBe("file");
      expect(f.path).toBe(`/cas/${f.filename}`);
      expect(f.filename).toMatch(/^[0-9a-f]{64}$/);
    }
    const report = JSON.parse(run.stdout) as Report;
    expect(report.status_codes).toEqual({ "200": 10 });
    expect(report.cas.integrity_failures).toBe(0);
  });
});

test("a server that closes the connection during an upload is named as such, without Bun's verbose hint", async () => {
  const closing = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket) {
        socket.terminate(); // reads the start of the PUT, then drops the connection
      },
    },
  });
  try {
    const url = `http://127.0.0.1:${closing.port}`;
    const run = await runClient(["--server", url, "--duration", "1s", "--size", "200000", ...quiet]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`^client: the server at ${url} closed the connection during the upload of [0-9a-f]{64}\\n$`),
    );
    expect(run.stderr).not.toContain("verbose");
    expect(run.stdout).toBe("");
  } finally {
    closing.stop(true);
  }
});
