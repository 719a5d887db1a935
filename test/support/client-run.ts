/**
 * Runs `bun client.ts ...` (an attack or `report`) as a real process to the end, with an environment free of
 * the client's own variables so a developer's shell cannot change a test; optionally with stdin or a SIGINT.
 */
import { resolve } from "node:path";
import { CLIENT_PROGRAM } from "../../lib/client/flags.ts";
import { REPORT_PROGRAM } from "../../lib/client/report-flags.ts";
import { PROJECT_ROOT } from "../../lib/common/program-process.ts";

export const CLIENT = resolve(PROJECT_ROOT, "client.ts");

export interface ClientRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ClientRunOptions {
  env?: Record<string, string>;
  /** Sends SIGINT this long after the start. */
  interruptAfterMs?: number;
  /** Written to stdin, which is then closed. */
  input?: string;
}

/** Runs `bun client.ts ...args` and collects its exit code and output. */
export async function runClient(args: readonly string[], options: ClientRunOptions = {}): Promise<ClientRun> {
  const proc = Bun.spawn([process.execPath, CLIENT, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...cleanEnv(), ...options.env },
    stdin: options.input === undefined ? "ignore" : new Blob([options.input]),
    stdout: "pipe",
    stderr: "pipe",
  });
  if (options.interruptAfterMs !== undefined) setTimeout(() => proc.kill("SIGINT"), options.interruptAfterMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/**
 * The parent's environment without the client's own variables, and without a warm-up (ATTACK_WARMUP=0): the
 * tests count every request a target sees, and a warm-up sends its own. The warm-up's tests ask for one.
 */
export function cleanEnv(): Record<string, string> {
  const flags = [...Object.values(CLIENT_PROGRAM.flags), ...Object.values(REPORT_PROGRAM.flags)];
  const names = new Set(flags.flatMap((flag) => flag.env ?? []));
  const env = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !names.has(e[0])),
  );
  return { ...env, ATTACK_WARMUP: "0" };
}
