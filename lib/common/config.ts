/**
 * The one command-line and environment parser shared by every program.
 * Each flag is declared once with its parser, default, env names and help; a flag beats its env var,
 * which beats the default. Bad input throws {@linkcode ConfigError}; only a program's main() exits.
 */

/** A configuration mistake: the program prints `message` on one line and exits with code 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** How one flag is read. `T` is the parsed type. */
export interface Flag<T> {
  /** One line for `--help`. */
  help: string;
  /** Used when neither the flag nor an env var is given. */
  default: T;
  /** Turns the raw text into a value; throws `ConfigError` (or any Error) with a reason. */
  parse: (raw: string) => T;
  /** Environment variables read when the flag is absent, first found wins. */
  env?: readonly string[];
  /** A switch: `--name` alone means true, `--name=false` and `--no-name` mean false. */
  boolean?: boolean;
  /** May be given several times; values are collected in order (the env var is split on `envSeparator`). */
  repeatable?: boolean;
  /** Splits a repeatable flag's env var into values. @default "," (use "\n" when values may hold commas) */
  envSeparator?: string;
  /** Placeholder shown in `--help`, e.g. `BYTES`. */
  metavar?: string;
  /** Shown in `--help` instead of the default value. */
  defaultText?: string;
}

export type FlagSpec = Record<string, Flag<unknown>>;
export type Config<S extends FlagSpec> = { [K in keyof S]: S[K] extends Flag<infer T> ? T : never };

/** Describes a program for `--help`. */
export interface ProgramInfo {
  name: string;
  summary: string;
  usage?: string;
  /** Free text printed after the flag list (examples, notes). */
  epilog?: string;
}

/** What parsing produced: either the typed values, or a request to show help. */
export type ParseResult<S extends FlagSpec> =
  { help: false; config: Config<S>; positionals: string[] } | { help: true; text: string };

/** Flag name on the command line for a spec key: `dataDir` -> `data-dir`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

/**
 * Parses `argv` (without the runtime and script) and `env` against `spec`.
 * Throws ConfigError for unknown flags, missing values and values a parser rejects.
 */
export function parseConfig<S extends FlagSpec>(
  info: ProgramInfo,
  spec: S,
  argv: readonly string[],
  env: Record<string, string | undefined> = process.env,
): ParseResult<S> {
  const byName = new Map<string, string>();
  for (const key of Object.keys(spec)) byName.set(flagName(key), key);
  const given = new Map<string, unknown[]>();
  const positionals: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return { help: true, text: helpText(info, spec) };
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("--")) {
      if (arg.startsWith("-") && arg.length > 1) throw new ConfigError(`unknown flag "${arg}" (see --help)`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    let name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let inline: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    let key = byName.get(name);
    if (key === undefined && name.startsWith("no-") && inline === undefined) {
      const positive = byName.get(name.slice(3));
      if (positive !== undefined && spec[positive]!.boolean) {
        key = positive;
        name = name.slice(3);
        inline = "false";
      }
    }
    if (key === undefined) throw new ConfigError(`unknown flag "--${name}" (see --help)`);
    const flag = spec[key]!;
    let raw: string;
    if (inline !== undefined) raw = inline;
    else if (flag.boolean) raw = "true";
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new ConfigError(`flag "--${name}" needs a value`);
      raw = next;
      i++;
    }
    const value = parseValue(flag, raw, `--${name}`);
    const list = given.get(key) ?? [];
    if (!flag.repeatable) list.length = 0;
    list.push(value);
    given.set(key, list);
  }

  const config: Record<string, unknown> = {};
  for (const [key, flag] of Object.entries(spec)) {
    const fromArgs = given.get(key);
    if (fromArgs !== undefined) {
      config[key] = flag.repeatable ? fromArgs : fromArgs[0];
      continue;
    }
    const envName = flag.env?.find((name) => env[name] !== undefined && env[name] !== "");
    if (envName !== undefined) {
      const raw = env[envName]!;
      config[key] = flag.repeatable
        ? raw
            .split(flag.envSeparator ?? ",")
            .map((part) => part.trim())
            .filter((part) => part !== "")
            .map((part) => parseValue(flag, part, envName))
        : parseValue(flag, raw, envName);
      continue;
    }
    config[key] = flag.default;
  }
  return { help: false, config: config as Config<S>, positionals };
}

function parseValue(flag: Flag<unknown>, raw: string, source: string): unknown {
  try {
    return flag.boolean ? parseBool(raw) : flag.parse(raw);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`invalid value "${raw}" for ${source}: ${reason}`);
  }
}

/** Renders `--help` from the spec, so the help text can never drift from the parser. */
export function helpText(info: ProgramInfo, spec: FlagSpec): string {
  const lines = [
    `${info.name}: ${info.summary}`,
    "",
    `Usage: ${info.usage ?? `bun ${info.name}.ts [flags]`}`,
    "",
    "Flags:",
  ];
  const rows = Object.entries(spec).map(([key, flag]) => {
    const left = `  --${flagName(key)}${flag.boolean ? "" : ` ${flag.metavar ?? "VALUE"}`}`;
    const dflt = flag.defaultText ?? describeDefault(flag.default);
    const env = flag.env?.length ? ` [env ${flag.env.join(", ")}]` : "";
    const rep = flag.repeatable ? " (repeatable)" : "";
    return [left, `${flag.help}${rep}${dflt === "" ? "" : ` (default ${dflt})`}${env}`] as const;
  });
  rows.push(["  -h, --help", "Show this help and exit"]);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  for (const [left, right] of rows) lines.push(left.padEnd(width) + right);
  if (info.epilog) lines.push("", info.epilog);
  return lines.join("\n") + "\n";
}

function describeDefault(value: unknown): string {
  if (value === undefined || value === "" || value === false) return "";
  if (Array.isArray(value)) return value.length === 0 ? "" : value.join(",");
  return String(value);
}

/**
 * Runs `parseConfig` for a program's main(): prints help and exits 0, or prints the error on one line
 * and exits 2. Returns the typed config otherwise.
 */
export function loadConfig<S extends FlagSpec>(
  info: ProgramInfo,
  spec: S,
  argv: readonly string[] = process.argv.slice(2),
  env: Record<string, string | undefined> = process.env,
): { config: Config<S>; positionals: string[] } {
  try {
    const result = parseConfig(info, spec, argv, env);
    if (result.help) {
      process.stdout.write(result.text);
      process.exit(0);
    }
    return { config: result.config, positionals: result.positionals };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${info.name}: ${err.message}\n`);
    process.exit(2);
  }
}

// ---- Value parsers. Each throws an Error whose message says what was expected. ----

/** Any text, as given. */
export function parseString(raw: string): string {
  return raw;
}

/** "true/false", "1/0", "yes/no", "on/off". */
export function parseBool(raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new Error("expected true or false");
}

/** An integer within [min, max]. */
export function intIn(min: number, max: number = Number.MAX_SAFE_INTEGER): (raw: string) => number {
  return (raw) => {
    const v = raw.trim();
    if (!/^[+-]?\d+$/.test(v)) throw new Error("expected a whole number");
    const n = Number(v);
    if (n < min || n > max) throw new Error(`expected a number from ${min} to ${max}`);
    return n;
  };
}

/** A finite number within [min, max]. */
export function numberIn(min: number, max: number = Number.MAX_VALUE): (raw: string) => number {
  return (raw) => {
    const v = raw.trim();
    const n = v === "" ? NaN : Number(v);
    if (!Number.isFinite(n)) throw new Error("expected a number");
    if (n < min || n > max) throw new Error(`expected a number from ${min} to ${max}`);
    return n;
  };
}

/** A TCP port, 0 to 65535 (0 = pick a free one). */
export const parsePort = intIn(0, 65535);

/** A base URL. `host:port` (the original system's env form) becomes `http://host:port`. */
export function parseBaseUrl(raw: string): string {
  const v = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `http://${v}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error("expected a URL such as http://localhost:5000 or host:port");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("expected an http or https URL");
  return url.href.replace(/\/+$/, "");
}

/** A comma-separated list of parsed items (empty items dropped). */
export function listOf<T>(item: (raw: string) => T): (raw: string) => T[] {
  return (raw) =>
    raw
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "")
      .map(item);
}

/** One of a fixed set of words. */
export function oneOf<const T extends string>(...choices: T[]): (raw: string) => T {
  return (raw) => {
    if ((choices as string[]).includes(raw)) return raw as T;
    throw new Error(`expected one of ${choices.join(", ")}`);
  };
}

const logLevel: Flag<"debug" | "info" | "warn" | "error"> = {
  help: "Least severe log level written: debug, info, warn or error",
  default: "info",
  parse: oneOf("debug", "info", "warn", "error"),
  env: ["LOG_LEVEL"],
  metavar: "LEVEL",
};

/** The flags every program shares: logging. Spread into a program's spec. */
export const COMMON_FLAGS = { logLevel };
