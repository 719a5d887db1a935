/**
 * Starts one of the programs (server.ts, cache.ts, client.ts) as a child process and waits for its
 * "listening" log line, so tests and the demo talk to a real process on the port it actually bound.
 * Every program logs that line through lib/common/serve.ts once it accepts connections, and it is read here
 * with the same module's parser.
 */
import type { Subprocess } from "bun";
import { resolve } from "node:path";
import { parseListening } from "./serve.ts";

export interface ProgramProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Base URL from the "listening" line, e.g. `http://127.0.0.1:40123`. */
  url: string;
  port: number;
  /** Every stderr line so far (the JSON logs), for assertions. */
  logs: string[];
  /** Sends `signal` (default SIGTERM) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export interface StartOptions {
  /** Extra environment; the parent's environment is inherited. */
  env?: Record<string, string>;
  /** Give up waiting for "listening" after this long. @default 15000 */
  timeoutMs?: number;
  /** Working directory. @default the project root */
  cwd?: string;
  /**
   * Start the program in its own session (setsid), so a terminal's Ctrl-C reaches only the parent,
   * which then stops its children in its own order. @default false
   */
  detached?: boolean;
}

/** The project root (the folder holding server.ts). */
export const PROJECT_ROOT = resolve(import.meta.dir, "../..");

/** Spawns `bun <script> ...args` and resolves once it logs "listening"; rejects with its logs if it exits first. */
export async function startProgram(
  script: string,
  args: readonly string[],
  options: StartOptions = {},
): Promise<ProgramProcess> {
  const proc = Bun.spawn([process.execPath, resolve(PROJECT_ROOT, script), ...args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: { ...process.env, ...options.env },
    detached: options.detached ?? false,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const logs: string[] = [];
  let onLine: ((line: string) => void) | undefined;
  void (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of proc.stderr) {
      pending += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf("\n")) !== -1) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        logs.push(line);
        onLine?.(line);
      }
    }
  })();

  const timeoutMs = options.timeoutMs ?? 15_000;
  const listening = await new Promise<{ url: string; port: number }>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`${script} did not start within ${timeoutMs} ms:\n${logs.join("\n")}`));
    }, timeoutMs);
    const check = (line: string) => {
      const listening = parseListening(line);
      if (listening !== undefined) {
        clearTimeout(timer);
        resolvePromise(listening);
      }
    };
    onLine = check;
    logs.forEach(check);
    void proc.exited.then((code) => {
      clearTimeout(timer);
      // Give the stderr reader a moment to collect the last lines for the error message.
      setTimeout(() => reject(new Error(`${script} exited with ${code} before listening:\n${logs.join("\n")}`)), 50);
    });
  });

  return {
    proc,
    logs,
    ...listening,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return await proc.exited;
    },
  };
}

/**
 * A loopback port that was free a moment ago, for a program that must know its URL before it starts
 * (cache peers list each other in --peers). Prefer `--port 0` wherever the program can report its own port.
 */
export function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}
