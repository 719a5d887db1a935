/**
 * What a program accepts, read from its own `--help` (rendered from its flag spec by lib/common/config.ts), so
 * deployment files can be checked against the real programs rather than against a copy of their flags.
 */
import { resolve } from "node:path";
import { PROJECT_ROOT } from "../../lib/common/program-process.ts";
import { runCommand } from "./run-command.ts";

export interface AcceptedConfig {
  /** Flag names with their dashes, e.g. `--peers-dns`, including the `--no-` form of switches. */
  flags: Set<string>;
  /** Environment variables named in the help, e.g. `CACHE_PEERS_DNS`. */
  env: Set<string>;
}

const cache = new Map<string, Promise<AcceptedConfig>>();

/** Runs `bun <script> --help` once per script and parses its flag list. */
export function acceptedConfig(script: string): Promise<AcceptedConfig> {
  let pending = cache.get(script);
  if (pending === undefined) {
    pending = readHelp(script);
    cache.set(script, pending);
  }
  return pending;
}

async function readHelp(script: string): Promise<AcceptedConfig> {
  const { stdout: text, code } = await runCommand([process.execPath, resolve(PROJECT_ROOT, script), "--help"], {
    cwd: PROJECT_ROOT,
  });
  if (code !== 0) throw new Error(`${script} --help exited with ${code}`);
  const flags = new Set<string>();
  const env = new Set<string>();
  for (const line of text.split("\n")) {
    // lib/common/config.ts writes "--name METAVAR" (one space) for flags with a value, "--name" for switches.
    const flag = /^\s+(?:-\w, )?(--[a-z0-9-]+)( \S+)?\s{2,}/.exec(line);
    if (flag) {
      flags.add(flag[1]!);
      // Switches (no metavar) also take the --no- form.
      if (flag[2] === undefined) flags.add("--no-" + flag[1]!.slice(2));
    }
    const envList = /\[env ([A-Z0-9_, ]+)\]/.exec(line);
    if (envList) for (const name of envList[1]!.split(",")) env.add(name.trim());
  }
  return { flags, env };
}

/** The `--flag` words of an argument list (values and `--flag=value` forms reduced to the flag). */
export function flagsIn(args: readonly string[]): string[] {
  return args.filter((a) => a.startsWith("--")).map((a) => a.split("=")[0]!);
}
