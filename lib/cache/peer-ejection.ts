/**
 * Outlier ejection for cache peers: a peer whose fetch has just failed is passed over for a while and the keys it
 * owns are loaded from the origin directly. A peer cut off by the network answers nothing, so every miss that
 * asks it waits out the whole miss deadline and fails; ejected, it costs one wave of such misses, not one per
 * miss until the peer set drops it (a DNS refresh, or a readiness probe that takes half a minute to give up).
 * Once the ejection time is up, one miss at a time asks it again (a circuit breaker's half-open state): an answer
 * takes it back, a failure ejects it again, and meanwhile the other misses still go to the origin.
 */

/** How long a failed peer is passed over by default: as long as a DNS peer set takes to be looked up again. */
export const DEFAULT_PEER_EJECTION_MS = 5_000;

export interface PeerEjection {
  /**
   * Whether a miss may ask `peer` now: always for a peer in good standing, never while it is ejected, and after
   * the ejection time for one miss at a time (the next one after another ejection time, should that one never
   * be heard of again).
   */
  ask(peer: string): boolean;
  /**
   * `peer` failed itself: a peer in good standing or on probation is ejected from now on; a failure while it is
   * ejected (a miss that asked it before) changes nothing. True when it was in good standing until now.
   */
  failed(peer: string): boolean;
  /** `peer` answered (a blob, or its verdict on the origin): it is in good standing again. */
  answered(peer: string): void;
  /** The peers ejected or on probation right now. */
  ejected(): string[];
  /** Ejections so far, each failed probe included. */
  readonly total: number;
}

export interface PeerEjectionOptions {
  /** How long an ejected peer is passed over; 0 never ejects. */
  forMs: number;
  /** @default performance.now */
  now?: () => number;
}

/** Tracks ejected peers: the table only ever holds peers that failed and have not answered since. */
export function createPeerEjection(options: PeerEjectionOptions): PeerEjection {
  const now = options.now ?? (() => performance.now());
  /** Per ejected peer: until when no miss asks it. */
  const until = new Map<string, number>();
  /** Ejected peers a probe has gone to. */
  const probed = new Set<string>();
  let total = 0;
  return {
    ask(peer) {
      const end = until.get(peer);
      if (end === undefined) return true;
      const t = now();
      if (t < end) return false;
      // this miss is the probe; the others wait for its outcome, or for another ejection time
      until.set(peer, t + options.forMs);
      probed.add(peer);
      return true;
    },
    failed(peer) {
      if (options.forMs <= 0) return false;
      const standing = !until.has(peer);
      if (!standing && !probed.has(peer)) return false;
      probed.delete(peer);
      until.set(peer, now() + options.forMs);
      total++;
      return standing;
    },
    answered(peer) {
      until.delete(peer);
      probed.delete(peer);
    },
    ejected: () => [...until.keys()].sort(),
    get total() {
      return total;
    },
  };
}
