/**
 * Graceful stop for a Bun.serve program: on SIGTERM or SIGINT stop accepting connections, let in-flight
 * requests finish, run the program's cleanup, then exit 0. A second signal exits at once with 130.
 */
import type { Logger } from "./log.ts";

export interface ShutdownOptions {
  logger: Logger;
  /** Cleanup after the listener has drained (timers, peers, files). */
  cleanup?: () => void | Promise<void>;
  /** Give up waiting for in-flight requests after this long. @default 10000 */
  drainMs?: number;
}

/** Installs the signal handlers for `server`. */
export function onShutdown(server: { stop(closeActive?: boolean): Promise<void> }, options: ShutdownOptions): void {
  let stopping = false;
  const drainMs = options.drainMs ?? 10_000;
  async function stop(signal: string): Promise<void> {
    if (stopping) process.exit(130);
    stopping = true;
    options.logger.info("stopping", { signal });
    const drained = server.stop(false).then(() => true);
    const timedOut = Bun.sleep(drainMs).then(() => false);
    const clean = await Promise.race([drained, timedOut]);
    if (!clean) {
      options.logger.warn("drain timed out; closing open connections", { drainMs });
      await server.stop(true);
    }
    await options.cleanup?.();
    options.logger.info("stopped", { signal });
    process.exit(0);
  }
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}
