import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseTargetFormat, parseTargets, TargetFileError } from "../../lib/client/target-file.ts";
import { namedTargets } from "../../lib/client/url-targets.ts";

const dir = mkdtempSync(join(tmpdir(), "cas-target-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const text = (body: Uint8Array | undefined) => (body === undefined ? undefined : new TextDecoder().decode(body));

describe("parseTargets() in the http format", () => {
  test("reads request lines, headers, @body files, comments and blank-line separators as vegeta does", () => {
    const bodyFile = join(dir, "body.json");
    writeFileSync(bodyFile, '{"a":1}');
    const file = [
      "# a comment before the first target",
      "GET http://127.0.0.1:8080/a",
      "X-One: 1",
      "# a comment between headers",
      "Accept: text/plain",
      "Accept: text/html",
      "",
      "",
      "POST http://127.0.0.1:8080/b?q=1",
      "Content-Type: application/json",
      `@${bodyFile}`,
      "",
      "HEAD http://127.0.0.1:8080/c",
      "DELETE http://127.0.0.1:8080/d", // a new request line starts a new target even without a blank line
      "",
    ].join("\n");
    const targets = parseTargets(file, "http");
    expect(targets.map((t) => [t.method, t.url, t.line])).toEqual([
      ["GET", "http://127.0.0.1:8080/a", 2],
      ["POST", "http://127.0.0.1:8080/b?q=1", 9],
      ["HEAD", "http://127.0.0.1:8080/c", 13],
      ["DELETE", "http://127.0.0.1:8080/d", 14],
    ]);
    expect(targets[0]!.headers).toEqual([
      ["X-One", "1"],
      ["Accept", "text/plain"],
      ["Accept", "text/html"],
    ]);
    expect(text(targets[0]!.body)).toBeUndefined();
    expect(text(targets[1]!.body)).toBe('{"a":1}');
    expect(targets[1]!.headers).toEqual([["Content-Type", "application/json"]]);
    expect(targets[2]!.headers).toEqual([]);
  });

  test("takes CRLF line ends and surrounding spaces", () => {
    const targets = parseTargets("  GET   http://h/x  \r\n  A: b  \r\n", "http");
    expect(targets).toEqual([{ method: "GET", url: "http://h/x", headers: [["A", "b"]], line: 1 }]);
  });

  test("every bad input is an error naming the source and the line", () => {
    const bad: [string, string][] = [
      ["get http://h/", 'stdin line 1: expected a request line such as "GET http://host/path", got "get http://h/"'],
      ["GET", 'stdin line 1: expected a URL after the method in "GET"'],
      ["GET /relative", 'stdin line 1: bad URL "/relative": expected an absolute URL'],
      ["GET ftp://h/", 'stdin line 1: bad URL "ftp://h/": expected an http or https URL'],
      ["GET http://h/\nno colon here", "stdin line 2: expected a header such as"],
      ["GET http://h/\nX-Empty:", 'got "X-Empty:"'],
      ["GET http://h/\nbad name: v", "stdin line 2: expected a header"],
      ["# only\n\n", "stdin line 3: no targets (expected the http format"],
      ["", "stdin line 1: no targets"],
      ["GET http://h/\n@", 'stdin line 2: expected a body file after "@"'],
      [`GET http://h/\n@${join(dir, "missing")}`, `stdin line 2: cannot read the body file ${join(dir, "missing")}:`],
      [`GET http://h/\n@${join(dir, "body.json")}\nX-After: 1`, "stdin line 3: expected a blank line or a new request"],
    ];
    writeFileSync(join(dir, "body.json"), "x");
    for (const [input, message] of bad) {
      expect(() => parseTargets(input, "http", { source: "stdin" })).toThrow(TargetFileError);
      expect(() => parseTargets(input, "http", { source: "stdin" })).toThrow(message);
    }
    try {
      parseTargets("GET http://h/\n\nnope", "http");
    } catch (err) {
      expect((err as TargetFileError).line).toBe(3);
    }
  });
});

describe("parseTargets() in the json format", () => {
  test("reads one object per line with a base64 body and header lists, skipping blank lines", () => {
    const file = [
      '{"method":"GET","url":"http://127.0.0.1:8080/a","header":{"Accept":["text/plain","text/html"]}}',
      "",
      `{"method":"POST","url":"http://127.0.0.1:8080/b","body":"${Buffer.from("hello").toString("base64")}"}`,
      '{"url":"http://127.0.0.1:8080/c","method":"HEAD","body":null,"header":null}',
    ].join("\n");
    const targets = parseTargets(file, "json");
    expect(targets.map((t) => [t.method, t.url, t.line, text(t.body)])).toEqual([
      ["GET", "http://127.0.0.1:8080/a", 1, undefined],
      ["POST", "http://127.0.0.1:8080/b", 3, "hello"],
      ["HEAD", "http://127.0.0.1:8080/c", 4, undefined],
    ]);
    expect(targets[0]!.headers).toEqual([
      ["Accept", "text/plain"],
      ["Accept", "text/html"],
    ]);
  });

  test("every bad input is an error naming the source and the line", () => {
    const ok = '{"method":"GET","url":"http://h/"}';
    const bad: [string, string][] = [
      [`${ok}\n{"method":`, "t.json line 2: not JSON: "],
      ["[1,2]", "t.json line 1: expected one object per line"],
      ['"GET http://h/"', "t.json line 1: expected one object per line"],
      ['{"url":"http://h/"}', "t.json line 1: required method is missing"],
      ['{"method":"GET"}', "t.json line 1: required url is missing"],
      ['{"method":"GET","url":""}', "required url is missing"],
      ['{"method":"G ET","url":"http://h/"}', 'bad method "G ET"'],
      ['{"method":"GET","url":"nope"}', 'bad URL "nope"'],
      [
        '{"method":"GET","url":"http://h/","headers":{}}',
        'unknown field "headers" (allowed: method, url, body, header)',
      ],
      ['{"method":"GET","url":"http://h/","body":"not base64!"}', "body must be a base64 string"],
      ['{"method":"GET","url":"http://h/","body":42}', "body must be a base64 string"],
      ['{"method":"GET","url":"http://h/","header":["A"]}', "header must be an object of string lists"],
      ['{"method":"GET","url":"http://h/","header":{"A":"v"}}', 'header "A" must be a list of strings'],
      ['{"method":"GET","url":"http://h/","header":{"A":[1]}}', 'header "A" must be a list of strings'],
      ['{"method":"GET","url":"http://h/","header":{"A B":["v"]}}', 'bad header name "A B"'],
      ["\n\n", "t.json line 3: no targets (expected the json format"],
    ];
    for (const [input, message] of bad) {
      expect(() => parseTargets(input, "json", { source: "t.json" })).toThrow(TargetFileError);
      expect(() => parseTargets(input, "json", { source: "t.json" })).toThrow(message);
    }
  });
});

test("parseTargetFormat() takes http or json", () => {
  expect(parseTargetFormat("http")).toBe("http");
  expect(parseTargetFormat(" json ")).toBe("json");
  expect(() => parseTargetFormat("csv")).toThrow('expected "http" or "json"');
});

test("namedTargets() names each METHOD URL, adds the global headers and body, and verifies CAS GETs", () => {
  const key = "a".repeat(64);
  const targets = namedTargets(
    [
      { method: "GET", url: `http://h/cas/${key}`, headers: [["Accept", "x"]] },
      { method: "post", url: "http://h/p", headers: [], body: new Uint8Array([1]) },
      { method: "PUT", url: "http://h/q", headers: [["X-Global", "mine"]] },
    ],
    { headers: { "X-Global": "g" }, body: new Uint8Array([9]) },
  );
  expect(targets.map((t) => t.name)).toEqual([`GET http://h/cas/${key}`, "POST http://h/p", "PUT http://h/q"]);
  expect(targets[0]!.headers).toEqual({ "X-Global": "g", Accept: "x" });
  expect(targets[2]!.headers).toEqual({ "X-Global": "g, mine" });
  expect([...targets[0]!.body!]).toEqual([9]); // the global body for a target without its own
  expect([...targets[1]!.body!]).toEqual([1]);
  expect(targets[0]!.verify!(new Uint8Array([0]))).toBe(false);
  expect(targets[1]!.verify).toBeUndefined();
});
