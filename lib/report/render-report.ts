/**
 * The report a `--report` (or `report --type`) kind asks for, rendered from a summary: vegeta's JSON, text, hist
 * and hdrplot outputs, each with this project's additions where vegeta's format leaves room. Pure.
 */
import type { AttackSummary } from "./attack-metrics.ts";
import { renderHdrplot } from "./hdrplot.ts";
import { renderHist, type ReportKind } from "./hist.ts";
import { renderJson, type CasExtras } from "./json.ts";
import { renderTextReport } from "./text.ts";

/** Renders `kind`; `hist` needs the summary to carry its bucket counts. */
export function renderReport(summary: AttackSummary, extras: CasExtras, kind: ReportKind["kind"]): string {
  switch (kind) {
    case "json":
      return renderJson(summary, extras);
    case "text":
      return renderTextReport(summary, extras);
    case "hist":
      return renderHist(summary);
    case "hdrplot":
      return renderHdrplot(summary);
  }
}
