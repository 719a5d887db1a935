/**
 * Pacing as a pure function, vegeta style: given the time since the attack started and how many requests went
 * out, say how long until the next one is due and whether the attack is over. No clock inside, so tables test it.
 * Shapes: a constant rate, a linear ramp, steps; and one shard's part of any of them.
 */

/**
 * `elapsedNs` since the start, `sent` requests so far (the next one has index `sent`). `waitNs` is the time until
 * that request is due: negative when it is already late (a sender waits max(0, waitNs) and still knows the due time
 * as elapsedNs + waitNs, so a late request is measured from when it was due). `stop` ends the attack.
 */
export type Pacer = (elapsedNs: number, sent: number) => { waitNs: number; stop: boolean };

/**
 * Request i is due at i/perSecond seconds. With a duration, the attack stops before the first request due at or
 * after it, so exactly ceil(perSecond × duration) requests go out (10/s for 1 s: due at 0, 0.1, ..., 0.9 s).
 * `perSecond` 0 means unpaced: every request is due at once (waitNs 0) and only the duration stops the attack,
 * once elapsedNs reaches it. A due time too far out to represent (a rate near zero) stops the attack.
 * `durationNs` 0 or absent means no end. Throws RangeError for a negative, NaN or infinite rate or duration.
 */
export function constantPacer(perSecond: number, durationNs = 0): Pacer {
  if (!(perSecond >= 0) || !Number.isFinite(perSecond)) {
    throw new RangeError(`Rate must be a finite number of requests per second of at least 0, got ${perSecond}`);
  }
  if (!(durationNs >= 0) || !Number.isFinite(durationNs)) {
    throw new RangeError(`Duration must be a finite number of nanoseconds of at least 0, got ${durationNs}`);
  }
  const end = durationNs === 0 ? Infinity : durationNs;
  if (perSecond === 0) {
    return (elapsedNs) => ({ waitNs: 0, stop: elapsedNs >= end });
  }
  // A hair of tolerance so that float noise in a fractional rate (1/60 per second) cannot add a request at the end.
  const stopAt = end * (1 - 1e-12);
  return (elapsedNs, sent) => {
    const dueNs = (sent * 1e9) / perSecond; // not sent × interval: 3 × (1e9/3) falls short of 1e9
    if (!Number.isFinite(dueNs) || dueNs >= stopAt) return { waitNs: 0, stop: true };
    return { waitNs: dueNs - elapsedNs, stop: false };
  };
}

/**
 * A linear ramp from `fromPerSecond` to `toPerSecond` over `durationNs`: the rate at elapsed time t is
 * from + (to - from)·t/duration, so request i is due when the ramp's cumulative count from·t + k·t²/2 reaches i
 * (k the rate's slope). Exactly ceil((from + to)/2 × duration) requests go out (100..2000/s over 10 s: 10,500).
 * Either end may be 0, not both. Throws RangeError for a bad rate or a duration that is not positive and finite.
 */
export function rampPacer(fromPerSecond: number, toPerSecond: number, durationNs: number): Pacer {
  for (const rate of [fromPerSecond, toPerSecond]) {
    if (!(rate >= 0) || !Number.isFinite(rate)) {
      throw new RangeError(`Rate must be a finite number of requests per second of at least 0, got ${rate}`);
    }
  }
  if (fromPerSecond === 0 && toPerSecond === 0) throw new RangeError("A ramp needs a rate above 0 at one end at least");
  if (!(durationNs > 0) || !Number.isFinite(durationNs)) {
    throw new RangeError(`A ramp's duration must be a positive finite number of nanoseconds, got ${durationNs}`);
  }
  const seconds = durationNs / 1e9;
  const slope = (toPerSecond - fromPerSecond) / seconds; // requests per second, per second
  const stopAt = durationNs * (1 - 1e-12);
  return (elapsedNs, sent) => {
    // the root of from·t + slope·t²/2 = sent written as 2·sent / (from + sqrt(...)): no cancellation when slope ~ 0
    const discriminant = fromPerSecond * fromPerSecond + 2 * slope * sent;
    if (!(discriminant >= 0)) return { waitNs: 0, stop: true }; // a ramp down has ended before this request
    const dueNs = sent === 0 ? 0 : (2 * sent * 1e9) / (fromPerSecond + Math.sqrt(discriminant));
    if (!Number.isFinite(dueNs) || dueNs >= stopAt) return { waitNs: 0, stop: true };
    return { waitNs: dueNs - elapsedNs, stop: false };
  };
}

/**
 * Steps of constant rate, each `stepNs` long: step j runs at `ratesPerSecond[j]` from j·stepNs on, with its first
 * request due at its start and exactly ceil(rate × step) requests, as {@linkcode constantPacer} would send them
 * alone; the attack stops after the last step. Throws RangeError for no rates, a rate not above 0, or a step that
 * is not positive and finite.
 */
export function stepsPacer(ratesPerSecond: readonly number[], stepNs: number): Pacer {
  if (ratesPerSecond.length === 0) throw new RangeError("Steps need at least one rate");
  for (const rate of ratesPerSecond) {
    if (!(rate > 0) || !Number.isFinite(rate)) {
      throw new RangeError(`A step's rate must be a finite number of requests per second above 0, got ${rate}`);
    }
  }
  if (!(stepNs > 0) || !Number.isFinite(stepNs)) {
    throw new RangeError(`A step's duration must be a positive finite number of nanoseconds, got ${stepNs}`);
  }
  const rates = [...ratesPerSecond];
  // firsts[j]: index of step j's first request; firsts[rates.length]: how many requests there are in all
  const firsts = [0];
  for (const rate of rates) firsts.push(firsts[firsts.length - 1]! + stepRequests(rate, stepNs));
  const total = firsts[rates.length]!;
  return (elapsedNs, sent) => {
    if (!(sent < total)) return { waitNs: 0, stop: true };
    const j = lastAtOrBelow(firsts, sent);
    const dueNs = j * stepNs + ((sent - firsts[j]!) * 1e9) / rates[j]!;
    return { waitNs: dueNs - elapsedNs, stop: false };
  };
}

/** Requests due within one step at `perSecond`: those due before its end, with constantPacer's float tolerance. */
function stepRequests(perSecond: number, stepNs: number): number {
  return Math.ceil(((perSecond * stepNs) / 1e9) * (1 - 1e-12));
}

/** The last index whose value is at most `value`, in an ascending list that starts at or below it. */
function lastAtOrBelow(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (sorted[mid]! <= value) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** One of `count` generators that share one schedule: `index` is 0-based. */
export interface Shard {
  index: number;
  count: number;
}

/**
 * This shard's part of `pacer`'s schedule: every `count`-th request from `index` on, each due when the whole
 * schedule has it due, so `count` shards started together send exactly the requests of one generator. Its
 * `sent`-th request is the schedule's {@linkcode scheduleIndex}. Throws RangeError for a bad shard.
 */
export function shardPacer(pacer: Pacer, shard: Shard): Pacer {
  checkShard(shard);
  if (shard.count === 1) return pacer;
  return (elapsedNs, sent) => pacer(elapsedNs, scheduleIndex(shard, sent));
}

/** Where a shard's `sent`-th request sits in the whole schedule. */
export function scheduleIndex(shard: Shard, sent: number): number {
  return shard.index + sent * shard.count;
}

function checkShard({ index, count }: Shard): void {
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`A shard count must be a positive integer, got ${count}`);
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new RangeError(`A shard index must be an integer from 0 to ${count - 1}, got ${index}`);
  }
}
