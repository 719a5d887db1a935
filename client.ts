/**
 * The load tester: uploads random blobs to the CAS server, attacks the cache (or any `--url` or `--targets`)
 * at a fixed open-loop rate, and prints a vegeta-compatible report; `report` re-reports and merges results
 * files and JSON reports. Ctrl-C stops the attack and still reports. Wiring only: config
 * (lib/client/flags.ts, lib/client/report-flags.ts) -> signals -> lib/client/attack.ts or report-command.ts.
 */
import { runAttack } from "./lib/client/attack.ts";
import { CLIENT_PROGRAM } from "./lib/client/flags.ts";
import { runReport } from "./lib/client/report-command.ts";
import { REPORT_PROGRAM } from "./lib/client/report-flags.ts";
import { loadConfig, printConfigOutcome } from "./lib/common/config.ts";
import { createLogger } from "./lib/common/log.ts";
import { onStopSignal } from "./lib/common/shutdown.ts";

async function main(): Promise<void> {
  if (process.argv[2] === "report") {
    const loaded = loadConfig(REPORT_PROGRAM, process.argv.slice(3));
    if (loaded.kind !== "config") process.exit(printConfigOutcome(loaded));
    process.exit(await runReport(loaded.config, loaded.positionals));
  }
  const loaded = loadConfig(CLIENT_PROGRAM);
  if (loaded.kind !== "config") process.exit(printConfigOutcome(loaded));
  const { config } = loaded;
  const logger = createLogger({ level: config.logLevel, base: { program: "client" } });

  // First Ctrl-C (or SIGTERM) ends the attack and lets the report print (during the upload it ends the run
  // with exit 130 and no report, as nothing was attacked); a second one exits at once.
  const stop = new AbortController();
  onStopSignal({ logger, onStop: () => stop.abort(), exit: (code) => process.exit(code) });

  const code = await runAttack(config, { logger, signal: stop.signal });
  process.exit(code);
}

if (import.meta.main) await main();
