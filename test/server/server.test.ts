/**
 * server.ts as a real process: the read side of the API table, the other routes, errors, metrics and
 * the command line. Uploads are in server-put.test.ts, restarts and signals in server-lifecycle.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { digestHex } from "../../lib/common/key.ts";
import { PROJECT_ROOT } from "../../lib/common/program-process.ts";
import { rawRequest, statusOf } from "../support/raw-http.ts";
import { runCommand } from "../support/run-command.ts";
import { startServer, type ServerProcess } from "../support/server-process.ts";

let server: ServerProcess;
const blob = new TextEncoder().encode("0123456789abcdefghij".repeat(1250)); // 25,000 bytes
const hash = digestHex("sha256", blob);
const sha1 = digestHex("sha1", blob);
const missing = "0".repeat(64);

beforeAll(async () => {
  server = await startServer();
  for (const key of [hash, sha1]) {
    const res = await fetch(`${server.url}/cas/${key}`, { method: "PUT", body: blob });
    expect(res.status).toBe(201);
  }
});
afterAll(async () => {
  await server.dispose();
});

async function json(res: Response): Promise<unknown> {
  expect(res.headers.get("content-type")).toStartWith("application/json");
  return await res.json();
}

describe("GET /cas/<hash>", () => {
  test("GET answers 200 with the bytes, Content-Length, ETag, immutable caching and octet-stream", async () => {
    for (let i = 0; i < 2; i++) {
      // The second GET is served from the read cache; both must look the same.
      const res = await fetch(`${server.url}/cas/${hash}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-length")).toBe("25000");
      expect(res.headers.get("etag")).toBe(`"${hash}"`);
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(res.headers.get("content-type")).toBe("application/octet-stream");
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(blob);
    }
  });

  test("GET takes SHA-1 keys and upper-case hex", async () => {
    const res = await fetch(`${server.url}/cas/${sha1.toUpperCase()}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(`"${sha1}"`);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(blob);
  });

  test("GET of a missing blob answers 404 not_found", async () => {
    const res = await fetch(`${server.url}/cas/${missing}`);
    expect(res.status).toBe(404);
    expect(await json(res)).toMatchObject({ error: "not_found" });
  });

  test("GET with a key that is not 40 or 64 hex digits answers 400 invalid_key", async () => {
    for (const key of ["abc", "g".repeat(64), hash + "0", hash.slice(1), "", sha1 + "00"]) {
      const res = await fetch(`${server.url}/cas/${key}`);
      expect(res.status).toBe(400);
      expect(await json(res)).toMatchObject({ error: "invalid_key" });
    }
  });

  test("GET with a matching If-None-Match answers 304 without a body", async () => {
    for (const tag of [`"${hash}"`, `W/"${hash}"`, `"other", "${hash}"`, "*"]) {
      const res = await fetch(`${server.url}/cas/${hash}`, { headers: { "if-none-match": tag } });
      expect(res.status).toBe(304);
      expect(res.headers.get("etag")).toBe(`"${hash}"`);
      expect(await res.text()).toBe("");
    }
    const other = await fetch(`${server.url}/cas/${hash}`, { headers: { "if-none-match": '"other"' } });
    expect(other.status).toBe(200);
    await other.arrayBuffer();
  });

  test("GET with a single Range answers 206 with Content-Range", async () => {
    const cases: [string, number, number][] = [
      ["bytes=0-99", 0, 100],
      ["bytes=24990-", 24990, 25000],
      ["bytes=-10", 24990, 25000],
      ["bytes=100-99999", 100, 25000],
    ];
    for (const [range, start, end] of cases) {
      const res = await fetch(`${server.url}/cas/${hash}`, { headers: { range } });
      expect(res.status).toBe(206);
      expect(res.headers.get("content-range")).toBe(`bytes ${start}-${end - 1}/25000`);
      expect(res.headers.get("content-length")).toBe(String(end - start));
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(blob.subarray(start, end));
    }
  });

  test("GET with an unsatisfiable Range answers 416 with Content-Range bytes */size", async () => {
    const res = await fetch(`${server.url}/cas/${hash}`, { headers: { range: "bytes=25000-" } });
    expect(res.status).toBe(416);
    expect(res.headers.get("content-range")).toBe("bytes */25000");
    expect(await json(res)).toMatchObject({ error: "range_not_satisfiable" });
  });

  test("GET with several ranges or a foreign If-Range answers the whole blob with 200", async () => {
    const cases: Record<string, string>[] = [{ range: "bytes=0-1,5-6" }, { range: "bytes=0-1", "if-range": '"other"' }];
    for (const headers of cases) {
      const res = await fetch(`${server.url}/cas/${hash}`, { headers });
      expect(res.status).toBe(200);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(blob);
    }
  });
});

describe("HEAD /cas/<hash>", () => {
  test("HEAD answers the GET headers with no body, and 404 for a missing blob", async () => {
    const res = await fetch(`${server.url}/cas/${sha1}`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe("25000");
    expect(res.headers.get("etag")).toBe(`"${sha1}"`);
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(await res.text()).toBe("");
    expect((await fetch(`${server.url}/cas/${missing}`, { method: "HEAD" })).status).toBe(404);
  });

  test("HEAD sends no body bytes on the wire", async () => {
    const raw = await rawRequest(server.port, `HEAD /cas/${hash} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
    expect(statusOf(raw)).toBe(200);
    expect(raw.endsWith("\r\n\r\n")).toBe(true);
  });
});

describe("other routes", () => {
  test("GET /healthz and /readyz answer 200 JSON", async () => {
    for (const path of ["/healthz", "/readyz"]) {
      const res = await fetch(server.url + path);
      expect(res.status).toBe(200);
      expect(await json(res)).toHaveProperty("status");
    }
  });

  test("GET /metrics has the store metrics and route patterns, never raw paths", async () => {
    await fetch(`${server.url}/cas/${missing}`);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain('cas_store_blobs{kind="cas"} 2\n');
    expect(text).toContain('cas_store_bytes{kind="cas"} 50000\n');
    expect(text).toContain('cas_store_written_bytes_total{kind="cas"} 50000\n');
    expect(text).toContain("cas_store_digest_mismatches_total ");
    expect(text).toContain('cas_http_requests_total{method="PUT",route="/cas/:hash",status="201"} 2');
    expect(text).toContain('cas_http_requests_total{method="GET",route="/cas/:hash",status="404"}');
    expect(text).toContain('cas_http_request_duration_seconds_bucket{le="0.001",method="GET",route="/cas/:hash"}');
    expect(text).toContain("process_resident_memory_bytes");
    expect(text).not.toContain(missing);
  });

  test("other methods on known paths answer 405 with Allow", async () => {
    const cases: [string, string, string][] = [
      ["DELETE", `/cas/${hash}`, "GET, HEAD, PUT"],
      ["POST", `/cas/${hash}`, "GET, HEAD, PUT"],
      ["GET", "/cas", "POST"],
      ["PUT", "/cas", "POST"],
      ["POST", "/healthz", "GET, HEAD"],
      ["DELETE", "/readyz", "GET, HEAD"],
      ["PUT", "/metrics", "GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      const res = await fetch(server.url + path, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe(allow);
      expect(await json(res)).toMatchObject({ error: "method_not_allowed" });
    }
  });

  test("an unknown path answers 404 JSON", async () => {
    for (const path of ["/", "/nope", "/cas2/x", "/healthz/extra"]) {
      const res = await fetch(server.url + path);
      expect(res.status).toBe(404);
      expect(await json(res)).toMatchObject({ error: "not_found" });
    }
  });

  test("no access lines are logged without --access-log", () => {
    expect(server.logs.some((line) => line.includes('"msg":"request"'))).toBe(false);
  });
});

describe("command line", () => {
  function run(args: string[]) {
    return runCommand([process.execPath, resolve(PROJECT_ROOT, "server.ts"), ...args], { cwd: PROJECT_ROOT });
  }

  test("--help lists every flag with its env var and exits 0", async () => {
    const { code, stdout } = await run(["--help"]);
    expect(code).toBe(0);
    for (const flag of [
      "--port PORT",
      "--host HOST",
      "--data-dir DIR",
      "--max-blob-bytes",
      "--max-ac-bytes",
      "--max-bytes",
      "--write-token",
      "--read-cache-bytes",
      "--read-cache-item-bytes",
      "--access-log",
      "--log-level",
    ]) {
      expect(stdout).toContain(flag);
    }
    for (const env of [
      "CAS_SERVER_PORT",
      "LISTEN_HOST",
      "CAS_DATA_DIR",
      "CAS_WRITE_TOKEN",
      "CAS_MAX_BYTES",
      "CAS_MAX_AC_BYTES",
      "LOG_LEVEL",
    ]) {
      expect(stdout).toContain(env);
    }
  });

  test("an unknown flag or a bad value prints one line and exits 2", async () => {
    for (const args of [["--bogus"], ["--port", "http"], ["--max-bytes", "lots"]]) {
      const { code, stderr } = await run(args);
      expect(code).toBe(2);
      expect(stderr.trim().split("\n").length).toBe(1);
      expect(stderr).toStartWith("server: ");
    }
  });

  test("a stray argument is refused: one line naming it, exit 2", async () => {
    const { code, stderr } = await run(["--port", "0", "data"]);
    expect(code).toBe(2);
    expect(stderr).toBe('server: unexpected argument "data" (see --help)\n');
  });
});
