import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestHex } from "../../lib/common/key.ts";
import {
  headersFrom,
  loadBody,
  parseHeader,
  parseTargetUrl,
  namedTargets,
  roundRobin,
} from "../../lib/client/url-targets.ts";

const dir = mkdtempSync(join(tmpdir(), "cas-url-targets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("parseHeader() splits at the first colon and trims", () => {
  expect(parseHeader("Authorization: Bearer a:b")).toEqual(["Authorization", "Bearer a:b"]);
  expect(parseHeader("X-Empty:")).toEqual(["X-Empty", ""]);
  for (const raw of ["no colon", ": value", "bad name: v"]) expect(() => parseHeader(raw)).toThrow(SyntaxError);
});

test("headersFrom() keeps the last value of a repeated name", () => {
  expect(
    headersFrom([
      ["A", "1"],
      ["B", "2"],
      ["A", "3"],
    ]),
  ).toEqual({ A: "3", B: "2" });
});

test("loadBody() reads @file, sends other text as UTF-8, and treats empty as no body", () => {
  const file = join(dir, "b.bin");
  writeFileSync(file, new Uint8Array([0, 1, 2, 255]));
  expect([...loadBody(`@${file}`)!]).toEqual([0, 1, 2, 255]);
  expect(new TextDecoder().decode(loadBody("héllo"))).toBe("héllo");
  expect(loadBody("")).toBeUndefined();
  expect(() => loadBody(`@${join(dir, "missing")}`)).toThrow(/^cannot read the body file /);
});

test("parseTargetUrl() wants an absolute http(s) URL", () => {
  expect(parseTargetUrl("http://127.0.0.1:8080/x")).toBe("http://127.0.0.1:8080/x");
  for (const raw of ["/relative", "ftp://x/", "nonsense"]) expect(() => parseTargetUrl(raw)).toThrow(SyntaxError);
});

/** `--url` targets as attack.ts builds them: one method for every URL, cycled round-robin. */
function urlTargets(urls: string[], options: Parameters<typeof namedTargets>[1] & { method?: string } = {}) {
  const method = options.method ?? "GET";
  return roundRobin(
    namedTargets(
      urls.map((url) => ({ method, url, headers: [] })),
      options,
    ),
  );
}

test("namedTargets() with roundRobin() cycles with the method, headers and body", () => {
  const body = new Uint8Array([1, 2, 3]);
  const next = urlTargets(["http://a/1", "http://a/2"], { method: "post", headers: { "X-A": "1" }, body });
  expect([next(0).url, next(1).url, next(2).url]).toEqual(["http://a/1", "http://a/2", "http://a/1"]);
  expect(next(0).method).toBe("POST");
  expect(next(1).headers).toEqual({ "X-A": "1" });
  expect(next(1).body).toBe(body);
  expect(next(0).verify).toBeUndefined();
});

test("namedTargets() verifies GETs of content keys", () => {
  const data = new TextEncoder().encode("blob");
  const hash = digestHex("sha256", data);
  const next = urlTargets([`http://c/cas/${hash}`, "http://c/other"]);
  expect(next(0).verify!(data)).toBe(true);
  expect(next(0).verify!(new TextEncoder().encode("Not Found"))).toBe(false);
  expect(next(1).verify).toBeUndefined();
  expect(urlTargets([`http://c/cas/${hash}`], { verify: false })(0).verify).toBeUndefined();
  expect(urlTargets([`http://c/cas/${hash}`], { method: "HEAD" })(0).verify).toBeUndefined();
});

test("namedTargets() verifies only keys that follow /cas/, not any hash-shaped last segment", () => {
  const sha1 = digestHex("sha1", new TextEncoder().encode("x"));
  const sha256 = digestHex("sha256", new TextEncoder().encode("x"));
  for (const url of [
    `http://git/repo/commit/${sha1}`,
    `http://git/blob/${sha256}`,
    `http://h/${sha256}`,
    `http://h/cascade/${sha256}`,
  ]) {
    expect(urlTargets([url])(0).verify).toBeUndefined();
  }
  for (const url of [`http://c/cas/${sha1}`, `http://c/_peer/cas/${sha256}`, `http://proxy/v1/cas/${sha256}?x=1`]) {
    expect(urlTargets([url])(0).verify).toBeInstanceOf(Function);
  }
});
