/**
 * Outlier ejection for cache peers: a peer whose fetch has just failed is passed over for a while and the keys it
 * owns are loaded from the origin directly. A peer cut off by the network answers nothing, so every miss that
 * asks it waits out the whole miss deadline and fails; ejected, it costs one wave of such misses, not one per
 * miss until the peer set drops it (a DNS refresh, or a readiness probe that takes half a minute to give up).
 */

/** How long a failed peer is passed over by default: as long as a DNS peer set takes to be looked up again. */
export const DEFAULT_PEER_EJECTION_MS = 5_000;

export interface PeerEjection {
  /** Passes `peer` over from now until the ejection time has gone by; true when it was not ejected already. */
  eject(peer: string): boolean;
  /** Whether `peer` is passed over right now. */
  ejected(peer: string): boolean;
  /** Ejections so far (a peer failing again while ejected is not counted again). */
  readonly total: number;
}

export interface PeerEjectionOptions {
  /** How long an ejected peer is passed over; 0 never ejects. */
  forMs: number;
  /** @default performance.now */
  now?: () => number;
}

/** Tracks ejected peers; the table only ever holds peers that failed, and each entry ends by itself. */
export function createPeerEjection(options: PeerEjectionOptions): PeerEjection {
  const now = options.now ?? (() => performance.now());
  const until = new Map<string, number>();
  let total = 0;
  function ejected(peer: string): boolean {
    const end = until.get(peer);
    if (end === undefined) return false;
    if (now() < end) return true;
    until.delete(peer);
    return false;
  }
  return {
    eject(peer) {
      if (options.forMs <= 0) return false;
      const fresh = !ejected(peer);
      // a failure while ejected (a miss that asked it just before) does not lengthen the ejection
      if (fresh) {
        until.set(peer, now() + options.forMs);
        total++;
      }
      return fresh;
    },
    ejected,
    get total() {
      return total;
    },
  };
}
