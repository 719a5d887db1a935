/**
 * `bun client.ts report`: reads the named results files and JSON reports (streaming), merges them into one
 * summary, judges it against the thresholds exactly as a live run is judged, and writes the chosen report.
 * Returns the exit code (0, 1, 2 or 3); prints failures as one line on stderr.
 */
import { writeFileSync } from "node:fs";
import { renderHtml } from "../report/html.ts";
import { renderJson, ReportFormatError, type CasExtras } from "../report/json.ts";
import { ResultsFormatError } from "../report/read-results.ts";
import { renderReport } from "../report/render-report.ts";
import { readReportInputs, type ReportInputs } from "../report/report-inputs.ts";
import { evaluateThresholds, withDefaultThresholds } from "../report/thresholds.ts";
import { verdict } from "../report/verdict.ts";
import type { ReportConfig } from "./report-flags.ts";

export interface ReportDeps {
  /** @default process.stdout */
  stdout?: (text: string) => void;
  /** @default process.stderr */
  stderr?: (text: string) => void;
  /** Opens a FILE argument; `-` is stdin. @default Bun.file / Bun.stdin */
  open?: (path: string) => ReadableStream<Uint8Array>;
}

/** Runs the report over `files` (none: stdin); resolves with the exit code. */
export async function runReport(
  config: ReportConfig,
  files: readonly string[],
  deps: ReportDeps = {},
): Promise<number> {
  const stdout = deps.stdout ?? ((text: string) => void process.stdout.write(text));
  const stderr = deps.stderr ?? ((text: string) => void process.stderr.write(text));
  const say = (code: number, message: string) => {
    stderr(`client report: ${message}\n`);
    return code;
  };
  const paths = files.length === 0 ? ["-"] : files;
  const kind = config.type;
  let inputs: ReportInputs;
  try {
    inputs = await readReportInputs(paths, {
      ...(kind.kind === "hist" && { buckets: kind.buckets }),
      ...(deps.open && { open: deps.open }),
    });
  } catch (err) {
    if (err instanceof ResultsFormatError || err instanceof ReportFormatError) return say(2, err.message);
    const code = (err as { code?: unknown }).code;
    if (code === "ENOENT" || code === "EACCES" || code === "EISDIR")
      return say(2, `cannot read: ${(err as Error).message}`);
    throw err;
  }
  const { summary } = inputs;
  const measured = evaluateThresholds(withDefaultThresholds(config.threshold), summary);
  const judged = verdict(summary, measured, { maxSendLagMs: config.maxSendLag });
  const extras: CasExtras = { ...inputs.extras, thresholds: measured, verdict: judged };
  const description =
    `${summary.requests} requests from ${inputs.records} result record(s) and ${inputs.reports} report(s) ` +
    `in ${paths.map((p) => (p === "-" ? "stdin" : p)).join(", ")}`;
  try {
    const main = renderReport(summary, extras, kind.kind);
    if (config.output !== "") writeFileSync(config.output, main);
    else stdout(main);
    if (config.json !== "") writeFileSync(config.json, renderJson(summary, extras));
    if (config.html !== "") writeFileSync(config.html, renderHtml(summary, { extras, description }));
  } catch (err) {
    return say(1, `cannot write the report: ${(err as Error).message}`);
  }
  if (judged.code !== 0) say(judged.code, `exit ${judged.code}: ${judged.message}`);
  return judged.code;
}
