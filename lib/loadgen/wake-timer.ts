/**
 * A one-shot wake-up finer than the event loop's whole-millisecond timers, without spinning: a worker thread
 * sleeps on Atomics.wait and posts a message at the instant. The message lands typically 0.1-0.2 ms late, so
 * callers aim early. One pending wake-up at a time; setting it again re-arms. The worker holds no process open.
 * Waking the worker (Atomics.notify) costs a context switch on a busy core, so moving a pending wake-up later
 * and cancelling one do without it: the worker wakes at the earlier time, sees the change and sleeps again.
 */

import { TIGHTEN_TIMER_SLACK_SOURCE } from "./timer-slack.ts";

// The worker: sleep until the target (re-reading it whenever the generation changes), then record and post the
// generation. A target of 0 means disarmed, -1 means exit.
const WORKER_SOURCE = `${TIGHTEN_TIMER_SLACK_SOURCE}
onmessage = (event) => {
  const cell = new Int32Array(event.data, 0, 1);
  const posted = new Int32Array(event.data, 4, 1);
  const at = new Float64Array(event.data, 8, 1);
  for (;;) {
    const generation = Atomics.load(cell, 0);
    const target = at[0];
    if (target === -1) break;
    if (target === 0) { Atomics.wait(cell, 0, generation); continue; }
    const wait = target - (performance.timeOrigin + performance.now());
    if (wait > 0 && Atomics.wait(cell, 0, generation, wait) !== "timed-out") continue;
    if (Atomics.load(cell, 0) !== generation) continue;
    Atomics.store(posted, 0, generation);
    postMessage(generation);
    Atomics.wait(cell, 0, generation);
  }
  close();
};
`;

let workerUrl: string | undefined;

/** The clock both threads share: epoch milliseconds with sub-millisecond precision. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

export class WakeTimer {
  #callback: () => void;
  #worker: Worker | undefined;
  /**
   * Shared with the worker: the generation (bumped on every change), the last generation it posted, and the
   * target time.
   */
  #cell: Int32Array<ArrayBufferLike> = new Int32Array(0);
  #posted: Int32Array<ArrayBufferLike> = new Int32Array(0);
  #at: Float64Array<ArrayBufferLike> = new Float64Array(0);
  /** Generation of the pending wake-up, or 0 when none is pending. */
  #pending = 0;
  #target = 0;

  constructor(callback: () => void) {
    this.#callback = callback;
  }

  /** Calls back once at `epochMs` (the {@linkcode epochNow} clock), or as soon as it can if that has passed. */
  set(epochMs: number): void {
    this.#start();
    const target = Math.max(epochMs, 1);
    // A pending wake-up not yet posted comes no later than this one: the worker is asleep until then (or about
    // to post, and will then see the new generation), so it re-reads the target by itself. Otherwise wake it.
    const wakesItself = this.#pending !== 0 && this.#target <= target;
    this.#target = target;
    this.#at[0] = target;
    const previous = this.#pending;
    this.#pending = Atomics.add(this.#cell, 0, 1) + 1;
    // read after the generation changed: a worker that posts from now on sees the change and does not park
    if (!wakesItself || Atomics.load(this.#posted, 0) === previous) Atomics.notify(this.#cell, 0);
  }

  /**
   * Makes sure of a wake-up no later than `epochMs`: keeps a pending one that comes earlier (re-arming costs a
   * system call; an early wake-up only costs the callback a look at the clock).
   */
  setBy(epochMs: number): void {
    if (this.#pending !== 0 && this.#target <= epochMs) return;
    this.set(epochMs);
  }

  /**
   * Drops the pending wake-up, if any. The worker is not woken for it: asleep, it wakes at the old time, finds
   * nothing to do and sleeps on; parked after posting, it stays parked.
   */
  cancel(): void {
    if (this.#pending === 0) return;
    this.#pending = 0;
    this.#at[0] = 0;
    Atomics.add(this.#cell, 0, 1);
  }

  /** Cancels and ends the worker; a later set() starts a new one. */
  close(): void {
    if (this.#worker === undefined) return;
    this.#pending = 0;
    // the exiting worker keeps its own buffer; a new one gets a fresh buffer
    this.#at[0] = -1;
    Atomics.add(this.#cell, 0, 1);
    Atomics.notify(this.#cell, 0);
    this.#worker = undefined;
  }

  #start(): void {
    if (this.#worker !== undefined) return;
    // one URL for every worker, never revoked: revoking one while another worker starts breaks that worker
    workerUrl ??= URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
    const worker = new Worker(workerUrl);
    worker.unref();
    const shared = new SharedArrayBuffer(16);
    this.#cell = new Int32Array(shared, 0, 1);
    this.#posted = new Int32Array(shared, 4, 1);
    this.#at = new Float64Array(shared, 8, 1);
    worker.onmessage = (event: MessageEvent<number>) => {
      // a wake-up cancelled or re-armed after the worker posted it is stale
      if (event.data !== this.#pending || worker !== this.#worker) return;
      this.#pending = 0;
      this.#callback();
    };
    worker.postMessage(shared);
    this.#worker = worker;
  }
}
