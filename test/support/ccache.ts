/**
 * Drives Debian's real ccache and gcc over a C project for the build-cache test and benchmark: compile every
 * unit through ccache with a remote storage URL, link, clear the local cache, read ccache's own statistics.
 * Each run has its own cache directory and ignores any user or system ccache configuration.
 */
import { join } from "node:path";
import type { CProject } from "../fixtures/c-project.ts";
import { runCommand } from "./run-command.ts";

// Found on PATH as a shell finds them, so a file that is not executable does not count (.ci/fresh-machine
// hides tools that way). Debian's packages ccache and gcc.
const found = { ccache: Bun.which("ccache"), gcc: Bun.which("gcc") };
export const CCACHE = found.ccache ?? "ccache";
export const GCC = found.gcc ?? "gcc";

/** The tools the build-cache tests need that this machine lacks, by name (empty when both are there). */
export function missingBuildTools(): string[] {
  return Object.entries(found)
    .filter(([, path]) => path === null)
    .map(([name]) => name);
}

export interface CcacheOptions {
  /** ccache's local cache directory (CCACHE_DIR), one per simulated machine. */
  cacheDir: string;
  /** `remote_storage`, e.g. `http://127.0.0.1:5000|layout=bazel`. */
  remote: string;
  /** Compiles run at once. @default 2 */
  jobs?: number;
  /** Extra compiler flags; a `-D` that differs gives every unit new cache keys (a cold build). */
  cflags?: readonly string[];
}

/** Runs ccache with only our settings: CCACHE_CONFIGPATH=/dev/null hides ~/.config/ccache and /etc. */
export async function ccache(args: readonly string[], options: CcacheOptions, cwd?: string): Promise<string> {
  const result = await runCommand([CCACHE, ...args], {
    cwd,
    env: {
      CCACHE_CONFIGPATH: "/dev/null",
      CCACHE_DIR: options.cacheDir,
      CCACHE_REMOTE_STORAGE: options.remote,
    },
  });
  if (result.code !== 0) throw new Error(`ccache ${args.join(" ")} exited with ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** Compiles every source of `project` to `<name>.o` through ccache (`jobs` at a time), then links `app`. */
export async function buildProject(project: CProject, options: CcacheOptions): Promise<void> {
  const queue = [...project.sources];
  const jobs = options.jobs ?? 2;
  const worker = async () => {
    for (let source = queue.shift(); source !== undefined; source = queue.shift()) {
      await ccache([GCC, "-O2", ...(options.cflags ?? []), "-c", source, "-o", objectOf(source)], options, project.dir);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  const link = await runCommand([GCC, "-o", "app", ...project.sources.map(objectOf)], { cwd: project.dir });
  if (link.code !== 0) throw new Error(`linking failed: ${link.stderr}`);
}

/** The object file a source compiles to, relative to the project. */
export function objectOf(source: string): string {
  return source.replace(/\.c$/, ".o");
}

/** Empties the local cache and zeroes the statistics: what a fresh machine (or a clean CI runner) has. */
export async function clearLocal(options: CcacheOptions): Promise<void> {
  await ccache(["--clear"], options);
  await ccache(["--zero-stats"], options);
}

/** ccache's counters (`ccache --print-stats`, tab-separated name and value), e.g. `remote_storage_hit`. */
export async function ccacheStats(options: CcacheOptions): Promise<Record<string, number>> {
  const out = await ccache(["--print-stats"], options);
  const stats: Record<string, number> = {};
  for (const line of out.split("\n")) {
    const [name, value] = line.split("\t");
    if (name && value !== undefined && /^\d+$/.test(value)) stats[name] = Number(value);
  }
  return stats;
}

/** The path of an object file in the project. */
export function objectPath(project: CProject, source: string): string {
  return join(project.dir, objectOf(source));
}
