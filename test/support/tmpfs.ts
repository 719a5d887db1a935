/**
 * A small tmpfs of the test's own, for a disk that really fills up (ENOSPC from the kernel, not a stand-in).
 * Needs permission to mount: guard the tests with requireMount() from ./requires.ts.
 */
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Tmpfs {
  dir: string;
  /** Bytes still free for writing. */
  free(): number;
  /** Fills what is free with a file at `<dir>/ballast` (up to the last block); remove it to give the space back. */
  fill(): string;
  /** Unmounts it and removes the mount point. */
  dispose(): void;
}

/** Mounts a tmpfs of `bytes` (rounded up to pages by the kernel) on a fresh temp dir. */
export function mountTmpfs(bytes: number): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), "cas-tmpfs-"));
  const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${bytes},mode=0755`, "tmpfs", dir], {
    stderr: "pipe",
  });
  if (mounted.exitCode !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mount tmpfs on ${dir} failed: ${mounted.stderr.toString().trim()}`);
  }
  const free = () => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };
  return {
    dir,
    free,
    fill() {
      const path = join(dir, "ballast");
      writeFileSync(path, new Uint8Array(free()));
      return path;
    },
    dispose() {
      Bun.spawnSync(["umount", "-l", dir], { stderr: "ignore" });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
