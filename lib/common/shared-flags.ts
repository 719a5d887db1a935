/**
 * The flags the programs share, declared once: where to listen (host and port) and the log level; and the
 * default ports of the origin and the cache, which the programs that talk to them reuse for their defaults.
 */
import { flag, oneOf, parsePort, parseString, type Flag } from "./config.ts";

/** The CAS origin's port unless configured, as in the original system. */
export const DEFAULT_SERVER_PORT = 5000;
/** The cache's port unless configured, as in the original system. */
export const DEFAULT_CACHE_PORT = 18001;

/** `--port`: the port a program listens on, read from the program's own env names (the original ones). */
export function portFlag(defaultPort: number, env: readonly string[]): Flag<number> {
  return flag({
    help: "Port to listen on (0 picks a free one)",
    default: defaultPort,
    parse: parsePort,
    env,
    metavar: "PORT",
  });
}

/** `--host`: the address a program listens on (`LISTEN_HOST`); `help` says what listens, when not the program. */
export function hostFlag(help = "Address to listen on"): Flag<string> {
  return flag({ help, default: "0.0.0.0", parse: parseString, env: ["LISTEN_HOST"], metavar: "HOST" });
}

/** The flags every program takes: logging. Spread into a program's flags. */
export const COMMON_FLAGS = {
  logLevel: flag({
    help: "Least severe log level written: debug, info, warn or error",
    default: "info",
    parse: oneOf("debug", "info", "warn", "error"),
    env: ["LOG_LEVEL"],
    metavar: "LEVEL",
  }),
};
