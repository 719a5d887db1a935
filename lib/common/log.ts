/**
 * JSON-lines logging with levels, one object per line on stderr (stdout stays free for reports).
 * Lines look like {"ts":"…","level":"info","program":"server","msg":"listening","port":5000}: Loki-friendly.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** True when lines of `level` are written; lets hot paths skip building fields. */
  enabled(level: LogLevel): boolean;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  /** Least severe level written. @default "info" */
  level?: LogLevel;
  /** Where lines go. @default writes to stderr */
  write?: (line: string) => void;
  /** Fields added to every line, e.g. `{ program: "server" }`. */
  base?: LogFields;
}

/** Creates a logger. Errors in fields are reduced to their name and message, never a stack. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = RANK[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const base = options.base ?? {};
  function emit(level: LogLevel, msg: string, fields?: LogFields): void {
    if (RANK[level] < min) return;
    const record = { ts: new Date().toISOString(), level, ...base, msg, ...fields };
    write(JSON.stringify(record, replaceErrors) + "\n");
  }
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    enabled: (level) => RANK[level] >= min,
  };
}

function replaceErrors(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** A logger that writes nothing, for tests and library defaults. */
export const silentLogger: Logger = createLogger({ write: () => {} });
