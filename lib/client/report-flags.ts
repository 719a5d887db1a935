/**
 * `bun client.ts report`'s command line: which report to print, where, and the thresholds to judge the results
 * by, over the result files and JSON reports named as arguments (vegeta's `report`, plus merging and thresholds).
 */
import { defineProgram, flag, parseString, type Config } from "../common/config.ts";
import { COMMON_FLAGS } from "../common/shared-flags.ts";
import { MAX_SEND_LAG_FLAG, reportKindFlag, THRESHOLD_FLAG } from "./flags.ts";

export const REPORT_PROGRAM = defineProgram({
  name: "client report",
  summary: "one report from results files (--results) and JSON reports, merged exactly",
  usage: "bun client.ts report [flags] FILE... (no FILE or - reads stdin)",
  positionals: true,
  epilog: [
    "Each FILE holds results (JSON lines or CSV, this client's or vegeta's) or JSON reports of this client,",
    "told apart line by line. Results are read streaming; reports merge through their histograms, so the",
    "percentiles of N generators' reports equal those of one report over all their requests.",
    "",
    "Examples:",
    "  bun client.ts report --type text run.jsonl",
    "  bun client.ts report --type text --threshold 'p99<50ms' --html all.html gen-*.json",
    "",
    "Exit codes as the attack's: 0 every threshold holds; 1 one does not; 2 bad flags or input;",
    "3 the generator fell behind its schedule in the runs reported.",
  ].join("\n"),
  flags: {
    type: reportKindFlag("REPORT_TYPE"),
    output: flag({
      help: "Write the report to this file instead of stdout",
      default: "",
      parse: parseString,
      env: ["REPORT_OUTPUT"],
      metavar: "FILE",
    }),
    json: flag({
      help: "Also write the JSON report (which merges again) to this file",
      default: "",
      parse: parseString,
      env: ["REPORT_JSON"],
      metavar: "FILE",
    }),
    html: flag({
      help: "Also write a self-contained HTML report to this file",
      default: "",
      parse: parseString,
      env: ["REPORT_HTML"],
      metavar: "FILE",
    }),
    threshold: THRESHOLD_FLAG,
    maxSendLag: MAX_SEND_LAG_FLAG,
    ...COMMON_FLAGS,
  },
});

export type ReportConfig = Config<typeof REPORT_PROGRAM.flags>;
