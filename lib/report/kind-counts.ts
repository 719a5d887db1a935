/**
 * Requests counted by their target's name (the build-cache workload names them `ac`, `cas` and `put`): how
 * many, and their status codes, for the JSON report's `cas.kinds`. Unnamed targets are left out. Synchronous.
 */
import type { ShotResult } from "../loadgen.ts";

export interface KindFigures {
  requests: number;
  /** By status, `0` for no response, as in the report's own `status_codes`. */
  status_codes: Record<string, number>;
}

export interface KindCounts {
  add(result: ShotResult): void;
  /** The figures so far, by name in first-seen order. */
  snapshot(): Record<string, KindFigures>;
}

export function createKindCounts(): KindCounts {
  const kinds = new Map<string, KindFigures>();
  return {
    add(result) {
      const name = result.target.name;
      if (name === undefined) return;
      let figures = kinds.get(name);
      if (figures === undefined) kinds.set(name, (figures = { requests: 0, status_codes: {} }));
      figures.requests++;
      const code = String(result.status);
      figures.status_codes[code] = (figures.status_codes[code] ?? 0) + 1;
    },
    snapshot: () => Object.fromEntries([...kinds].map(([name, f]) => [name, structuredClone(f)])),
  };
}
