/**
 * Fetches one blob from the origin or from a peer within a deadline and verifies it against its key before
 * anything is cached or served. Blobs up to `maxItemBytes` are read whole, whether the upstream sent their size
 * or not (Go's server sends larger bodies chunked); larger ones come back as a stream that is hashed on the way
 * through, bounded in time by lib/cache/stream-bound.ts and broken off (connection reset) if it is too slow or
 * the digest does not match. What a peer's answers mean is lib/cache/peer-protocol.ts's business; this file
 * knows only HTTP and digests.
 */
import { HttpError } from "../common/http-error.ts";
import { type BlobKey, hasherFor, matchesKey } from "../common/key.ts";
import { DEFAULT_UPSTREAM_MIN_RATE, streamBound, type StreamBound } from "./stream-bound.ts";

/** Where a blob came from, also the `upstream` label of `cas_cache_upstream_duration_seconds`. */
export type Upstream = "origin" | "peer";

/**
 * A verified blob held in memory, with the response options for both cache outcomes built once. The bytes
 * are a Blob: immutable, so `new Response(blob)` shares them, where a Uint8Array would be copied per response
 * (a 25 KB copy was the largest single cost of a hit).
 */
export interface HeldBlob {
  kind: "held";
  body: Blob;
  /** Bytes in `body`. */
  size: number;
  /** Origin headers plus `X-Cache: HIT`; shared by every hit (a Response copies them), never mutated. */
  hit: ResponseInit;
  /** Origin headers plus `X-Cache: MISS`. */
  miss: ResponseInit;
}

/** A blob larger than `maxItemBytes`: a response whose body verifies itself while it streams. Readable once. */
export interface StreamedBlob {
  kind: "streamed";
  response: Response;
  /**
   * The upstream's Content-Length, when it sent one (a chunked body larger than `maxItemBytes` has none). It is
   * set on `response` too, but Bun 1.4.5 strips a handler's Content-Length from any ReadableStream body and
   * sends it chunked (oven-sh/bun#10507): only HEAD, answered without a body, carries it.
   */
  size?: number;
}

export type FetchedBlob = HeldBlob | StreamedBlob;

export interface FetchBlobOptions {
  /** Which upstream this is, for error messages and the duration histogram. */
  upstream: Upstream;
  /**
   * For streamed blobs, the longest gap between chunks and the grace before `minBytesPerSecond` counts; also
   * the deadline below when that is not given.
   */
  timeoutMs: number;
  /**
   * The slowest a streamed body may come in once `timeoutMs` has passed, counting only time spent waiting for
   * the upstream (see lib/cache/stream-bound.ts); 0 leaves only the limit on each gap.
   * @default DEFAULT_UPSTREAM_MIN_RATE
   */
  minBytesPerSecond?: number;
  /**
   * When (a `performance.now()` time) the answer and, for held blobs, the whole body must be in: what is
   * left of the get's one deadline. Already passed: 504 at once, without asking. @default now + timeoutMs
   */
  deadline?: number;
  /** Blobs above this many bytes stream through instead of being held. */
  maxItemBytes: number;
  /** Extra request headers (e.g. `Cache-Control: no-cache` towards a peer). */
  headers?: Record<string, string>;
  /** Called once per attempt with its duration in seconds (to the full body, or to the headers for streams). */
  observe?: (upstream: Upstream, seconds: number) => void;
  /** Called when a streamed body turns out not to match its key (the stream is then broken off). */
  onStreamMismatch?: (key: BlobKey, upstream: Upstream) => void;
  /** Called when a streamed body falls below its minimum rate or stalls (the stream is then broken off). */
  onStreamTooSlow?: (key: BlobKey, upstream: Upstream) => void;
  /**
   * Reads a non-200 answer whose body matters (a peer's verdict) into the error to throw. Returning undefined
   * leaves the default: body discarded, 404 `not_found`, anything else 502 `bad_upstream_status`.
   */
  errorAnswer?: (res: Response) => Promise<HttpError> | undefined;
}

/** Headers of a blob response that the cache passes on from its upstream (anything else is dropped). */
const PASSED_HEADERS = ["content-type", "etag", "cache-control", "last-modified"] as const;

/**
 * GETs `url` and returns the verified blob. Throws {@linkcode HttpError}: 404 `not_found` (the origin's
 * answer, passed through), 502 `bad_upstream_digest`, 502 `bad_upstream_status`, 502 `upstream_unavailable`,
 * 504 `upstream_timeout`; or whatever `errorAnswer` read.
 */
export async function fetchBlob(url: string, key: BlobKey, options: FetchBlobOptions): Promise<FetchedBlob> {
  const { upstream, timeoutMs } = options;
  const waitMs = options.deadline === undefined ? timeoutMs : options.deadline - performance.now();
  if (!(waitMs > 0)) {
    throw new HttpError(504, "upstream_timeout", `the deadline passed before the ${upstream} could be asked`);
  }
  const controller = new AbortController();
  let timedOut = false;
  let timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, waitMs);
  const started = performance.now();
  const observe = () => options.observe?.(upstream, (performance.now() - started) / 1000);
  const fail = (err: unknown): HttpError => {
    clearTimeout(timer);
    observe();
    if (err instanceof HttpError) return err;
    if (timedOut)
      return new HttpError(504, "upstream_timeout", `the ${upstream} did not answer within ${timeoutMs} ms`);
    const reason = err instanceof Error ? err.message : String(err);
    return new HttpError(502, "upstream_unavailable", `the ${upstream} could not be reached: ${reason}`);
  };

  let res: Response;
  try {
    res = await fetch(url, { signal: controller.signal, headers: options.headers });
  } catch (err) {
    throw fail(err);
  }
  if (res.status !== 200) {
    const reading = options.errorAnswer?.(res);
    if (reading !== undefined) {
      let answer: HttpError;
      try {
        answer = await reading;
      } catch (err) {
        throw fail(err);
      }
      throw fail(answer);
    }
    void res.body?.cancel().catch(() => {});
    if (res.status === 404) throw fail(new HttpError(404, "not_found", `no blob ${key.hex} at the ${upstream}`));
    throw fail(new HttpError(502, "bad_upstream_status", `the ${upstream} answered ${res.status}`));
  }
  const headers = passedHeaders(res.headers, key);
  const declared = Number(res.headers.get("content-length") ?? NaN);
  const source = res.body;
  if (source === null || declared <= options.maxItemBytes) {
    // Small enough to hold: the whole body within the deadline.
    let body: Uint8Array;
    try {
      body = await res.bytes();
    } catch (err) {
      throw fail(err);
    }
    return verified(body);
  }
  const reader = source.getReader();
  const prefix: Uint8Array[] = [];
  if (!Number.isFinite(declared)) {
    // No Content-Length: read on as for a held blob, within the deadline, until it ends or outgrows one.
    let total = 0;
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (err) {
        throw fail(err);
      }
      if (next.done) return verified(concat(prefix, total));
      prefix.push(next.value);
      total += next.value.byteLength;
      if (total > options.maxItemBytes) break;
    }
  }
  // Too large to hold: from here on the stream bound takes over from the deadline.
  clearTimeout(timer);
  observe();
  const bound = streamBound(
    timeoutMs,
    options.minBytesPerSecond ?? DEFAULT_UPSTREAM_MIN_RATE,
    performance.now() - started,
  );
  const body = verifyingStream(reader, prefix, key, {
    bound,
    abort: () => controller.abort(),
    onMismatch: () => options.onStreamMismatch?.(key, upstream),
    onTooSlow: () => options.onStreamTooSlow?.(key, upstream),
  });
  const size = Number.isFinite(declared) ? declared : undefined;
  const length = size === undefined ? {} : { "content-length": String(size) };
  const response = new Response(body, { headers: { ...headers, ...length, "x-cache": "MISS" } });
  return { kind: "streamed", response, size };

  function verified(body: Uint8Array): HeldBlob {
    clearTimeout(timer);
    observe();
    if (!matchesKey(key, body)) {
      throw new HttpError(
        502,
        "bad_upstream_digest",
        `the ${upstream} sent ${body.byteLength} bytes that do not hash to ${key.hex}`,
      );
    }
    return heldBlob(body, headers);
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** GETs `key` from the CAS origin at base URL `origin`; see {@linkcode fetchBlob}. */
export function fetchFromOrigin(
  origin: string,
  key: BlobKey,
  options: Omit<FetchBlobOptions, "upstream">,
): Promise<FetchedBlob> {
  return fetchBlob(`${origin}/cas/${key.hex}`, key, { ...options, upstream: "origin" });
}

/** Builds a held blob with its two header sets (verification is the caller's job). */
export function heldBlob(body: Uint8Array, headers: Record<string, string>): HeldBlob {
  return {
    kind: "held",
    body: new Blob([body]),
    size: body.byteLength,
    // Headers objects rather than plain ones: a Response copies them natively instead of walking properties.
    hit: { headers: new Headers({ ...headers, "x-cache": "HIT" }) },
    miss: { headers: new Headers({ ...headers, "x-cache": "MISS" }) },
  };
}

function passedHeaders(from: Headers, key: BlobKey): Record<string, string> {
  const out: Record<string, string> = {
    "content-type": "application/octet-stream",
    etag: `"${key.hex}"`,
    "cache-control": "public, max-age=31536000, immutable",
  };
  for (const name of PASSED_HEADERS) {
    const value = from.get(name);
    if (value !== null) out[name] = value;
  }
  return out;
}

/** The part of a fetch body's reader the stream uses (Bun's and the DOM's reader types differ in the rest). */
interface BodyReader {
  read(): Promise<{ done: true; value?: undefined } | { done: false; value: Uint8Array }>;
  cancel(reason?: unknown): Promise<void>;
}

interface VerifyHooks {
  /** Paces the reads; a read that outlasts its allowance is aborted through `abort`. */
  bound: StreamBound;
  abort: () => void;
  onMismatch: () => void;
  onTooSlow: () => void;
}

/**
 * Passes `prefix` (chunks already read) and then the rest of `reader` through while hashing it. The latest
 * chunk is held back until the next one arrives, so a client never receives the whole of a blob that fails
 * verification: on a mismatch, a read that outlasts the bound or a broken upstream, the stream errors and the
 * connection is reset. (Erroring with `undefined` keeps Bun from printing a stack for it.)
 */
function verifyingStream(reader: BodyReader, prefix: Uint8Array[], key: BlobKey, hooks: VerifyHooks): ReadableStream {
  const hasher = hasherFor(key.algorithm);
  for (const chunk of prefix) hasher.update(chunk);
  // Everything but the last chunk read so far can go out on the first pull.
  const queued = prefix.slice(0, -1);
  let pending: Uint8Array | undefined = prefix.at(-1);
  return new ReadableStream<Uint8Array>(
    {
      // pull must enqueue, close or error before it returns, or the stream is never pulled again: so it reads
      // on past the first chunk, which is only held back.
      async pull(controller) {
        const first = queued.shift();
        if (first !== undefined) {
          controller.enqueue(first);
          return;
        }
        for (;;) {
          let chunk: Awaited<ReturnType<typeof reader.read>>;
          const allowance = hooks.bound.allowance();
          let late = false;
          const timer = setTimeout(
            () => {
              late = true;
              hooks.abort();
            },
            Math.max(0, allowance),
          );
          const started = performance.now();
          try {
            chunk = await reader.read();
          } catch {
            clearTimeout(timer);
            if (late) hooks.onTooSlow();
            controller.error(undefined);
            return;
          } finally {
            clearTimeout(timer);
          }
          hooks.bound.record(performance.now() - started, chunk.done ? 0 : chunk.value.byteLength);
          if (chunk.done) {
            if (hasher.digest("hex") !== key.hex) {
              hooks.onMismatch();
              controller.error(undefined);
              return;
            }
            if (pending !== undefined) controller.enqueue(pending);
            controller.close();
            return;
          }
          hasher.update(chunk.value);
          const previous = pending;
          pending = chunk.value;
          if (previous !== undefined) {
            controller.enqueue(previous);
            return;
          }
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
