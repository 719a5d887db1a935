import { describe, expect, test } from "bun:test";
import { createLogger, silentLogger, type LogLevel } from "../../lib/common/log.ts";

function capture(level?: LogLevel, base?: Record<string, unknown>) {
  const lines: string[] = [];
  const logger = createLogger({ level, base, write: (line) => lines.push(line) });
  return { logger, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe("createLogger()", () => {
  test("createLogger() writes one JSON object per line with ts, level, base fields, msg and fields", () => {
    const { logger, lines, records } = capture("info", { program: "server" });
    logger.info("listening", { url: "http://127.0.0.1:5000", port: 5000 });
    expect(lines.length).toBe(1);
    expect(lines[0]!.endsWith("\n")).toBe(true);
    expect(lines[0]!.indexOf("\n")).toBe(lines[0]!.length - 1);
    const [record] = records();
    expect(record).toEqual({
      ts: expect.any(String),
      level: "info",
      program: "server",
      msg: "listening",
      url: "http://127.0.0.1:5000",
      port: 5000,
    });
    expect(new Date(record!.ts as string).toISOString()).toBe(record!.ts as string);
    expect(Object.keys(record!).slice(0, 4)).toEqual(["ts", "level", "program", "msg"]);
  });

  test("createLogger() drops lines below its level and enabled() says so", () => {
    const { logger, records } = capture("warn");
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    expect(records().map((r) => [r.level, r.msg])).toEqual([
      ["warn", "w"],
      ["error", "e"],
    ]);
    expect([logger.enabled("debug"), logger.enabled("info"), logger.enabled("warn"), logger.enabled("error")]).toEqual([
      false,
      false,
      true,
      true,
    ]);
  });

  test("createLogger() defaults to info", () => {
    const { logger, records } = capture();
    logger.debug("hidden");
    logger.info("shown");
    expect(records().map((r) => r.msg)).toEqual(["shown"]);
  });

  test("createLogger() reduces errors to name and message, never a stack, even when nested", () => {
    const { logger, lines, records } = capture();
    const err = new TypeError("bad input");
    logger.error("request failed", { err, nested: { inner: new Error("deep") } });
    expect(records()[0]).toMatchObject({
      err: { name: "TypeError", message: "bad input" },
      nested: { inner: { name: "Error", message: "deep" } },
    });
    expect(lines[0]).not.toContain("stack");
    expect(lines[0]).not.toContain(" at ");
  });

  test("createLogger() writes bigints as strings and escapes newlines inside values", () => {
    const { logger, lines, records } = capture();
    logger.info("big", { n: 2n ** 70n, text: "two\nlines" });
    expect(records()[0]).toMatchObject({ n: "1180591620717411303424", text: "two\nlines" });
    expect(lines[0]!.split("\n").length).toBe(2);
  });

  test("silentLogger writes nothing", () => {
    const writes: unknown[] = [];
    const original = process.stderr.write;
    process.stderr.write = ((chunk: unknown) => writes.push(chunk) > 0) as typeof process.stderr.write;
    try {
      silentLogger.error("nothing to see", { err: new Error("x") });
    } finally {
      process.stderr.write = original;
    }
    expect(writes).toEqual([]);
  });
});
