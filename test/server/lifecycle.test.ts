/**
 * server.ts as a real process across its life: temp leftovers cleaned at start, blobs kept across a restart,
 * SIGTERM finishing an in-flight upload before exiting 0, and the --access-log switch.
 */
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestHex } from "../../lib/common/key.ts";
import { rawConnect, statusOf } from "../support/raw-http.ts";
import { eventually, startServer, type ServerProcess } from "../support/server-process.ts";

const started: ServerProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const server of started.splice(0)) await server.dispose();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "cas-server-life-"));
  dirs.push(dir);
  return join(dir, "data");
}

async function start(args: string[], dataDir: string): Promise<ServerProcess> {
  const server = await startServer(args, { dataDir });
  started.push(server);
  return server;
}

test("start removes temp leftovers of a crashed run", async () => {
  const dataDir = tempDataDir();
  mkdirSync(join(dataDir, "tmp"), { recursive: true });
  writeFileSync(join(dataDir, "tmp", "0b5e3c44-half-written"), "partial");
  await start([], dataDir);
  expect(readdirSync(join(dataDir, "tmp"))).toEqual([]);
});

test("a restart keeps every blob, and SIGTERM on an idle server exits 0", async () => {
  const dataDir = tempDataDir();
  const first = await start([], dataDir);
  const blobs: Uint8Array<ArrayBuffer>[] = [
    new Uint8Array(0),
    new TextEncoder().encode("one"),
    crypto.getRandomValues(new Uint8Array(50_000)),
  ];
  const keys: [string, Uint8Array<ArrayBuffer>][] = [];
  for (const blob of blobs) {
    for (const algorithm of ["sha1", "sha256"] as const) {
      const hash = digestHex(algorithm, blob);
      expect((await fetch(`${first.url}/cas/${hash}`, { method: "PUT", body: blob })).status).toBe(201);
      keys.push([hash, blob]);
    }
  }
  expect(await first.stop("SIGTERM")).toBe(0);

  const second = await start([], dataDir);
  for (const [hash, blob] of keys) {
    const res = await fetch(`${second.url}/cas/${hash}`);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(blob);
  }
  const metrics = await (await fetch(`${second.url}/metrics`)).text();
  expect(metrics).toContain(`cas_store_blobs{kind="cas"} ${keys.length}\n`);
  expect(metrics).toContain(`cas_store_bytes{kind="cas"} ${2 * (3 + 50_000)}\n`);
  expect(
    second.logs.some((line) => line.includes('"msg":"listening"') && line.includes(`"blobs":${keys.length}`)),
  ).toBe(true);
});

test("SIGTERM lets an in-flight upload finish, then exits 0", async () => {
  const dataDir = tempDataDir();
  const server = await start([], dataDir);
  const blob = crypto.getRandomValues(new Uint8Array(60_000));
  const hash = digestHex("sha256", blob);
  const conn = await rawConnect(server.port);
  conn.write(`PUT /cas/${hash} HTTP/1.1\r\nHost: t\r\nContent-Length: ${blob.length}\r\nConnection: close\r\n\r\n`);
  conn.write(blob.subarray(0, 30_000));
  await conn.flushed();
  expect(await eventually(() => readdirSync(join(dataDir, "tmp")).length > 0)).toBe(true);
  server.proc.kill("SIGTERM");
  expect(await eventually(() => server.logs.some((line) => line.includes('"msg":"stopping"')))).toBe(true);
  // Still running: the upload has not finished yet.
  await Bun.sleep(100);
  expect(server.proc.exitCode).toBeNull();
  conn.write(blob.subarray(30_000));
  const raw = await conn.received();
  expect(statusOf(raw)).toBe(201);
  expect(await server.proc.exited).toBe(0);
  expect(existsSync(join(dataDir, "sha256", hash.slice(0, 2), hash))).toBe(true);
});

test("--access-log writes one line per request", async () => {
  const server = await start(["--access-log"], tempDataDir());
  await fetch(`${server.url}/healthz`);
  await fetch(`${server.url}/cas/${"a".repeat(40)}`);
  expect(await eventually(() => server.logs.filter((line) => line.includes('"msg":"request"')).length === 2)).toBe(
    true,
  );
  const line = JSON.parse(server.logs.find((l) => l.includes(`"path":"/cas/`))!);
  expect(line).toMatchObject({ level: "info", program: "server", method: "GET", status: 404 });
  expect(typeof line.ms).toBe("number");
});
