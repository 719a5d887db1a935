import { describe, expect, test } from "bun:test";
import {
  ConfigError,
  defineProgram,
  durationIn,
  flag,
  flagName,
  loadConfig,
  helpText,
  intIn,
  listOf,
  numberIn,
  oneOf,
  parseBaseUrl,
  parseBool,
  parseConfig,
  parsePort,
  parseString,
  repeatable,
} from "../../lib/common/config.ts";
import { COMMON_FLAGS } from "../../lib/common/shared-flags.ts";
import { parseBytes } from "../../lib/common/units.ts";

const INFO = { name: "demo", summary: "a demo program" };
const SPEC = {
  port: flag({ help: "Port", default: 5000, parse: parsePort, env: ["DEMO_PORT", "OLD_PORT"], metavar: "PORT" }),
  dataDir: flag({ help: "Data", default: "./data", parse: parseString, env: ["DEMO_DATA"] }),
  verify: flag({ help: "Verify", default: true, parse: parseBool, boolean: true, env: ["DEMO_VERIFY"] }),
  peer: repeatable({ help: "A peer", parse: parseString, env: ["DEMO_PEERS"] }),
  ...COMMON_FLAGS,
};

function parse(argv: string[], env: Record<string, string | undefined> = {}) {
  const result = parseConfig(INFO, SPEC, argv, env);
  if (result.help) throw new Error("unexpected help");
  return result;
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("parseConfig()", () => {
  test("parseConfig() takes defaults when nothing is given", () => {
    expect(parse([]).config).toEqual({ port: 5000, dataDir: "./data", verify: true, peer: [], logLevel: "info" });
  });

  test("parseConfig(): a flag beats its env var, which beats the default; the first env name found wins", () => {
    expect(parse([], { DEMO_PORT: "6000", OLD_PORT: "7000" }).config.port).toBe(6000);
    expect(parse([], { OLD_PORT: "7000" }).config.port).toBe(7000);
    expect(parse(["--port", "8000"], { DEMO_PORT: "6000" }).config.port).toBe(8000);
    // An empty env var counts as unset.
    expect(parse([], { DEMO_PORT: "", OLD_PORT: "7000" }).config.port).toBe(7000);
  });

  test("parseConfig() reads --name value, --name=value, camelCase keys as kebab-case, and the last of repeats", () => {
    expect(parse(["--data-dir", "/a", "--port=1", "--port", "2"]).config).toMatchObject({ dataDir: "/a", port: 2 });
    expect(parse(["--data-dir=x=y"]).config.dataDir).toBe("x=y");
  });

  test("parseConfig() reads switches: alone, =false, --no-, and from env", () => {
    expect(parse(["--verify"]).config.verify).toBe(true);
    expect(parse(["--verify=false"]).config.verify).toBe(false);
    expect(parse(["--no-verify"]).config.verify).toBe(false);
    expect(parse([], { DEMO_VERIFY: "off" }).config.verify).toBe(false);
    // A switch does not swallow the next word.
    expect(parse(["--verify", "file.txt"]).positionals).toEqual(["file.txt"]);
  });

  test("parseConfig() collects repeatable flags in order; their env var is comma separated", () => {
    expect(parse(["--peer", "a", "--peer=b"]).config.peer).toEqual(["a", "b"]);
    expect(parse([], { DEMO_PEERS: "a, b ,c" }).config.peer).toEqual(["a", "b", "c"]);
  });

  test("parseConfig() splits a repeatable flag's env var on its envSeparator, so values may hold commas", () => {
    const spec = {
      header: repeatable({ help: "H", parse: parseString, envSeparator: "\n", env: ["H"] }),
    };
    const result = parseConfig(INFO, spec, [], { H: "Accept: a, b\nX-Id: 1\n" });
    if (result.help) throw new Error("unexpected help");
    expect(result.config.header).toEqual(["Accept: a, b", "X-Id: 1"]);
  });

  test("parseConfig() keeps positionals and everything after --", () => {
    expect(parse(["one", "--port", "1", "-", "--", "--port", "x"]).positionals).toEqual(["one", "-", "--port", "x"]);
  });

  test("parseConfig() answers --help and -h with the help text", () => {
    for (const flag of ["--help", "-h"]) {
      const result = parseConfig(INFO, SPEC, ["--port", "1", flag], {});
      expect(result.help).toBe(true);
      if (result.help) expect(result.text).toBe(helpText(INFO, SPEC));
    }
  });

  test("parseConfig() throws ConfigError with one clear line for unknown flags, missing and bad values", () => {
    expect(configError(() => parse(["--bogus"]))).toBe('unknown flag "--bogus" (see --help)');
    expect(configError(() => parse(["-x"]))).toBe('unknown flag "-x" (see --help)');
    expect(configError(() => parse(["--no-port"]))).toBe('unknown flag "--no-port" (see --help)');
    expect(configError(() => parse(["--port"]))).toBe('flag "--port" needs a value');
    expect(configError(() => parse(["--port", "http"]))).toBe(
      'invalid value "http" for --port: expected a whole number',
    );
    expect(configError(() => parse([], { DEMO_PORT: "70000" }))).toBe(
      'invalid value "70000" for DEMO_PORT: expected a number from 0 to 65535',
    );
    expect(configError(() => parse(["--verify=maybe"]))).toBe(
      'invalid value "maybe" for --verify: expected true or false',
    );
    expect(configError(() => parse(["--log-level", "loud"]))).toBe(
      'invalid value "loud" for --log-level: expected one of debug, info, warn, error',
    );
  });
});

describe("flag()", () => {
  test("flag() and repeatable() type a flag's value from its parser, without casts", () => {
    const spec = {
      port: flag({ help: "P", default: 1, parse: parsePort }),
      peers: flag({ help: "L", default: [], parse: listOf(parseString) }),
      body: flag<Uint8Array | undefined>({
        help: "B",
        default: undefined,
        parse: (raw: string) => new TextEncoder().encode(raw),
      }),
      header: repeatable({ help: "H", parse: parseString }),
    };
    const result = parseConfig(INFO, spec, ["--body", "x", "--header", "a"], {});
    if (result.help) throw new Error("unexpected help");
    const { port, peers, body, header }: { port: number; peers: string[]; body?: Uint8Array; header: string[] } =
      result.config;
    expect([port, peers, body, header]).toEqual([1, [], new TextEncoder().encode("x"), ["a"]]);
    // @ts-expect-error: a default the parser could not have produced does not type-check.
    flag({ help: "X", default: "5", parse: parsePort });
  });
});

describe("loadConfig()", () => {
  const PROGRAM = defineProgram({
    ...INFO,
    flags: SPEC,
    check(config) {
      if (config.port === 1 && config.dataDir === "./data") throw new ConfigError("--port 1 needs a --data-dir");
    },
  });

  test("loadConfig() returns the config, never exits", () => {
    const outcome = loadConfig(PROGRAM, ["--port", "2"], {});
    expect(outcome.kind).toBe("config");
    if (outcome.kind === "config") expect(outcome.config).toMatchObject({ port: 2, peer: [], logLevel: "info" });
  });

  test("loadConfig() answers --help with the help text", () => {
    expect(loadConfig(PROGRAM, ["-h"], {})).toEqual({ kind: "help", text: helpText(PROGRAM, SPEC) });
  });

  test("loadConfig() turns a bad flag, a failed check and a stray argument into one line named after the program", () => {
    const cases: [string[], string][] = [
      [["--bogus"], 'demo: unknown flag "--bogus" (see --help)'],
      [["--port", "1"], "demo: --port 1 needs a --data-dir"],
      [["extra", "more"], 'demo: unexpected argument "extra" (see --help)'],
      [["--", "--port"], 'demo: unexpected argument "--port" (see --help)'],
    ];
    for (const [argv, line] of cases) {
      const outcome = loadConfig(PROGRAM, argv, {});
      expect(outcome.kind).toBe("error");
      if (outcome.kind === "error") {
        expect(outcome.line).toBe(line);
        expect(outcome.error).toBeInstanceOf(ConfigError);
      }
    }
  });

  test("loadConfig() passes positionals through to a program that takes them", () => {
    const outcome = loadConfig(defineProgram({ ...INFO, flags: SPEC, positionals: true }), ["run", "--port", "3"], {});
    expect(outcome).toMatchObject({ kind: "config", positionals: ["run"], config: { port: 3 } });
  });

  test("loadConfig() lets an error that is not a ConfigError through: it is a bug, not a mistake in the flags", () => {
    const broken = defineProgram({
      ...INFO,
      flags: SPEC,
      check() {
        throw new TypeError("a bug");
      },
    });
    expect(() => loadConfig(broken, [], {})).toThrow(TypeError);
  });
});

describe("helpText()", () => {
  test("helpText() lists every flag with metavar, default, env names, repeatable, and the epilog", () => {
    const text = helpText({ ...INFO, epilog: "Examples follow." }, SPEC);
    expect(text).toStartWith("demo: a demo program\n\nUsage: bun demo.ts [flags]\n\nFlags:\n");
    expect(text).toMatch(/ {2}--port PORT +Port \(default 5000\) \[env DEMO_PORT, OLD_PORT\]\n/);
    expect(text).toMatch(/ {2}--data-dir VALUE +Data \(default \.\/data\) \[env DEMO_DATA\]\n/);
    expect(text).toMatch(/ {2}--verify +Verify \(default true\) \[env DEMO_VERIFY\]\n/);
    expect(text).toMatch(/ {2}--peer VALUE +A peer \(repeatable\) \[env DEMO_PEERS\]\n/);
    expect(text).toMatch(/ {2}--log-level LEVEL +Least severe log level/);
    expect(text).toMatch(/ {2}-h, --help +Show this help and exit\n/);
    expect(text).toEndWith("\nExamples follow.\n");
  });

  test("helpText() shows defaultText instead of the default", () => {
    const spec = { size: flag({ help: "Size", default: 1024, parse: parseBytes, defaultText: "1KiB" }) };
    expect(helpText(INFO, spec)).toContain("Size (default 1KiB)");
  });
});

describe("value parsers", () => {
  test("flagName() turns camelCase into kebab-case", () => {
    expect(flagName("maxBlobBytes")).toBe("max-blob-bytes");
    expect(flagName("port")).toBe("port");
  });

  test("parseBool() takes true/false, 1/0, yes/no, on/off in any case", () => {
    for (const raw of ["true", "1", "YES", " on "]) expect(parseBool(raw)).toBe(true);
    for (const raw of ["false", "0", "No", "OFF"]) expect(parseBool(raw)).toBe(false);
    expect(() => parseBool("maybe")).toThrow("expected true or false");
  });

  test("intIn() takes whole numbers within bounds only", () => {
    const parse = intIn(1, 10);
    expect(parse("1")).toBe(1);
    expect(parse(" 10 ")).toBe(10);
    expect(parse("+5")).toBe(5);
    for (const raw of ["0", "11", "-1"]) expect(() => parse(raw)).toThrow("expected a number from 1 to 10");
    for (const raw of ["1.5", "1e1", "", "x"]) expect(() => parse(raw)).toThrow("expected a whole number");
    expect(parsePort("0")).toBe(0);
    expect(() => parsePort("65536")).toThrow();
  });

  test("numberIn() takes finite numbers within bounds", () => {
    const parse = numberIn(0, 1);
    expect(parse("0.25")).toBe(0.25);
    expect(parse("1")).toBe(1);
    for (const raw of ["", "abc", "Infinity", "NaN"]) expect(() => parse(raw)).toThrow("expected a number");
    expect(() => parse("1.5")).toThrow("expected a number from 0 to 1");
  });

  test("parseBaseUrl() accepts URLs and host:port, without a trailing slash", () => {
    expect(parseBaseUrl("localhost:5000")).toBe("http://localhost:5000");
    expect(parseBaseUrl("http://cas:5000/")).toBe("http://cas:5000");
    expect(parseBaseUrl("https://example.com/base/")).toBe("https://example.com/base");
    expect(() => parseBaseUrl("ftp://example.com")).toThrow("expected an http or https URL");
    expect(() => parseBaseUrl("http://")).toThrow("expected a URL");
  });

  test("listOf() splits on commas, trims and drops empty items", () => {
    expect(listOf(parsePort)(" 1, 2,,3 ")).toEqual([1, 2, 3]);
    expect(listOf(parseString)("")).toEqual([]);
    expect(() => listOf(parsePort)("1,x")).toThrow("expected a whole number");
  });

  test("durationIn() takes durations within bounds only", () => {
    const parse = durationIn(1, 240_000);
    expect(parse("10s")).toBe(10_000);
    expect(parse("1ms")).toBe(1);
    for (const raw of ["0s", "241s", "500us"])
      expect(() => parse(raw)).toThrow("expected a duration from 1 ms to 240 s");
    expect(() => parse("soon")).toThrow("expected a duration such as 10s, 1m30s or 250ms");
  });

  test("oneOf() takes only the listed words, exactly", () => {
    const parse = oneOf("json", "text");
    expect(parse("json")).toBe("json");
    expect(() => parse("JSON")).toThrow("expected one of json, text");
  });
});
