/**
 * The one command-line and environment parser shared by every program.
 * Each flag is declared once with its parser, default, env names and help; a flag beats its env var,
 * which beats the default. Bad input throws {@linkcode ConfigError}; {@linkcode loadConfig} turns it into an
 * outcome that the program's main() prints before it exits (nothing here exits).
 */
import { parseDuration } from "./units.ts";

/** A configuration mistake: the program prints `message` on one line and exits with code 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** What every flag has, repeatable or not. `T` is what one occurrence parses to. */
interface FlagBase<T> {
  /** One line for `--help`. */
  help: string;
  /** Turns the raw text into a value; throws `ConfigError` (or any Error) with a reason. */
  parse: (raw: string) => T;
  /** Environment variables read when the flag is absent, first found wins. */
  env?: readonly string[];
  /** Placeholder shown in `--help`, e.g. `BYTES`. */
  metavar?: string;
  /** Shown in `--help` instead of the default value. */
  defaultText?: string;
}

/** A flag read once (the last occurrence wins). `T` is the parsed type. */
export interface Flag<T> extends FlagBase<T> {
  /** Used when neither the flag nor an env var is given. */
  default: T;
  /** A switch: `--name` alone means true, `--name=false` and `--no-name` mean false. */
  boolean?: boolean;
  repeatable?: false;
}

/** A flag that may be given several times: its value is every occurrence parsed, in order, and empty by default. */
export interface RepeatableFlag<T> extends FlagBase<T> {
  repeatable: true;
  /** Splits the env var into values. @default "," (use "\n" when values may hold commas) */
  envSeparator?: string;
}

export type AnyFlag = Flag<unknown> | RepeatableFlag<unknown>;
export type FlagSpec = Record<string, AnyFlag>;
/** The value a flag yields: a repeatable flag's is the list of its occurrences. */
export type FlagValue<F> = F extends RepeatableFlag<infer T> ? T[] : F extends Flag<infer T> ? T : never;
export type Config<S extends FlagSpec> = { [K in keyof S]: FlagValue<S[K]> };

/**
 * Declares a flag. The type comes from `parse` alone and `default` must fit it, so a default that the parser
 * could not have produced fails to type-check. Give `T` when the default adds to it (`flag<number | undefined>`).
 */
export function flag<T>(spec: Omit<Flag<T>, "default"> & { default: NoInfer<T> }): Flag<T> {
  return spec;
}

/** Declares a repeatable flag (see {@linkcode RepeatableFlag}). */
export function repeatable<T>(spec: Omit<RepeatableFlag<T>, "repeatable">): RepeatableFlag<T> {
  return { ...spec, repeatable: true };
}

/** Describes a program for `--help`. */
export interface ProgramInfo {
  name: string;
  summary: string;
  usage?: string;
  /** Free text printed after the flag list (examples, notes). */
  epilog?: string;
}

/** Everything a program's command line is: its help, its flags and the checks that span several flags. */
export interface Program<S extends FlagSpec> extends ProgramInfo {
  flags: S;
  /** Checks what depends on several flags, after each parsed on its own; throws ConfigError. */
  check?: (config: Config<S>) => void;
  /** Takes words that are not flags (a subcommand, a file); otherwise the first is a ConfigError. @default false */
  positionals?: boolean;
}

/** Declares a program; exists so that `check` is typed by the flags next to it. */
export function defineProgram<S extends FlagSpec>(program: Program<S>): Program<S> {
  return program;
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
      if (positive !== undefined && isSwitch(spec[positive]!)) {
        key = positive;
        name = name.slice(3);
        inline = "false";
      }
    }
    if (key === undefined) throw new ConfigError(`unknown flag "--${name}" (see --help)`);
    const flag = spec[key]!;
    let raw: string;
    if (inline !== undefined) raw = inline;
    else if (isSwitch(flag)) raw = "true";
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
    config[key] = flag.repeatable ? [] : flag.default;
  }
  // Built key by key from `spec`, each value from its own flag's parser or default: the shape Config<S> names.
  return { help: false, config: config as Config<S>, positionals };
}

function isSwitch(flag: AnyFlag): boolean {
  return !flag.repeatable && flag.boolean === true;
}

function parseValue(flag: AnyFlag, raw: string, source: string): unknown {
  try {
    return isSwitch(flag) ? parseBool(raw) : flag.parse(raw);
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
    const left = `  --${flagName(key)}${isSwitch(flag) ? "" : ` ${flag.metavar ?? "VALUE"}`}`;
    const dflt = flag.defaultText ?? (flag.repeatable ? "" : describeDefault(flag.default));
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

/** A program's config, read from its command line and environment. */
export interface LoadedConfig<S extends FlagSpec> {
  kind: "config";
  config: Config<S>;
  /** Always empty unless the program takes positionals. */
  positionals: string[];
}

/** `--help` was asked for: main() prints `text` on stdout and exits 0. */
export interface HelpRequest {
  kind: "help";
  text: string;
}

/** The command line is wrong: main() prints `line` on stderr and exits 2. */
export interface BadConfig {
  kind: "error";
  error: ConfigError;
  /** `<program>: <message>`, without the newline. */
  line: string;
}

export type ConfigOutcome<S extends FlagSpec> = LoadedConfig<S> | HelpRequest | BadConfig;

/**
 * Reads a program's config: parses `argv` and `env` against its flags, refuses stray positional arguments
 * (unless it takes them) and runs its `check`. Never exits: the outcome says what main() should do.
 */
export function loadConfig<S extends FlagSpec>(
  program: Program<S>,
  argv: readonly string[] = process.argv.slice(2),
  env: Record<string, string | undefined> = process.env,
): ConfigOutcome<S> {
  try {
    const result = parseConfig(program, program.flags, argv, env);
    if (result.help) return { kind: "help", text: result.text };
    const stray = result.positionals[0];
    if (!program.positionals && stray !== undefined)
      throw new ConfigError(`unexpected argument "${stray}" (see --help)`);
    program.check?.(result.config);
    return { kind: "config", config: result.config, positionals: result.positionals };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { kind: "error", error: err, line: `${program.name}: ${err.message}` };
  }
}

/** For main(): writes the help on stdout or the error line on stderr, and returns the exit code to leave with. */
export function printConfigOutcome(outcome: HelpRequest | BadConfig): 0 | 2 {
  if (outcome.kind === "help") {
    process.stdout.write(outcome.text);
    return 0;
  }
  process.stderr.write(outcome.line + "\n");
  return 2;
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

/** A duration in milliseconds (see lib/common/units.ts) within [minMs, maxMs]. */
export function durationIn(minMs: number, maxMs: number): (raw: string) => number {
  return (raw) => {
    const ms = parseDuration(raw);
    if (ms < minMs || ms > maxMs) throw new Error(`expected a duration from ${minMs} ms to ${maxMs / 1000} s`);
    return ms;
  };
}
