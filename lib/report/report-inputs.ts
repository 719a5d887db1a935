/**
 * The inputs of `client.ts report`: results files (JSON lines or CSV, ours or vegeta's) and JSON reports, each
 * line told apart by its shape, read streaming into one summary. Results from every file feed one set of
 * metrics; reports merge with it through their histograms. Memory stays flat however many records: nothing is
 * kept per record. Async (file I/O); a line that cannot be read throws with the file and line number.
 */
import { AttackMetrics, type AttackSummary } from "./attack-metrics.ts";
import { withBuckets } from "./hist.ts";
import { parseJsonReport, ReportFormatError, type CasExtras } from "./json.ts";
import { mergeSummaries } from "./merge.ts";
import { forEachLine, lineKind, parseResultLine, ResultsFormatError, splitCsv } from "./read-results.ts";

export interface ReportInputOptions {
  /** `hist` bucket bounds (ns): exact from results; from the histogram when only reports give other bounds. */
  buckets?: readonly number[];
  /** Opens a path; `-` is stdin. @default Bun.file(path).stream(), Bun.stdin for "-" */
  open?: (path: string) => ReadableStream<Uint8Array>;
}

export interface ReportInputs {
  summary: AttackSummary;
  extras: CasExtras;
  /** Result records and JSON reports read. */
  records: number;
  reports: number;
}

/** Reads every path in order and combines what they hold. Throws ResultsFormatError, ReportFormatError or I/O errors. */
export async function readReportInputs(
  paths: readonly string[],
  options: ReportInputOptions = {},
): Promise<ReportInputs> {
  if (paths.length === 0) throw new RangeError("'paths' must name at least one file");
  const open = options.open ?? defaultOpen;
  const metrics = new AttackMetrics(options.buckets ? { buckets: options.buckets } : {});
  const reports: { summary: AttackSummary; extras: CasExtras }[] = [];
  for (const path of paths) {
    const source = path === "-" ? "stdin" : path;
    let pending = ""; // a CSV record whose quoted field runs over a line end
    let pendingLine = 0;
    await forEachLine(open(path), (line, number) => {
      if (pending !== "") {
        line = `${pending}\n${line}`;
        number = pendingLine;
      }
      const kind = lineKind(line);
      if (kind === "blank") return;
      if (kind === "csv-result" && line.includes('"') && splitCsv(line) === undefined) {
        pending = line;
        pendingLine = number;
        return;
      }
      pending = "";
      if (kind === "report") {
        reports.push(readReport(line, source, number));
        return;
      }
      metrics.add(parseResultLine(line, source, number));
      if (metrics.requests % GC_EVERY === 0) collectGarbage();
    });
    if (pending !== "") throw new ResultsFormatError(`${source} line ${pendingLine}: a quoted field is not closed`);
  }
  const records = metrics.requests;
  const parts = [...(records > 0 || reports.length === 0 ? [metrics.close()] : []), ...reports.map((r) => r.summary)];
  const merged = parts.length === 1 ? parts[0]! : mergeSummaries(parts);
  const summary = options.buckets ? withBuckets(merged, options.buckets) : merged;
  const extras = reports.length === 1 && records === 0 ? reports[0]!.extras : { hitRatio: null, cacheStats: null };
  return { summary, extras, records, reports: reports.length };
}

function readReport(line: string, source: string, number: number): { summary: AttackSummary; extras: CasExtras } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new ReportFormatError(`${source} line ${number}: not JSON: ${(err as Error).message}`);
  }
  try {
    return parseJsonReport(value);
  } catch (err) {
    throw new ReportFormatError(`${source} line ${number}: ${(err as Error).message}`);
  }
}

/** Records parsed between two garbage collections. */
const GC_EVERY = 16_384;

/**
 * Every record parsed is garbage a moment later, and the collector lets such garbage pile up: a million records
 * took the process past 150 MiB. A full collection of a heap this small takes a few ms; one every 16,384
 * records keeps the peak near 90 MiB for any number of records, at about the same speed.
 */
function collectGarbage(): void {
  Bun.gc(true);
}

function defaultOpen(path: string): ReadableStream<Uint8Array> {
  return path === "-" ? Bun.stdin.stream() : Bun.file(path).stream();
}
