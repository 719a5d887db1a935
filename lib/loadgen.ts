/**
 * The open-loop load generator: request i is due at start + i/rate whatever the responses do, and its latency runs
 * from that due time (no coordinated omission). First version on fetch; the raw-socket engine replaces it.
 */
import { constantPacer } from "./pacer.ts";

export interface Target {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Checks a 2xx response body; false makes the result an error "body does not match its key". */
  verify?: (body: Uint8Array) => boolean;
}

export interface ShotResult {
  seq: number;
  target: Target;
  /** Epoch milliseconds (sub-ms precision) when the request was due. */
  due: number;
  /** Epoch milliseconds when it actually went on the wire. */
  sent: number;
  /** Due time to response body fully read (or failure), including any wait for a free --max-inflight slot. */
  latencyNs: number;
  /** sent - due: the generator's own lag, to tell a slow generator from a slow server. */
  sendLagNs: number;
  /** 0 = no response. */
  status: number;
  bytesIn: number;
  bytesOut: number;
  /** vegeta-style text, e.g. "404 Not Found", "connection refused", "timeout". */
  error?: string;
}

export const DEFAULT_MAX_INFLIGHT = 256;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const VERIFY_ERROR = "body does not match its key";

export interface LoadOptions {
  /** Picks each request's target. */
  next: (seq: number) => Target;
  /** Requests per second; 0 = as fast as maxInflight allows. */
  rate: number;
  /** 0 = until signal. */
  durationMs: number;
  /** Requests beyond it wait, and the wait counts in their latency. @default 256 */
  maxInflight?: number;
  /** Per request, counted from its due time. @default 30000 */
  timeoutMs?: number;
  /** @default true */
  keepAlive?: boolean;
  /** Abort stops the attack; in-flight requests finish or time out. */
  signal?: AbortSignal;
  onResult: (r: ShotResult) => void;
}

export interface LoadSummary {
  /** Epoch milliseconds. */
  started: number;
  ended: number;
  requests: number;
  stoppedBy: "duration" | "signal";
}

export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  const maxInflight = options.maxInflight ?? DEFAULT_MAX_INFLIGHT;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pacer = constantPacer(options.rate, options.durationMs * 1e6);
  const startNs = Bun.nanoseconds();
  const startEpoch = performance.timeOrigin + performance.now();
  const epoch = (ns: number) => startEpoch + (ns - startNs) / 1e6;
  let seq = 0;
  let inflight = 0;
  const pending = new Set<Promise<void>>();
  let stoppedBy: LoadSummary["stoppedBy"] = "duration";

  async function shoot(i: number, dueNs: number): Promise<void> {
    const target = options.next(i);
    const sentNs = Bun.nanoseconds();
    let status = 0;
    let bytesIn = 0;
    let error: string | undefined;
    try {
      const res = await fetch(target.url, {
        method: target.method,
        headers: target.headers,
        body: target.body,
        keepalive: options.keepAlive ?? true,
        signal: AbortSignal.timeout(Math.max(1, timeoutMs - (sentNs - dueNs) / 1e6)),
      });
      status = res.status;
      const body = new Uint8Array(await res.arrayBuffer());
      bytesIn = body.length;
      if (status < 200 || status >= 400) error = `${status} ${res.statusText}`;
      else if (status < 300 && target.verify && !target.verify(body)) error = VERIFY_ERROR;
    } catch (e) {
      error = e instanceof Error && e.name === "TimeoutError" ? "timeout" : String((e as Error).message ?? e);
    }
    const endNs = Bun.nanoseconds();
    options.onResult({
      seq: i,
      target,
      due: epoch(dueNs),
      sent: epoch(sentNs),
      latencyNs: endNs - dueNs,
      sendLagNs: sentNs - dueNs,
      status,
      bytesIn,
      bytesOut: target.body?.length ?? 0,
      error,
    });
  }

  while (true) {
    if (options.signal?.aborted) {
      stoppedBy = "signal";
      break;
    }
    const elapsed = Bun.nanoseconds() - startNs;
    const { waitNs, stop } = pacer(elapsed, seq);
    if (stop) break;
    if (waitNs > 0 || inflight >= maxInflight) {
      await Bun.sleep(Math.max(1, waitNs / 1e6));
      continue;
    }
    inflight++;
    const p = shoot(seq++, startNs + elapsed + waitNs).finally(() => {
      inflight--;
      pending.delete(p);
    });
    pending.add(p);
  }
  await Promise.all(pending);
  return { started: startEpoch, ended: epoch(Bun.nanoseconds()), requests: seq, stoppedBy };
}
