/**
 * The one way tests start an origin: server.ts as a real process on 127.0.0.1, an ephemeral (or given) port and
 * a fresh temp data dir (or a given one, kept); plus listing files under a directory and polling a condition.
 */
import { mkdtempSync, readdirSync, rmSync, type Dirent } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProgram, type ProgramProcess } from "../../lib/common/program-process.ts";

export interface ServerProcess extends ProgramProcess {
  dataDir: string;
  /** Kills the process (SIGKILL) and removes a data dir this helper created. */
  dispose(): Promise<void>;
  /** Stops the process gracefully (SIGTERM, drain) and removes a data dir this helper created. */
  close(): Promise<void>;
}

/** Starts `bun server.ts --host 127.0.0.1 --port <port or 0> --data-dir <dir> ...args`. */
export async function startServer(
  args: readonly string[] = [],
  options: { dataDir?: string; env?: Record<string, string>; port?: number } = {},
): Promise<ServerProcess> {
  const owned = options.dataDir === undefined;
  const dataDir = options.dataDir ?? join(mkdtempSync(join(tmpdir(), "cas-server-test-")), "data");
  const port = String(options.port ?? 0);
  const proc = await startProgram(
    "server.ts",
    ["--host", "127.0.0.1", "--port", port, "--data-dir", dataDir, ...args],
    {
      env: options.env,
    },
  );
  const removeOwned = () => {
    if (owned) rmSync(join(dataDir, ".."), { recursive: true, force: true });
  };
  return {
    ...proc,
    dataDir,
    async dispose() {
      await proc.stop("SIGKILL");
      removeOwned();
    },
    async close() {
      await proc.stop();
      removeOwned();
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
