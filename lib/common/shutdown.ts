/**
 * The programs' one handling of SIGTERM and SIGINT: the first signal asks the program to stop (a server
 * drains its connections, the load tester ends its attack), a second one leaves at once with 130. Nothing
 * here exits by itself: it calls the `exit` that main() passes in, as only a program's main() exits.
 */
import type { Logger } from "./log.ts";

export interface StopSignalOptions {
  logger: Logger;
  /** Called on the first signal, after the "stopping" line. */
  onStop: (signal: NodeJS.Signals) => void | Promise<void>;
  /** main()'s way out; called with 130 when a second signal comes before the program has stopped. */
  exit: (code: number) => void;
}

const SIGNALS = ["SIGTERM", "SIGINT"] as const;

/** Installs the handlers; returns a function that removes them. */
export function onStopSignal(options: StopSignalOptions): () => void {
  let stopping = false;
  function handle(signal: NodeJS.Signals): void {
    if (stopping) {
      options.exit(130);
      return;
    }
    stopping = true;
    options.logger.info("stopping", { signal });
    void options.onStop(signal);
  }
  for (const signal of SIGNALS) process.on(signal, handle);
  return () => {
    for (const signal of SIGNALS) process.off(signal, handle);
  };
}

export interface DrainOptions {
  logger: Logger;
  /** main()'s way out: called with 0 once drained and cleaned up, or with 130 on a second signal. */
  exit: (code: number) => void;
  /** Cleanup after the listener has drained (timers, peers, files). */
  cleanup?: () => void | Promise<void>;
  /** Give up waiting for in-flight requests after this long. @default 10000 */
  drainMs?: number;
}

/**
 * On the first signal, stops accepting connections, lets in-flight requests finish (at most `drainMs`), runs
 * the cleanup, logs "stopped" and exits 0 through `exit`. Returns a function that removes the handlers.
 */
export function drainOnSignal(
  server: { stop(closeActive?: boolean): Promise<void> },
  options: DrainOptions,
): () => void {
  const drainMs = options.drainMs ?? 10_000;
  return onStopSignal({
    logger: options.logger,
    exit: options.exit,
    async onStop(signal) {
      const drained = server.stop(false).then(() => true);
      const timedOut = Bun.sleep(drainMs).then(() => false);
      const clean = await Promise.race([drained, timedOut]);
      if (!clean) {
        options.logger.warn("drain timed out; closing open connections", { drainMs });
        await server.stop(true);
      }
      await options.cleanup?.();
      options.logger.info("stopped", { signal });
      options.exit(0);
    },
  });
}
