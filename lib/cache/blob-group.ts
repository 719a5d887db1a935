/**
 * The Group the cache runs, over verified blobs: a miss that the Group's LRU and singleflight let through asks
 * the key's owner (lib/cache/peer-protocol.ts) or else the origin (lib/cache/blob-fetch.ts), and each load paces
 * garbage collection (lib/cache/gc-pacing.ts). Held blobs are cached at their size; streamed ones pass through.
 */
import { HttpError } from "../common/http-error.ts";
import { type BlobKey, parseKey } from "../common/key.ts";
import { type Logger, silentLogger } from "../common/log.ts";
import { type FetchedBlob, fetchFromOrigin, type Upstream } from "./blob-fetch.ts";
import { createGcPacer } from "./gc-pacing.ts";
import { Group } from "./group.ts";
import { fetchFromPeer, isFinalPeerAnswer } from "./peer-protocol.ts";

export interface BlobGroupOptions {
  /** Base URL of the CAS origin. */
  origin: string;
  /** Budget for the main and hot caches together; 0 turns caching off. */
  cacheBytes: number;
  /** Blobs above this many bytes stream through uncached. 0 or blank: a sixteenth of `cacheBytes`. */
  maxItemBytes?: number;
  /** One deadline per get, for the owner and the origin together; also the longest gap in a streamed body. */
  timeoutMs: number;
  /** Slowest a streamed body may come in after `timeoutMs` (lib/cache/stream-bound.ts). @default DEFAULT_UPSTREAM_MIN_RATE */
  minBytesPerSecond?: number;
  /** The owner of `key` when it is another peer, undefined when it is this process. @default always this process */
  pickPeer?: (key: string) => string | undefined;
  /** Told of each failure of a peer itself (not its verdict on the origin), after it is logged. */
  onPeerFailure?: (peer: string) => void;
  /** Told of each answer from a peer: a blob, its 404 or its verdict on the origin. */
  onPeerAnswer?: (peer: string) => void;
  /** Told each fetch's duration in seconds (`cas_cache_upstream_duration_seconds`). */
  observe?: (upstream: Upstream, seconds: number) => void;
  /** @default silentLogger */
  logger?: Logger;
}

/** Builds the Group; its loaders take keys that parseKey accepted (the handler checks them first). */
export function createBlobGroup(options: BlobGroupOptions): Group<FetchedBlob> {
  const logger = options.logger ?? silentLogger;
  const givenMaxItemBytes = options.maxItemBytes ?? 0;
  const maxItemBytes = givenMaxItemBytes > 0 ? givenMaxItemBytes : Math.floor(options.cacheBytes / 16);
  const fetchOptions = {
    timeoutMs: options.timeoutMs,
    minBytesPerSecond: options.minBytesPerSecond,
    maxItemBytes,
    observe: options.observe,
    onStreamMismatch: (key: BlobKey, from: Upstream) =>
      logger.warn("streamed blob failed verification", { key: key.hex, from }),
    onStreamTooSlow: (key: BlobKey, from: Upstream) =>
      logger.warn("streamed blob came in too slowly; broken off", { key: key.hex, from }),
  };
  // Keys reach the Group only after parseKey accepted them.
  const blobKey = (key: string): BlobKey => parseKey(key)!;
  const paceGc = createGcPacer(options.cacheBytes, { logger });
  const loaded = (value: FetchedBlob): FetchedBlob => {
    paceGc(value.kind === "held" ? value.size : 0);
    return value;
  };
  return new Group<FetchedBlob>({
    cacheBytes: options.cacheBytes,
    sizeOf: (v) => (v.kind === "held" ? v.size : 0),
    cacheable: (v) => v.kind === "held",
    // One deadline per get: a peer that fails late leaves the local load only what remains of it.
    timeoutMs: options.timeoutMs,
    load: (key, { deadline }) =>
      fetchFromOrigin(options.origin, blobKey(key), { ...fetchOptions, deadline }).then(loaded),
    pickPeer: options.pickPeer,
    fetchFromPeer: (peer, key, { fresh, deadline }) =>
      fetchFromPeer(peer, blobKey(key), { ...fetchOptions, fresh, deadline }).then(
        (value) => {
          options.onPeerAnswer?.(peer);
          return loaded(value);
        },
        (err: unknown) => {
          if (isFinalPeerAnswer(err)) options.onPeerAnswer?.(peer);
          throw err;
        },
      ),
    isFinal: isFinalPeerAnswer,
    onPeerError: (peer, key, err) => {
      logger.warn("peer fetch failed; loading from the origin", {
        peer,
        key,
        err: err instanceof HttpError ? err.message : err,
      });
      options.onPeerFailure?.(peer);
    },
  });
}
