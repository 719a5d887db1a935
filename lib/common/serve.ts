/**
 * The one way a program serves HTTP (the origin, the cache, the load tester's metrics): Bun.serve with the
 * JSON error hook, one "listening" log line in one format, and, when main() asks, a drain on SIGTERM/SIGINT
 * (lib/common/shutdown.ts). Returns the running server; it does not exit the process by itself.
 */
import type { Serve, Server } from "bun";
import { toErrorResponse } from "./http-error.ts";
import type { LogFields, Logger } from "./log.ts";
import { drainOnSignal, type DrainOptions } from "./shutdown.ts";

/** The message of the line logged once a program accepts connections. */
export const LISTENING = "listening";

export interface ServeOptions<R extends string> {
  /** What listens, as the log lines name it: "cas", "cache", "metrics". */
  name: string;
  host: string;
  /** 0 picks a free port; the bound one is in the "listening" line. */
  port: number;
  logger: Logger;
  /** Every request the routes do not take. */
  fetch: (req: Request) => Response | Promise<Response>;
  /** Bun's native routes, for hot paths that should skip URL parsing. */
  routes?: Serve.Routes<undefined, R>;
  /** Largest request body Bun reads. @default Bun's 128 MiB */
  maxRequestBodySize?: number;
  /** Seconds a connection may stay silent. @default Bun's 10 */
  idleTimeout?: number;
  /** Called with the bound port before the "listening" line; what it returns is added to the line. */
  onListen?: (port: number) => LogFields | void;
  /** Drains on SIGTERM/SIGINT and leaves through `shutdown.exit`; without it, signals are left to the caller. */
  shutdown?: Omit<DrainOptions, "logger">;
}

/** Starts the server, logs `{"msg":"listening","name","url","port",...}` and installs the drain if asked. */
export function serve<R extends string = never>(options: ServeOptions<R>): Server<undefined> {
  const { logger, name } = options;
  const server = Bun.serve<undefined, R>({
    hostname: options.host,
    port: options.port,
    maxRequestBodySize: options.maxRequestBodySize,
    idleTimeout: options.idleTimeout,
    routes: options.routes,
    fetch: options.fetch,
    error(err) {
      logger.error("unhandled error", { name, err });
      return toErrorResponse(err);
    },
  });
  if (options.shutdown) drainOnSignal(server, { logger, ...options.shutdown });
  const port = server.port ?? options.port;
  const extra = options.onListen?.(port) ?? {};
  logger.info(LISTENING, { name, url: listenUrl(options.host, port), port, ...extra });
  return server;
}

/** The base URL a listener is reached at: a wildcard address becomes localhost, an IPv6 one gets brackets. */
export function listenUrl(host: string, port: number): string {
  const shown = host === "0.0.0.0" || host === "::" || host === "" ? "localhost" : host;
  return `http://${shown.includes(":") ? `[${shown}]` : shown}:${port}`;
}

/** The URL and port of a "listening" log line (one JSON object), or undefined for any other line. */
export function parseListening(line: string): { url: string; port: number } | undefined {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof record !== "object" || record === null) return undefined;
  // A JSON object is a string-keyed record; each field's type is checked below.
  const { msg, url, port } = record as Record<string, unknown>;
  return msg === LISTENING && typeof url === "string" && typeof port === "number" ? { url, port } : undefined;
}
