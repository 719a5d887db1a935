/**
 * The open-loop load generator. Request i is due at start + i/rate whatever the responses do, and its latency runs
 * from that due time to the last body byte, so a stalled server shows in the percentiles instead of silently
 * slowing the sender (no coordinated omission). When `maxInflight` requests are out, later ones queue and the wait
 * counts in their latency; so does a timeout, which counts from the due time too. `sendLagNs` (due to on the wire)
 * minus `queueNs` (waiting for a slot or a connection) is the pacer's own lateness.
 *
 * Pacing: timers tick in whole milliseconds, so the loop sleeps on a timer until ~2 ms before a due time. Then,
 * with no response pending it blocks precisely (Atomics.wait plus a short spin); with responses pending it waits
 * for them or for a worker-thread wake-up ({@linkcode WakeTimer}) shortly before the due time, and spins through
 * the event loop (setImmediate) only for the last fraction of a millisecond. Every request already due is sent
 * at each turn, each measured from its own due time. HTTP goes over raw keep-alive sockets
 * ({@linkcode Http1Client}). The schedule is a constant rate or any {@linkcode Pacer} (a ramp, steps), whole or
 * one shard of it, started at once or at an agreed wall-clock time so that several generators start together.
 */
import { Http1Client, type Http1Response } from "./loadgen/http1-client.ts";
import { prepareRequest, type PreparedRequest } from "./loadgen/http1-request.ts";
import type { CacheStatus } from "./loadgen/http1-response.ts";
import { constantPacer, scheduleIndex, shardPacer, type Pacer, type Shard } from "./loadgen/pacer.ts";
import { tightenTimerSlack } from "./loadgen/timer-slack.ts";
import { WakeTimer } from "./loadgen/wake-timer.ts";

export interface Target {
  /** What reports group the target's results under (per-target figures). @default `${method} ${url}` */
  name?: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Checks a 2xx response body; false makes the result an error "body does not match its key". */
  verify?: (body: Uint8Array) => boolean;
}

export interface ShotResult {
  /** The request's index in the schedule (with a shard, in the whole schedule, not only this shard's part). */
  seq: number;
  target: Target;
  /** Epoch milliseconds (sub-ms precision) when the request was due. */
  due: number;
  /** Epoch milliseconds when it actually went on the wire (for one that never did, when it was given up). */
  sent: number;
  /** Due time to response body fully read (or failure), including any wait for a free --max-inflight slot. */
  latencyNs: number;
  /** sent - due: how late the request went out. */
  sendLagNs: number;
  /**
   * The part of sendLagNs spent waiting for a free maxInflight slot or connection (connect time included):
   * back-pressure, from a slow server or from a generator too busy to read responses (check its CPU).
   * `sendLagNs - queueNs` is the pacer's own lateness. Always set by runLoad.
   */
  queueNs?: number;
  /**
   * The part of queueNs spent waiting for a free maxInflight slot: 0 when one was free at its due time. A request
   * that waited is a generator-side limit (too few slots for the rate and latency; k6 counts such iterations as
   * dropped), apart from the target's own latency. Always set by runLoad.
   */
  slotWaitNs?: number;
  /** 0 = no response. */
  status: number;
  bytesIn: number;
  bytesOut: number;
  /** vegeta-style text, e.g. "404 Not Found", "connection refused", "timeout". */
  error?: string;
  /** The response's `X-Cache` verdict (see {@linkcode Http1Response.cache}); absent when it had none. */
  cache?: CacheStatus;
}

export const DEFAULT_MAX_INFLIGHT = 256;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const VERIFY_ERROR = "body does not match its key";

export interface LoadOptions {
  /** Picks each request's target, by its index in the schedule. */
  next: (seq: number) => Target;
  /** Requests per second; 0 = as fast as maxInflight allows. Ignored when `pacer` is given. */
  rate: number;
  /** 0 = until signal. Ignored when `pacer` is given: the pacer's own end stops the attack. */
  durationMs: number;
  /** A schedule other than a constant rate: a ramp or steps (lib/loadgen/pacer.ts). @default constantPacer(rate, durationMs) */
  pacer?: Pacer;
  /** Send only this shard's part of the schedule (every count-th request from index); needs a paced schedule. */
  shard?: Shard;
  /**
   * Epoch ms at which the schedule starts (so that several generators start together): the run waits for it
   * without spinning. A run that starts late starts its schedule late, so the lateness shows as
   * {@linkcode LoadSummary.startOffsetNs} rather than in every request's latency.
   */
  startAt?: number;
  /** Requests beyond it wait, and the wait counts in their latency. @default 256 */
  maxInflight?: number;
  /** Per request, counted from its due time (a request still queued then fails without going out); 0 = none. @default 30000 */
  timeoutMs?: number;
  /** @default true */
  keepAlive?: boolean;
  /** Abort stops the attack; requests already due (in flight or queued) finish or time out. */
  signal?: AbortSignal;
  /** Accept any TLS certificate. @default false */
  insecure?: boolean;
  /**
   * The connection pool to send on, left open at the end: a warm-up's, so that the schedule starts on connections
   * already open. `keepAlive` and `insecure` are then the pool's. @default a pool of the run's own, closed after it
   */
  client?: Http1Client;
  onResult: (r: ShotResult) => void;
}

export interface LoadSummary {
  /** Epoch milliseconds: the schedule's start (the first request's due time). */
  started: number;
  /** With `startAt`: how much later than it the schedule started, ns (0 or a few µs on time). */
  startOffsetNs?: number;
  ended: number;
  requests: number;
  stoppedBy: "duration" | "signal";
}

/** One request from its due time on. */
interface Shot {
  seq: number;
  target: Target;
  request: PreparedRequest;
  dueNs: number;
  /** When the pacer handed it over: dispatchNs - dueNs is the generator's own lag. */
  dispatchNs: number;
  /** When it got a maxInflight slot (or was given up waiting for one): dispatchNs unless it queued. */
  slotNs: number;
  deadlineNs: number;
}

/** Below this wait a timer is too coarse (1 ms ticks, often 0.1-0.7 ms late): block or spin instead. */
const TIMER_MARGIN_NS = 2.6e6;
/** Atomics.wait wakes 0.02-0.05 ms late with the timer slack tightened: wait until this long before due, then spin. */
const SPIN_NS = 30e3;
/**
 * A worker's wake-up lands ~0.1 ms late (timer slack tightened): ask for one this early, and only for waits
 * longer than twice that.
 */
const WAKE_EARLY_NS = 150e3;
/** How often queued requests are checked against their deadline. */
const QUEUE_SWEEP_MS = 10;

/**
 * Runs one attack: calls `next` for each request as it falls due, reports every request exactly once through
 * `onResult`, and resolves once the duration (or the signal) has ended sending and every request due by then has
 * finished or timed out. Rejects with whatever `next` or `onResult` throws, after in-flight requests settle.
 */
export function runLoad(options: LoadOptions): Promise<LoadSummary> {
  const { rate, durationMs, onResult, signal } = options;
  const maxInflight = options.maxInflight ?? DEFAULT_MAX_INFLIGHT;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const keepAlive = options.keepAlive ?? true;
  if (!(durationMs >= 0) || !Number.isFinite(durationMs)) {
    throw new RangeError(`'durationMs' must be a finite number of at least 0, got ${durationMs}`);
  }
  if (!Number.isInteger(maxInflight) || maxInflight < 1) {
    throw new RangeError(`'maxInflight' must be a positive integer, got ${maxInflight}`);
  }
  if (!(timeoutMs >= 0)) throw new RangeError(`'timeoutMs' must be at least 0, got ${timeoutMs}`);
  const unpaced = options.pacer === undefined && rate === 0;
  const shard = options.shard ?? { index: 0, count: 1 };
  if (unpaced && shard.count > 1) throw new RangeError("A shard needs a paced schedule, not rate 0");
  if (options.startAt !== undefined && !Number.isFinite(options.startAt)) {
    throw new RangeError(`'startAt' must be a finite epoch time in ms, got ${options.startAt}`);
  }
  const pacer = shardPacer(options.pacer ?? constantPacer(rate, durationMs * 1e6), shard);
  const timeoutNs = timeoutMs === 0 ? Infinity : timeoutMs * 1e6;
  const client = options.client ?? new Http1Client({ keepAlive, insecure: options.insecure ?? false });
  const prepared = new WeakMap<Target, PreparedRequest | Error>();
  const waitCell = new Int32Array(new SharedArrayBuffer(4));
  const wake = new WakeTimer(() => pump());
  tightenTimerSlack();

  // set when the schedule starts (at once, or at startAt)
  let startNs = Bun.nanoseconds();
  let startEpoch = performance.timeOrigin + performance.now();
  let startOffsetNs: number | undefined;
  let startTimer: Timer | undefined;
  const epoch = (ns: number) => startEpoch + (ns - startNs) / 1e6;

  let seq = 0;
  let inflight = 0;
  let queue: Shot[] = [];
  let queueHead = 0;
  let sendingDone = false;
  let settled = false;
  let stoppedBy: LoadSummary["stoppedBy"] = "duration";
  let failure: { error: unknown } | undefined;
  let timer: Timer | undefined;
  let immediate: ReturnType<typeof setImmediate> | undefined;
  /** When the next request is due, once pump has scheduled itself for it. */
  let nextDueNs = Infinity;
  let endTimer: Timer | undefined;
  let queueSweeper: Timer | undefined;
  let resolveRun: (summary: LoadSummary) => void = () => {};
  let rejectRun: (error: unknown) => void = () => {};

  /**
   * Sends what is due and schedules the next look; safe to call at any time. A pending setImmediate look is kept
   * (it comes soonest, and dropping and re-adding one per response showed in profiles); a timer is replaced.
   */
  function pump(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    let fired = 0;
    while (!sendingDone) {
      const now = Bun.nanoseconds();
      const { waitNs, stop } = pacer(now - startNs, seq);
      if (stop) {
        endSending("duration");
        return;
      }
      if (unpaced) {
        // unpaced: keep maxInflight requests out; completions call pump again
        if (inflight + queue.length - queueHead >= maxInflight) return;
        if (++fired > maxInflight) {
          // requests failing at once (a bad URL) must not starve the event loop
          immediate ??= setImmediate(onImmediate);
          return;
        }
        fire(now, now);
        continue;
      }
      if (waitNs <= 0) {
        fire(now + waitNs, now);
        continue;
      }
      nextDueNs = now + waitNs;
      if (immediate !== undefined) return; // it will look again in a moment
      if (waitNs >= TIMER_MARGIN_NS) {
        timer = setTimeout(pump, Math.floor((waitNs - TIMER_MARGIN_NS) / 1e6) + 1); // wakes 1.6-2.6 ms early
        return;
      }
      if (inflight === 0) {
        blockUntil(now + waitNs); // nothing to read meanwhile, so blocking costs no latency
        continue;
      }
      if (waitNs > 2 * WAKE_EARLY_NS) {
        wake.setBy(epoch(now + waitNs - WAKE_EARLY_NS));
        return;
      }
      // close to the due time with responses pending: a worker's wake-up would come too late, so spin through
      // the event loop (reading responses at each turn); at high rates this is where the generator lives
      immediate = setImmediate(onImmediate);
      return;
    }
  }

  function onImmediate(): void {
    immediate = undefined;
    pump();
  }

  function blockUntil(dueNs: number): void {
    const sleepNs = dueNs - Bun.nanoseconds() - SPIN_NS;
    if (sleepNs > 0) Atomics.wait(waitCell, 0, 0, sleepNs / 1e6);
    while (Bun.nanoseconds() < dueNs);
  }

  function fire(dueNs: number, now: number): void {
    const shotSeq = scheduleIndex(shard, seq++);
    let target: Target;
    try {
      target = options.next(shotSeq);
    } catch (error) {
      seq--;
      fail(error);
      return;
    }
    let request = prepared.get(target);
    if (request === undefined) {
      try {
        request = prepareRequest(target.method, target.url, { headers: target.headers, body: target.body, keepAlive });
      } catch (error) {
        request = error instanceof Error ? error : new Error(String(error));
      }
      prepared.set(target, request);
    }
    if (request instanceof Error) {
      report({ seq: shotSeq, target, dueNs, dispatchNs: now, slotNs: now }, now, now, 0, 0, request.message);
      return;
    }
    // one literal, not spreads: this runs for every request
    const shot: Shot = {
      seq: shotSeq,
      target,
      request,
      dueNs,
      dispatchNs: now,
      slotNs: now,
      deadlineNs: dueNs + timeoutNs,
    };
    if (inflight < maxInflight) send(shot);
    else {
      queue.push(shot);
      // only a queue has deadlines to sweep; an idle interval timer would wake the process for nothing
      queueSweeper ??= setInterval(expireQueued, QUEUE_SWEEP_MS);
    }
  }

  function send(shot: Shot): void {
    inflight++;
    client.request(shot.request, (response) => onResponse(shot, response), shot.deadlineNs, !!shot.target.verify);
  }

  function onResponse(shot: Shot, response: Http1Response): void {
    inflight--;
    const { status } = response;
    let error = response.error;
    if (error === undefined) {
      if (status < 200 || status >= 400) error = `${status} ${response.statusText}`.trimEnd();
      else if (status < 300 && shot.target.verify && !verifies(shot.target.verify, response.body)) error = VERIFY_ERROR;
    }
    const sentNs = response.sentNs === 0 ? response.endNs : response.sentNs;
    report(shot, sentNs, response.endNs, status, response.bytesIn, error, response.cache);
    const now = Bun.nanoseconds();
    while (inflight < maxInflight && queueHead < queue.length) {
      const next = takeQueued();
      if (next.deadlineNs <= now) report(next, now, now, 0, 0, "timeout");
      else send(next);
    }
    if (unpaced && !sendingDone && immediate === undefined) pump();
    // a burst of responses can hold the event loop for a while: send what fell due meanwhile from here
    else if (!unpaced && !sendingDone && now >= nextDueNs) pump();
    // nothing left to read and the next request due soon: block until it (a cheap sleep) rather than wait for the
    // worker's wake-up and spin the rest of the way. The pending wake-up moves on to the request after it, which
    // is what sending this one would arm: moving it later needs no cross-thread notification, cancelling and
    // re-arming would need one.
    else if (!unpaced && !sendingDone && inflight === 0 && nextDueNs - now < TIMER_MARGIN_NS) {
      const after = pacer(now - startNs, seq + 1);
      if (!after.stop && after.waitNs < TIMER_MARGIN_NS && after.waitNs > 2 * WAKE_EARLY_NS) {
        wake.set(epoch(now + after.waitNs - WAKE_EARLY_NS));
      } else wake.cancel();
      pump();
    }
    settleIfDone();
  }

  function verifies(verify: (body: Uint8Array) => boolean, body: Uint8Array | undefined): boolean {
    try {
      return verify(body ?? new Uint8Array(0));
    } catch {
      return false;
    }
  }

  function takeQueued(): Shot {
    const shot = queue[queueHead]!;
    shot.slotNs = Bun.nanoseconds();
    queueHead++;
    if (queueHead > 1024 && queueHead * 2 > queue.length) {
      queue = queue.slice(queueHead);
      queueHead = 0;
    }
    return shot;
  }

  function expireQueued(): void {
    const now = Bun.nanoseconds();
    // deadlines grow with the due time, so expired ones sit at the head
    while (queueHead < queue.length && queue[queueHead]!.deadlineNs <= now) {
      const shot = takeQueued();
      report(shot, now, now, 0, 0, "timeout");
    }
    if (queueHead >= queue.length) {
      clearInterval(queueSweeper);
      queueSweeper = undefined;
    }
    settleIfDone();
  }

  /** `sentNs` is when the request was written, or when it was given up if it never was. */
  function report(
    shot: Pick<Shot, "seq" | "target" | "dueNs" | "dispatchNs" | "slotNs">,
    sentNs: number,
    endNs: number,
    status: number,
    bytesIn: number,
    error: string | undefined,
    cache?: CacheStatus,
  ): void {
    const { target, dueNs } = shot;
    const result: ShotResult = {
      seq: shot.seq,
      target,
      due: epoch(dueNs),
      sent: epoch(sentNs),
      latencyNs: endNs - dueNs,
      sendLagNs: sentNs - dueNs,
      queueNs: Math.max(0, sentNs - shot.dispatchNs),
      slotWaitNs: Math.max(0, shot.slotNs - shot.dispatchNs),
      status,
      bytesIn,
      bytesOut: target.body?.length ?? 0,
    };
    if (error !== undefined) result.error = error;
    if (cache !== undefined) result.cache = cache;
    try {
      onResult(result);
    } catch (e) {
      fail(e);
    }
  }

  function fail(error: unknown): void {
    failure ??= { error };
    endSending(stoppedBy);
  }

  function endSending(reason: LoadSummary["stoppedBy"]): void {
    if (sendingDone) return;
    sendingDone = true;
    stoppedBy = reason;
    if (timer !== undefined) clearTimeout(timer);
    if (immediate !== undefined) clearImmediate(immediate);
    if (endTimer !== undefined) clearTimeout(endTimer);
    if (startTimer !== undefined) clearTimeout(startTimer);
    timer = immediate = endTimer = startTimer = undefined;
    wake.close();
    settleIfDone();
  }

  function onAbort(): void {
    endSending("signal");
  }

  function settleIfDone(): void {
    if (settled || !sendingDone || inflight > 0 || queueHead < queue.length) return;
    settled = true;
    clearInterval(queueSweeper);
    signal?.removeEventListener("abort", onAbort);
    if (options.client === undefined) client.close();
    if (failure !== undefined) rejectRun(failure.error);
    else {
      const summary: LoadSummary = { started: startEpoch, ended: epoch(Bun.nanoseconds()), requests: seq, stoppedBy };
      if (startOffsetNs !== undefined) summary.startOffsetNs = startOffsetNs;
      resolveRun(summary);
    }
  }

  function begin(): void {
    // unpaced runs are driven by completions, so a timer has to end them
    if (unpaced && durationMs > 0) endTimer = setTimeout(pump, durationMs);
    pump();
  }

  /** Sleeps on timers until just before `startAt`, blocks the rest of the way, then starts the schedule. */
  function waitForStart(startAt: number): void {
    const targetNs = Bun.nanoseconds() + (startAt - (performance.timeOrigin + performance.now())) * 1e6;
    const look = () => {
      startTimer = undefined;
      const waitNs = targetNs - Bun.nanoseconds();
      if (waitNs >= TIMER_MARGIN_NS) {
        startTimer = setTimeout(look, Math.floor((waitNs - TIMER_MARGIN_NS) / 1e6) + 1);
        return;
      }
      if (waitNs > 0) blockUntil(targetNs);
      startNs = Bun.nanoseconds();
      startOffsetNs = Math.max(0, startNs - targetNs);
      startEpoch = startAt + startOffsetNs / 1e6;
      begin();
    };
    look();
  }

  return new Promise<LoadSummary>((resolve, reject) => {
    resolveRun = resolve;
    rejectRun = reject;
    if (signal?.aborted) {
      endSending("signal");
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    if (options.startAt === undefined) begin();
    else waitForStart(options.startAt);
  });
}
