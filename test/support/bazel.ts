/**
 * Drives Debian's real Bazel (package bazel-bootstrap, Bazel 4.2) over a workspace for the build-cache tests:
 * one-shot (`--batch`, no server left behind) builds and cleans with an HTTP remote cache, and the action
 * counts from Bazel's own summary line. Every run has its own output root and ignores ~/.bazelrc.
 */
import { runCommand } from "./run-command.ts";

// Found on PATH as a shell finds it (a file that is not executable does not count).
const found = Bun.which("bazel");
export const BAZEL = found ?? "bazel";

export interface BazelOptions {
  /** Bazel's output root (`--output_user_root`): a temp dir per test. */
  outputUserRoot: string;
  /** `--remote_cache` URL. */
  remoteCache: string;
  /** `--remote_header` values, `Name=value`. */
  remoteHeaders?: string[];
}

/** What one build did, from Bazel's `INFO: N processes: ...` line. */
export interface BuildSummary {
  /** Actions answered by the remote cache. */
  remoteCacheHits: number;
  /** Actions that ran a tool here (local, sandboxed or worker). */
  executed: number;
  /** Everything Bazel printed. */
  output: string;
}

// A hung Bazel must not hang the suite; a cold build here takes a few seconds.
const BAZEL_TIMEOUT_MS = 120_000;

async function bazel(dir: string, options: BazelOptions, command: string[]): Promise<string> {
  const startup = ["--batch", "--nohome_rc", `--output_user_root=${options.outputUserRoot}`];
  const result = await runCommand([BAZEL, ...startup, ...command], {
    cwd: dir,
    // Bazel reads HOME for its caches even with an output root; keep it inside the temp dir.
    env: { HOME: options.outputUserRoot },
    timeoutMs: BAZEL_TIMEOUT_MS,
  });
  const output = result.stdout + result.stderr;
  if (result.code !== 0) throw new Error(`bazel ${command.join(" ")} exited with ${result.code}:\n${output}`);
  return output;
}

/**
 * Builds `targets` with the remote cache. Actions run unsandboxed (`--spawn_strategy=local`): the Linux
 * sandbox needs namespaces a CI container may not grant, and caching works the same either way.
 */
export async function bazelBuild(dir: string, targets: string[], options: BazelOptions): Promise<BuildSummary> {
  const headers = (options.remoteHeaders ?? []).map((h) => `--remote_header=${h}`);
  const output = await bazel(dir, options, [
    "build",
    `--remote_cache=${options.remoteCache}`,
    ...headers,
    "--spawn_strategy=local",
    "--color=no",
    "--curses=no",
    ...targets,
  ]);
  return { ...countProcesses(output), output };
}

/** `bazel clean`: removes the outputs and the local action cache, so the next build must ask the remote. */
export async function bazelClean(dir: string, options: BazelOptions): Promise<void> {
  await bazel(dir, options, ["clean"]);
}

/** Parses `INFO: 9 processes: 8 remote cache hit, 1 internal.` (kinds vary with the strategy). */
export function countProcesses(output: string): Omit<BuildSummary, "output"> {
  const m = /INFO: \d+ process(?:es)?: ([^\n]*?)\.?\n/.exec(output);
  if (m === null) throw new Error(`no process summary in Bazel's output:\n${output}`);
  let remoteCacheHits = 0;
  let executed = 0;
  for (const part of m[1]!.split(", ")) {
    const [, count, kind] = /^(\d+) (.+)$/.exec(part.trim()) ?? [];
    if (kind === "remote cache hit") remoteCacheHits += Number(count);
    else if (kind !== undefined && kind !== "internal") executed += Number(count);
  }
  return { remoteCacheHits, executed };
}
