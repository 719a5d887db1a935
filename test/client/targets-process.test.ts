import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runClient } from "../support/client-run.ts";

// any: the report is checked field by field against its documented shape
type Report = Record<string, any>;

interface Seen {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

describe("--targets against a test target, as a real client process", () => {
  const seen: Seen[] = [];
  let target: ReturnType<typeof Bun.serve>;
  let base: string;
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "cas-targets-"));
    target = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const path = new URL(req.url).pathname;
        seen.push({ method: req.method, path, headers: Object.fromEntries(req.headers), body: await req.text() });
        return new Response(path === "/missing" ? "no" : "ok", { status: path === "/missing" ? 404 : 200 });
      },
    });
    base = `http://127.0.0.1:${target.port}`;
  });

  afterAll(() => {
    void target.stop(true);
    rmSync(dir, { recursive: true, force: true });
  });

  const attack = ["--rate", "40", "--duration", "1s", "--log-level", "error"];

  function checkRun(run: { code: number; stdout: string; stderr: string }): Report {
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.requests).toBe(40);
    return report;
  }

  test("the http format from a file: methods, headers, @body, round-robin, named METHOD URL", async () => {
    seen.length = 0;
    const body = join(dir, "body.json");
    writeFileSync(body, '{"n":1}');
    const file = join(dir, "targets.txt");
    writeFileSync(
      file,
      [
        "# two targets",
        `GET ${base}/a`,
        "X-Test: one",
        "",
        `POST ${base}/b`,
        "Content-Type: application/json",
        `@${body}`,
        "",
      ].join("\n"),
    );
    const report = checkRun(await runClient(["--targets", file, "--header", "X-All: yes", ...attack]));
    expect(seen.length).toBe(40);
    const gets = seen.filter((s) => s.path === "/a");
    const posts = seen.filter((s) => s.path === "/b");
    expect([gets.length, posts.length]).toEqual([20, 20]);
    expect(gets.every((s) => s.method === "GET" && s.headers["x-test"] === "one" && s.body === "")).toBe(true);
    expect(posts.every((s) => s.method === "POST" && s.body === '{"n":1}')).toBe(true);
    expect(posts[0]!.headers["content-type"]).toBe("application/json");
    expect(seen.every((s) => s.headers["x-all"] === "yes")).toBe(true);
    expect(Object.keys(report.cas.by_target)).toEqual([`GET ${base}/a`, `POST ${base}/b`]);
    expect(report.cas.by_target[`POST ${base}/b`].bytes_out).toEqual({ total: 20 * 7, mean: 7 });
  });

  test("the json format from stdin", async () => {
    seen.length = 0;
    const lines = [
      JSON.stringify({ method: "PUT", url: `${base}/p`, body: Buffer.from("hi").toString("base64") }),
      "",
      JSON.stringify({ method: "GET", url: `${base}/missing`, header: { Accept: ["text/plain", "text/html"] } }),
    ].join("\n");
    const run = await runClient(["--targets", "-", "--format", "json", ...attack], { input: lines });
    const report = checkRun(run);
    expect(seen.filter((s) => s.method === "PUT" && s.body === "hi").length).toBe(20);
    const missing = seen.filter((s) => s.path === "/missing");
    expect(missing.length).toBe(20);
    expect(missing[0]!.headers.accept).toBe("text/plain, text/html");
    expect(report.status_codes).toEqual({ "200": 20, "404": 20 });
    expect(report.cas.by_target[`GET ${base}/missing`].errors).toEqual([{ error: "404 Not Found", count: 20 }]);
  });

  test("every bad targets input stops the client before it sends anything: one line with the line number, exit 2", async () => {
    seen.length = 0;
    writeFileSync(join(dir, "b"), "x");
    const http: [string, string][] = [
      ["get http://h/", 'stdin line 1: expected a request line such as "GET http://host/path", got "get http://h/"'],
      ["GET", 'stdin line 1: expected a URL after the method in "GET"'],
      ["GET /relative", 'stdin line 1: bad URL "/relative": expected an absolute URL'],
      ["GET ftp://h/", 'stdin line 1: bad URL "ftp://h/": expected an http or https URL'],
      ["GET http://h/\nno colon here", 'stdin line 2: expected a header such as "Accept: text/plain"'],
      ["GET http://h/\nX-Empty:", 'stdin line 2: expected a header such as "Accept: text/plain"'],
      ["GET http://h/\n@", 'stdin line 2: expected a body file after "@"'],
      [`GET http://h/\n@${join(dir, "nope")}`, `stdin line 2: cannot read the body file ${join(dir, "nope")}`],
      [`GET http://h/\n@${join(dir, "b")}\nX-A: 1`, "stdin line 3: expected a blank line or a new request line"],
      ["# nothing\n", "stdin line 2: no targets (expected the http format"],
    ];
    const json: [string, string][] = [
      ['{"method":', "stdin line 1: not JSON"],
      ["[1]", "stdin line 1: expected one object per line"],
      ['{"url":"http://h/"}', "stdin line 1: required method is missing"],
      ['{"method":"GET"}', "stdin line 1: required url is missing"],
      ['{"method":"G T","url":"http://h/"}', 'stdin line 1: bad method "G T"'],
      ['{"method":"GET","url":"nope"}', 'stdin line 1: bad URL "nope"'],
      ['{"method":"GET","url":"http://h/","headers":{}}', 'stdin line 1: unknown field "headers"'],
      ['{"method":"GET","url":"http://h/","body":"!!"}', "stdin line 1: body must be a base64 string"],
      ['{"method":"GET","url":"http://h/","header":[]}', "stdin line 1: header must be an object of string lists"],
      ['{"method":"GET","url":"http://h/","header":{"A":"v"}}', 'stdin line 1: header "A" must be a list of strings'],
      ['{"method":"GET","url":"http://h/","header":{"A B":["v"]}}', 'stdin line 1: bad header name "A B"'],
      ["\n", "stdin line 2: no targets (expected the json format"],
    ];
    const cases = [
      ...http.map(([input, message]) => ({ input, message, format: "http" })),
      ...json.map(([input, message]) => ({ input, message, format: "json" })),
    ];
    // four at a time: each is a process of its own
    for (let i = 0; i < cases.length; i += 4) {
      const runs = await Promise.all(
        cases
          .slice(i, i + 4)
          .map((c) => runClient(["--targets", "-", "--format", c.format, ...attack], { input: c.input })),
      );
      runs.forEach((run, k) => {
        const { message } = cases[i + k]!;
        expect(run.code).toBe(2);
        expect(run.stdout).toBe("");
        expect(run.stderr.trimEnd().split("\n").length).toBe(1);
        expect(run.stderr).toStartWith(`client: ${message}`);
      });
    }
    const missing = await runClient(["--targets", join(dir, "absent.txt"), ...attack]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toStartWith(`client: cannot read --targets ${join(dir, "absent.txt")}: `);
    const both = await runClient(["--targets", "-", "--url", `${base}/a`, ...attack], { input: "" });
    expect([both.code, both.stderr]).toEqual([
      2,
      "client: --url and --targets both name what to attack: give one of them\n",
    ]);
    expect(seen.length).toBe(0);
  }, 60_000);
});
