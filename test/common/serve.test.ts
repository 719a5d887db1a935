/**
 * serve() against real Bun servers on 127.0.0.1: the JSON error hook, the one "listening" line and its
 * parser, the options it passes on, and, in a child process, the drain on SIGTERM and the exit on a second signal.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { HttpError } from "../../lib/common/http-error.ts";
import { createLogger, type Logger } from "../../lib/common/log.ts";
import { startProgram, type ProgramProcess } from "../../lib/common/program-process.ts";
import { listenUrl, parseListening, serve } from "../../lib/common/serve.ts";
import { rawConnect, statusOf, type RawConnection } from "../support/raw-http.ts";
import { eventually } from "../support/server-process.ts";

const servers: Server<undefined>[] = [];
const children: ProgramProcess[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop(true);
  for (const child of children.splice(0)) await child.stop("SIGKILL");
});

/** A logger that keeps its records (each line is one JSON object, hence the record type). */
function recording(): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const logger = createLogger({ write: (line) => void records.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, records };
}

describe("serve()", () => {
  test("serve() answers what a handler throws with JSON, never the error's text, and logs it once", async () => {
    const { logger, records } = recording();
    const server = serve({
      name: "t",
      host: "127.0.0.1",
      port: 0,
      logger,
      fetch(req) {
        if (new URL(req.url).pathname === "/teapot") throw new HttpError(418, "teapot", "short and stout");
        throw new Error("secret detail");
      },
    });
    servers.push(server);
    const res = await fetch(`http://127.0.0.1:${server.port}/boom`);
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ error: "internal", message: "internal server error" });
    const teapot = await fetch(`http://127.0.0.1:${server.port}/teapot`);
    expect(teapot.status).toBe(418);
    expect(await teapot.json()).toEqual({ error: "teapot", message: "short and stout" });
    const logged = records.filter((r) => r.msg === "unhandled error");
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ level: "error", name: "t", err: { name: "Error", message: "secret detail" } });
  });

  test("serve() logs one listening line: name, url, bound port and the program's fields from onListen", () => {
    const { logger, records } = recording();
    let seenPort: number | undefined;
    const server = serve({
      name: "t",
      host: "127.0.0.1",
      port: 0,
      logger,
      fetch: () => new Response("ok"),
      onListen(port) {
        seenPort = port;
        return { blobs: 3 };
      },
    });
    servers.push(server);
    expect(server.port).toBeGreaterThan(0);
    expect(seenPort).toBe(server.port);
    const listening = records.filter((r) => r.msg === "listening");
    expect(listening).toEqual([
      expect.objectContaining({ name: "t", url: `http://127.0.0.1:${server.port}`, port: server.port, blobs: 3 }),
    ]);
    expect(parseListening(JSON.stringify(listening[0]))).toEqual({
      url: `http://127.0.0.1:${server.port}`,
      port: server.port!,
    });
  });

  test("serve() passes routes and maxRequestBodySize on to Bun, and installs no signal handler unless asked", async () => {
    const before = process.listenerCount("SIGTERM");
    const server = serve({
      name: "t",
      host: "127.0.0.1",
      port: 0,
      logger: recording().logger,
      routes: { "/r/:id": (req) => new Response(req.params.id) },
      fetch: async (req) => new Response(String((await req.arrayBuffer()).byteLength)),
      maxRequestBodySize: 10,
    });
    servers.push(server);
    expect(await (await fetch(`http://127.0.0.1:${server.port}/r/abc`)).text()).toBe("abc");
    expect(await (await fetch(`http://127.0.0.1:${server.port}/x`, { method: "POST", body: "12345" })).text()).toBe(
      "5",
    );
    const tooBig = await fetch(`http://127.0.0.1:${server.port}/x`, { method: "POST", body: "x".repeat(100) });
    expect(tooBig.status).toBe(413);
    expect(process.listenerCount("SIGTERM")).toBe(before);
  });

  test("listenUrl() shows a wildcard address as localhost and brackets IPv6", () => {
    expect(listenUrl("0.0.0.0", 5000)).toBe("http://localhost:5000");
    expect(listenUrl("::", 1)).toBe("http://localhost:1");
    expect(listenUrl("::1", 2)).toBe("http://[::1]:2");
    expect(listenUrl("127.0.0.1", 3)).toBe("http://127.0.0.1:3");
    expect(listenUrl("cache-a", 18001)).toBe("http://cache-a:18001");
  });

  test("parseListening() takes only a listening line with a string url and a numeric port", () => {
    expect(parseListening('{"msg":"listening","url":"http://h:1","port":1,"name":"x"}')).toEqual({
      url: "http://h:1",
      port: 1,
    });
    for (const line of [
      "listening on 1",
      "null",
      '{"msg":"stopping","url":"http://h:1","port":1}',
      '{"msg":"listening","url":"http://h:1","port":"1"}',
      '{"msg":"listening","port":1}',
    ]) {
      expect([line, parseListening(line)]).toEqual([line, undefined]);
    }
  });
});

describe("serve() in a child process", () => {
  const logged = (child: ProgramProcess, msg: string) => () => child.logs.some((l) => l.includes(`"msg":"${msg}"`));

  /** Starts the fixture, sends half of a 10-byte upload and then SIGTERM; resolves once it logged "stopping". */
  async function drainingWithUploadInFlight(): Promise<{ child: ProgramProcess; conn: RawConnection }> {
    const child = await startProgram("test/fixtures/serve-program.ts", []);
    children.push(child);
    const conn = await rawConnect(child.port);
    conn.write("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\nConnection: close\r\n\r\n12345");
    await conn.flushed();
    expect(await eventually(logged(child, "request started"))).toBe(true);
    child.proc.kill("SIGTERM");
    expect(await eventually(logged(child, "stopping"))).toBe(true);
    return { child, conn };
  }

  test("SIGTERM lets an in-flight request finish, cleans up, logs stopped and exits 0", async () => {
    const { child, conn } = await drainingWithUploadInFlight();
    expect(child.proc.exitCode).toBeNull(); // the upload still holds it open
    conn.write("67890");
    const raw = await conn.received();
    expect(statusOf(raw)).toBe(200);
    expect(raw).toContain('{"bytes":10}');
    expect(await child.proc.exited).toBe(0);
    // Every stderr line of the fixture is one of its JSON log records, each with a msg.
    const order = child.logs.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(order.slice(order.indexOf("stopping"))).toEqual(["stopping", "cleaned up", "stopped"]);
  });

  test("a second signal while draining exits at once with 130", async () => {
    const { child, conn } = await drainingWithUploadInFlight();
    child.proc.kill("SIGINT");
    expect(await child.proc.exited).toBe(130);
    expect(child.logs.some((l) => l.includes('"msg":"stopped"'))).toBe(false);
    conn.close();
  });
});
