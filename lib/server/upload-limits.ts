/**
 * Bounds on uploads, so that slow or stalled clients cannot hold sockets, temp files and descriptors for
 * long: a minimum average rate once a grace period is over (408), and a cap on uploads in flight (503 with
 * Retry-After). Both answers close the connection, so Bun stops reading the rest of the body.
 */
import { HttpError } from "../common/http-error.ts";

/** How long an upload may take before its average rate counts. */
export const DEFAULT_UPLOAD_GRACE_MS = 10_000;
/** The slowest average rate an upload may fall to after the grace period, bytes per second: 1 KiB/s. */
export const DEFAULT_UPLOAD_MIN_RATE = 1024;
/** Uploads in flight at once; more get 503. Each holds a socket and a temp file's descriptor. */
export const DEFAULT_MAX_UPLOADS = 256;
/** What Retry-After says to an upload refused for being one too many, in seconds. */
const RETRY_AFTER_SECONDS = 1;

export interface RateBoundOptions {
  /** Time before the rate counts. @default DEFAULT_UPLOAD_GRACE_MS */
  graceMs?: number;
  /** Bytes per second the upload must average; 0 turns the bound off. @default DEFAULT_UPLOAD_MIN_RATE */
  minBytesPerSecond?: number;
}

/**
 * The body's chunks, cut off with a 408 {@linkcode HttpError} `upload_too_slow` as soon as fewer than
 * `minBytesPerSecond * (elapsed - graceMs)` bytes have arrived: a stalled client is cut without sending
 * anything more, one timer per upload (re-armed only when it fires). Stopping early cancels the body.
 */
export async function* rateBounded(
  body: ReadableStream<Uint8Array>,
  options: RateBoundOptions = {},
): AsyncGenerator<Uint8Array> {
  const graceMs = options.graceMs ?? DEFAULT_UPLOAD_GRACE_MS;
  const minRate = options.minBytesPerSecond ?? DEFAULT_UPLOAD_MIN_RATE;
  const reader = body.getReader();
  const started = performance.now();
  let received = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let tooSlow: HttpError | undefined;
  // The latest moment by which the bytes so far are still enough: it moves on with every byte received.
  const dueBy = () => started + graceMs + (received * 1000) / minRate;
  const check = () => {
    const now = performance.now();
    if (now < dueBy()) {
      timer = setTimeout(check, dueBy() - now);
      return;
    }
    const took = `${received} bytes in ${Math.round(now - started)} ms`;
    const message = `the upload averaged under ${minRate} bytes/s after the first ${graceMs / 1000} s (${took})`;
    tooSlow = new HttpError(408, "upload_too_slow", message, { connection: "close" });
    // Ends the read in progress (as done), which the loop then reports as the error above.
    void reader.cancel(tooSlow).catch(() => {});
  };
  if (minRate > 0) timer = setTimeout(check, graceMs);
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (tooSlow !== undefined) throw tooSlow;
      if (next.done) {
        done = true;
        return;
      }
      received += next.value.byteLength;
      yield next.value;
    }
  } finally {
    clearTimeout(timer);
    // Stopped early (too large, a bad digest, the consumer failed): nothing more of this body is wanted.
    if (!done && tooSlow === undefined) void reader.cancel().catch(() => {});
  }
}

/** Counts uploads in flight against a cap. */
export interface UploadSlots {
  /** Takes a slot, or throws a 503 {@linkcode HttpError} `too_many_uploads` when all are taken. */
  take(): void;
  /** Gives a taken slot back. */
  release(): void;
  readonly inFlight: number;
}

/** Slots for `max` uploads at once; 0 means no cap. */
export function uploadSlots(max: number = DEFAULT_MAX_UPLOADS): UploadSlots {
  let inFlight = 0;
  return {
    take() {
      if (max > 0 && inFlight >= max) {
        throw new HttpError(503, "too_many_uploads", `${max} uploads are already in progress; retry shortly`, {
          "retry-after": String(RETRY_AFTER_SECONDS),
          connection: "close",
        });
      }
      inFlight++;
    },
    release() {
      inFlight--;
    },
    get inFlight() {
      return inFlight;
    },
  };
}
