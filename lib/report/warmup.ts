/**
 * What a run's warm-up did (lib/client/warmup.ts), as the reports carry it: apart from every figure, since none
 * of its requests counts. Plain data.
 */

export interface Warmup {
  /** How long it ran, ms (0 when there was none). */
  durationMs: number;
  /** Requests sent (none of them in the report's figures). */
  requests: number;
  /** Of those, how many failed: a target that does not answer shows here first. */
  errors: number;
}
