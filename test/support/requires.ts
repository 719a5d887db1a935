/**
 * The one rule for tests that drive something from outside the project (promtool, Prometheus, Chromium, a
 * container engine, permission to mount): present, the test runs; missing outside CI, the test is skipped
 * with one line naming what to install; missing on CI (CI=true, where .ci/run installs it), a test fails.
 *
 *   const promtool = requireTool("promtool", "apt-get install prometheus");
 *   test.skipIf(!promtool)("promtool check metrics finds nothing", ...);
 */
import { test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RequireOptions {
  /**
   * Whether CI must provide it: true for what .ci/run installs. False for what CI cannot get (no package
   * in Debian), skipped with the same one line everywhere. @default true
   */
  onCi?: boolean;
}

/** True when CI=true (or any value but "false"), as on CI runners and in .ci/run. */
export const ON_CI = (process.env.CI ?? "") !== "" && process.env.CI !== "false";

const announced = new Set<string>();

/**
 * True when `tool` is an executable on PATH. Otherwise false, after one line on stderr (once per tool) saying
 * `install`; on CI it also registers a failing test in the calling scope, so the requirement cannot go
 * untested unnoticed.
 */
export function requireTool(tool: string, install: string, options: RequireOptions = {}): boolean {
  return requirement(tool, Bun.which(tool) !== null, install, options);
}

/**
 * True when this process may mount a tmpfs (root, or CAP_SYS_ADMIN), found by mounting one for real. Tests
 * that need a small file system of their own (a full disk) use it; CI runs as root.
 */
export function requireMount(options: RequireOptions = {}): boolean {
  return requirement("permission to mount", canMount(), "run as root (CI does), or with CAP_SYS_ADMIN", options);
}

function requirement(what: string, present: boolean, install: string, options: RequireOptions): boolean {
  if (present) return true;
  const mustHave = ON_CI && (options.onCi ?? true);
  if (mustHave) {
    test(`needs ${what} (CI must provide it: ${install})`, () => {
      throw new Error(`${what} is missing on CI; .ci/run must provide it: ${install}`);
    });
  } else if (!announced.has(what)) {
    announced.add(what);
    process.stderr.write(`skip: tests that need ${what} (missing; to run them: ${install})\n`);
  }
  return false;
}

let mountable: boolean | undefined;

function canMount(): boolean {
  if (mountable !== undefined) return mountable;
  if (Bun.which("mount") === null || Bun.which("umount") === null) return (mountable = false);
  const dir = mkdtempSync(join(tmpdir(), "cas-mount-probe-"));
  try {
    const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], {
      stdout: "ignore",
      stderr: "ignore",
    });
    mountable = mounted.exitCode === 0;
    if (mountable) Bun.spawnSync(["umount", dir], { stdout: "ignore", stderr: "ignore" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return mountable;
}
