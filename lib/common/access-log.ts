/**
 * The one shape of an access-log line, shared by the origin and the cache:
 * `{"msg":"request","method","path","status","ms"}` plus the program's own fields (the cache's X-Cache verdict).
 */
import type { LogFields, Logger } from "./log.ts";
import { pathOf } from "./request-path.ts";

/** One finished request. */
export interface AccessEntry {
  req: Request;
  status: number;
  /** From the request's arrival to its answer; logged rounded to the microsecond. */
  ms: number;
  /** The program's own fields, added after the shared ones. */
  fields?: LogFields;
}

/** Logs one finished request at info level. */
export function logRequest(logger: Logger, entry: AccessEntry): void {
  const { req, status, ms } = entry;
  logger.info("request", {
    method: req.method,
    path: pathOf(req.url),
    status,
    ms: Math.round(ms * 1e3) / 1e3,
    ...entry.fields,
  });
}
