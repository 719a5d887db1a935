/**
 * The protocol between cache peers, in one place as groupcache keeps it in http.go: the owner's route, the
 * deadline an asker sends along and the owner's share of it, and which of the owner's answers are final (its
 * verdict on the origin, passed on) and which are the peer's own failure (the asker then loads locally).
 * Only {@linkcode fetchFromPeer} does I/O; it verifies the owner's bytes like the origin's (lib/cache/blob-fetch.ts).
 */
import { HttpError } from "../common/http-error.ts";
import type { BlobKey } from "../common/key.ts";
import { fetchBlob, type FetchBlobOptions, type FetchedBlob } from "./blob-fetch.ts";

/** Where an owner serves the other peers: `GET`/`HEAD <peer>/_peer/cas/<hash>`, answered as `/cas/<hash>` is. */
export const PEER_PATH = "/_peer/cas/";
/** The peer route as the router and the metrics' `route` label name it. */
export const PEER_ROUTE = "/_peer/cas/:hash";

/**
 * Asking a peer, a cache tells it how long it will wait (this header, in ms), as a gRPC deadline travels
 * with the call: the owner then gives up on the origin first and its verdict arrives in time, instead of
 * the asker timing out, counting a healthy owner as failed and having no time left to load itself.
 */
export const DEADLINE_HEADER = "x-cache-deadline-ms";

/**
 * The owner's side: its share of an asking peer's remaining time, a tenth of it (at most 100 ms) left for the
 * way back. Undefined when the asker sent no usable deadline.
 */
export function peerBudget(req: Request): number | undefined {
  const remaining = Number(req.headers.get(DEADLINE_HEADER) ?? NaN);
  if (!(remaining > 0)) return undefined;
  return remaining - Math.min(100, remaining / 10);
}

/**
 * An error answer from the owning peer that is its verdict on the origin (it reached the origin, or tried to,
 * within its deadline): final, passed on as it is, never followed by a local load. Any other failure to get a
 * blob from a peer (refused, reset, late, malformed, wrong bytes) is the peer's own failure.
 */
export class PeerVerdict extends HttpError {
  override name = "PeerVerdict";
}

/** The error codes by which an owner reports on the origin: its fetchBlob's errors (lib/cache/blob-fetch.ts). */
const VERDICT_CODES = new Set([
  "upstream_timeout",
  "upstream_unavailable",
  "bad_upstream_status",
  "bad_upstream_digest",
]);

/**
 * True for an error from {@linkcode fetchFromPeer} that is the answer itself. The owner's 404 and its verdict
 * on the origin are answers; asking the origin again would only double the origin's load and the client's
 * wait (groupcache falls back only when the peer itself fails).
 */
export function isFinalPeerAnswer(err: unknown): boolean {
  return err instanceof PeerVerdict || (err instanceof HttpError && err.status === 404);
}

/** How {@linkcode fetchFromPeer} asks: what fetchBlob needs, less what the protocol sets itself. */
export interface PeerFetchOptions extends Omit<FetchBlobOptions, "upstream" | "deadline" | "headers" | "errorAnswer"> {
  /** When (a `performance.now()` time) the asker stops waiting; sent along as {@linkcode DEADLINE_HEADER}. */
  deadline: number;
  /** A forced miss: the owner is asked to load afresh too. */
  fresh: boolean;
}

/** The asker's request headers: the time it has left, and `Cache-Control: no-cache` for a forced miss. */
export function peerRequestHeaders(deadline: number, fresh: boolean): Record<string, string> {
  const headers: Record<string, string> = { [DEADLINE_HEADER]: String(Math.floor(deadline - performance.now())) };
  if (fresh) headers["cache-control"] = "no-cache";
  return headers;
}

/**
 * The asker's side: GETs `key` from its owner `peer` (a base URL) and verifies it. Throws a
 * {@linkcode PeerVerdict} for the owner's verdict on the origin, else fetchBlob's errors.
 */
export function fetchFromPeer(peer: string, key: BlobKey, options: PeerFetchOptions): Promise<FetchedBlob> {
  const { fresh, ...rest } = options;
  return fetchBlob(`${peer}${PEER_PATH}${key.hex}`, key, {
    ...rest,
    upstream: "peer",
    headers: peerRequestHeaders(options.deadline, fresh),
    errorAnswer: (res) => (res.status >= 500 ? readVerdict(res) : undefined),
  });
}

/** An owner's 5xx answer: its {@linkcode PeerVerdict} on the origin, or else a failure of the peer itself. */
async function readVerdict(res: Response): Promise<HttpError> {
  let body: unknown;
  try {
    body = JSON.parse(await res.text());
  } catch (err) {
    // Cut off or not JSON: the peer failed (a timeout while reading is reported as such by fetchBlob).
    if (err instanceof SyntaxError) return new HttpError(502, "bad_upstream_status", `the peer answered ${res.status}`);
    throw err;
  }
  // Only names the fields; each is checked below before it is trusted.
  const { error, message } = (body ?? {}) as { error?: unknown; message?: unknown };
  if (typeof error !== "string" || !VERDICT_CODES.has(error) || typeof message !== "string") {
    return new HttpError(502, "bad_upstream_status", `the peer answered ${res.status}`);
  }
  return new PeerVerdict(res.status, error, `${message} (answered by the owning peer)`);
}
