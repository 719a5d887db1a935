/**
 * Collects a run's results step by step: each result goes to the metrics of the step its request was due in,
 * and `close()` gives each step's report. The whole run's summary is their merge (lib/report/merge.ts), exact,
 * so no result is counted twice on the generator's hot path. Not safe to `add()` after `close()`.
 */
import { AttackMetrics, type AttackMetricsOptions } from "./attack-metrics.ts";
import type { ShotResult } from "../loadgen.ts";
import type { StepPlan, StepReport } from "./steps.ts";

export class StepMetrics {
  #plans: StepPlan[];
  #metrics: AttackMetrics[];

  constructor(plans: readonly StepPlan[], options: AttackMetricsOptions = {}) {
    if (plans.length === 0) throw new RangeError("'plans' must hold at least one step");
    this.#plans = [...plans];
    this.#metrics = plans.map(() => new AttackMetrics(options));
  }

  /** Adds a result to step `step` (an index into the plans). */
  add(step: number, r: ShotResult): void {
    const m = this.#metrics[step];
    if (m === undefined) throw new RangeError(`No step ${step} in ${this.#plans.length}`);
    m.add(r);
  }

  /** Each step's report; `startedMs` is the epoch ms the schedule started at. */
  close(startedMs: number): StepReport[] {
    return this.#plans.map((p, i) => ({
      rate: p.rate,
      startMs: startedMs + p.startNs / 1e6,
      endMs: startedMs + p.endNs / 1e6,
      summary: this.#metrics[i]!.close(),
    }));
  }
}
