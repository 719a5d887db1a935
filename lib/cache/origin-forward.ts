/**
 * What the cache hands to the origin as it is instead of caching: reads of action-cache entries (mutable, so
 * never held) and uploads of both kinds (the origin verifies and stores them), so that a build tool needs only
 * the cache's URL. Bodies stream through both ways, neither held nor verified here; `timeoutMs` bounds the wait
 * for the origin's answer and each gap in which the origin reads or sends nothing, as for streamed blobs.
 */
import { errorResponse } from "../common/http-error.ts";

/** Request headers the origin needs to judge an upload or a conditional read; nothing hop-by-hop. */
const REQUEST_HEADERS = ["authorization", "content-type", "content-length", "if-none-match"] as const;
/** Headers of the origin's answer that the client gets. */
const RESPONSE_HEADERS = [
  "content-type",
  "content-length",
  "etag",
  "cache-control",
  "last-modified",
  "location",
  "www-authenticate",
  "allow",
] as const;

export interface ForwardOptions {
  /** Longest wait for the origin: to its answer once the body is sent, and between chunks either way. */
  timeoutMs: number;
}

/**
 * Sends `req` (method, the headers above, body) to `url` and streams the origin's answer back: its status and
 * body as they are, except a 5xx other than 507 (full store), which is `502 bad_upstream_status`. Failures
 * before the answer: `504 upstream_timeout`, `502 upstream_unavailable`, or `400 aborted` when the client's
 * own body broke off. A stall after the answer has begun breaks the connection off.
 */
export async function forwardToOrigin(req: Request, url: string, options: ForwardOptions): Promise<Response> {
  const { timeoutMs } = options;
  const controller = new AbortController();
  let timedOut = false;
  let clientFailed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
  };
  const disarm = () => clearTimeout(timer);

  const headers: Record<string, string> = {};
  for (const name of REQUEST_HEADERS) {
    const value = req.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  // Repeated Content-Length headers reach us joined ("4, 4"), which fetch refuses to send: the body then
  // goes chunked, and the origin counts it as it does any upload of unknown length.
  if (headers["content-length"] !== undefined && !/^\d+$/.test(headers["content-length"])) {
    delete headers["content-length"];
  }
  const sendsBody = req.method !== "GET" && req.method !== "HEAD" && req.body !== null;
  // The clock runs only while the origin owes us something: waiting on a slow client is Bun's idleTimeout's job.
  const body = sendsBody
    ? relay(req.body!, {
        beforeRead: disarm,
        afterRead: arm,
        onError: () => (clientFailed = true),
      })
    : undefined;
  arm();
  let res: Response;
  try {
    res = await fetch(url, { method: req.method, headers, body, signal: controller.signal });
  } catch (err) {
    disarm();
    if (clientFailed) return errorResponse(400, "aborted", "the client's body broke off");
    if (timedOut) return errorResponse(504, "upstream_timeout", `the origin did not answer within ${timeoutMs} ms`);
    const reason = err instanceof Error ? err.message : String(err);
    return errorResponse(502, "upstream_unavailable", `the origin could not be reached: ${reason}`);
  }
  disarm();
  if (res.status >= 500 && res.status !== 507) {
    void res.body?.cancel().catch(() => {});
    return errorResponse(502, "bad_upstream_status", `the origin answered ${res.status}`);
  }
  const passed = new Headers();
  for (const name of RESPONSE_HEADERS) {
    const value = res.headers.get(name);
    if (value !== null) passed.set(name, value);
  }
  const answer = res.body === null ? null : relay(res.body, { beforeRead: arm, afterRead: disarm });
  return new Response(answer, { status: res.status, headers: passed });
}

interface RelayHooks {
  beforeRead: () => void;
  afterRead: () => void;
  onError?: () => void;
}

/**
 * Passes `source` through chunk by chunk, calling the hooks around each read. A failed read errors the stream
 * (with `undefined`, which keeps Bun from printing a stack for it), so the other side sees the break.
 */
function relay(source: ReadableStream<Uint8Array>, hooks: RelayHooks): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        hooks.beforeRead();
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch {
          hooks.onError?.();
          controller.error(undefined);
          return;
        }
        hooks.afterRead();
        if (chunk.done) controller.close();
        else controller.enqueue(chunk.value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
