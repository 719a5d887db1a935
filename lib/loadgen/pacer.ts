/**
 * Pacing as a pure function, vegeta style: given the time since the attack started and how many requests went
 * out, say how long until the next one is due and whether the attack is over. No clock inside, so tables test it.
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
