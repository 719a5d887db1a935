/** logRequest() and pathOf(): the one access-log shape of the origin and the cache, and the path it logs. */
import { expect, test } from "bun:test";
import { logRequest } from "../../lib/common/access-log.ts";
import { createLogger } from "../../lib/common/log.ts";
import { pathOf } from "../../lib/common/request-path.ts";

test("logRequest() writes {msg, method, path, status, ms} plus the program's fields", () => {
  const lines: string[] = [];
  const logger = createLogger({ write: (line) => void lines.push(line), base: { program: "cache" } });
  const req = new Request("http://127.0.0.1:1/cas/abc?x=1", { method: "HEAD" });
  logRequest(logger, { req, status: 200, ms: 1.23456789, fields: { cache: "HIT" } });
  logRequest(logger, { req, status: 404, ms: 2 });
  // Each line is one JSON object written by the logger.
  const [hit, miss] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const { ts, ...rest } = hit!;
  expect(typeof ts).toBe("string");
  expect(rest).toEqual({
    level: "info",
    program: "cache",
    msg: "request",
    method: "HEAD",
    path: "/cas/abc",
    status: 200,
    ms: 1.235,
    cache: "HIT",
  });
  expect(miss).not.toHaveProperty("cache");
  expect(miss).toMatchObject({ path: "/cas/abc", status: 404, ms: 2 });
});

test("pathOf() keeps the raw path without the query and without decoding", () => {
  expect(pathOf("http://h:1/cas/ab?x=1")).toBe("/cas/ab");
  expect(pathOf("http://h:1/cas/a%2Fb")).toBe("/cas/a%2Fb");
  expect(pathOf("http://h:1")).toBe("/");
  expect(pathOf("http://h:1/")).toBe("/");
  expect(pathOf("http://[::1]:1/metrics")).toBe("/metrics");
});
