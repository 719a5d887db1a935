/**
 * Starts server.ts as a real process on 127.0.0.1, an ephemeral port and a fresh temp data dir (or a given
 * one), and lists files under a directory, for the server's process-level tests.
 */
import { mkdtempSync, readdirSync, rmSync, type Dirent } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProgram, type ProgramProcess } from "../../lib/common/program-process.ts";

export interface ServerProcess extends ProgramProcess {
  dataDir: string;
  /** Stops the process (SIGKILL if still running) and removes a data dir this helper created. */
  dispose(): Promise<void>;
}

/** Starts `bun server.ts --host 127.0.0.1 --port 0 --data-dir <dir> ...args`. */
export async function startServer(
  args: readonly string[] = [],
  options: { dataDir?: string; env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  const owned = options.dataDir === undefined;
  const dataDir = options.dataDir ?? join(mkdtempSync(join(tmpdir(), "cas-server-test-")), "data");
  const proc = await startProgram("server.ts", ["--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir, ...args], {
    env: options.env,
  });
  return {
    ...proc,
    dataDir,
    async dispose() {
      await proc.stop("SIGKILL");
      if (owned) rmSync(join(dataDir, ".."), { recursive: true, force: true });
    },
  };
}

/** Every file under `root` as a path relative to it, sorted. */
export function filesUnder(root: string): string[] {
  return (readdirSync(root, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
    .sort();
}

/** Polls `check` every 20 ms until it returns true or `timeoutMs` passes; returns its last answer. */
export async function eventually(check: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await Bun.sleep(20);
  }
  return true;
}
