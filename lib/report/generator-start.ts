/**
 * When each generator of a run started against the agreed `--start-at`: a shard that started late sent its whole
 * schedule late, which is the generator's problem (exit 3), not latency of the target. Pure.
 */
import { goDuration } from "./go-format.ts";

export interface GeneratorStart {
  /** `I/N`, or null for a generator that sent the whole schedule. */
  shard: string | null;
  /** The agreed start, epoch ms. */
  at: number;
  /** How much later the generator's schedule started, ns. */
  offsetNs: number;
}

/** One phrase per generator that started more than `maxLagMs` after the agreed time. */
export function lateStarts(starts: readonly GeneratorStart[], maxLagMs: number): string[] {
  return starts
    .filter((s) => s.offsetNs > maxLagMs * 1e6)
    .map(
      (s) =>
        `${s.shard === null ? "the generator" : `shard ${s.shard}`} started ` +
        `${goDuration(Number(s.offsetNs.toPrecision(3)))} after --start-at`,
    );
}
