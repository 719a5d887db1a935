/**
 * The origin as a build cache for real build tools from Debian, directly and through a cache.ts in front of it
 * (one URL for reads and writes): ccache with `layout=bazel` HTTP storage and Bazel with `--remote_cache`, each
 * building a generated C project, forgetting everything local, and building again from the remote alone. Skipped with one line naming the tool when it is missing, except on CI, where
 * .ci/run installs ccache, gcc and bazel-bootstrap and a missing tool fails.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestHex } from "../../lib/common/key.ts";
import type { StoreStatus } from "../../lib/server/store-status.ts";
import { writeCProject, type CProject } from "../fixtures/c-project.ts";
import { writeBazelWorkspace, type BazelWorkspace } from "../fixtures/bazel-workspace.ts";
import { bazelBuild, bazelClean, type BazelOptions } from "../support/bazel.ts";
import { requireTool } from "../support/requires.ts";
import { buildProject, ccacheStats, clearLocal, objectPath, type CcacheOptions } from "../support/ccache.ts";
import { runCommand } from "../support/run-command.ts";
import { startCacheProcess } from "../support/cache-fixtures.ts";
import { startServer, type ServerProcess } from "../support/server-process.ts";

// Debian's packages; outside CI a missing one skips its group with one line, on CI it fails.
const hasCcache = requireTool("ccache", "apt-get install ccache");
const hasGcc = requireTool("gcc", "apt-get install gcc");
const hasBazelTool = requireTool("bazel", "apt-get install bazel-bootstrap");
const TOKEN = "build-cache-token";
const BUILD_TIMEOUT_MS = 240_000;

const dirs: string[] = [];
const processes: { dispose(): Promise<void> }[] = [];
afterEach(async () => {
  for (const p of processes.splice(0)) await p.dispose();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `cas-build-cache-${name}-`));
  dirs.push(dir);
  return dir;
}

async function origin(): Promise<ServerProcess> {
  const server = await startServer(["--write-token", TOKEN]);
  processes.push(server);
  return server;
}

/** A cache.ts in front of `server`; what the build tools are pointed at in the "through the cache" cases. */
async function cacheTier(server: ServerProcess): Promise<string> {
  const cache = await startCacheProcess(server.url);
  processes.push({ dispose: async () => void (await cache.stop("SIGKILL")) });
  return cache.url;
}

async function status(url: string): Promise<StoreStatus> {
  // The origin's own /status JSON, whose shape test/server/action-cache.test.ts pins.
  return (await (await fetch(`${url}/status`)).json()) as StoreStatus;
}

/** One digest per object file, to compare a build with the next. */
function objectDigests(project: CProject): string[] {
  return project.sources.map((source) => digestHex("sha256", readFileSync(objectPath(project, source))));
}

async function runApp(dir: string, path = "app"): Promise<string> {
  const result = await runCommand([join(dir, path)]);
  expect(result.code).toBe(0);
  return result.stdout;
}

describe.skipIf(!hasCcache || !hasGcc)("ccache with layout=bazel HTTP storage (needs ccache and gcc)", () => {
  /** Cold build into an empty remote, local cache cleared, warm build from the remote alone. */
  async function coldThenWarm(remoteUrl: string, project: CProject, cacheDir: string): Promise<void> {
    const options: CcacheOptions = { cacheDir, remote: `${remoteUrl}|layout=bazel|bearer-token=${TOKEN}` };
    await clearLocal(options);
    await buildProject(project, options);
    const cold = await ccacheStats(options);
    expect(cold).toMatchObject({ remote_storage_miss: project.sources.length, remote_storage_error: 0 });
    // A manifest and a result per compile, both under /ac/.
    expect(cold.remote_storage_write).toBe(2 * project.sources.length);
    const objects = objectDigests(project);

    await clearLocal(options);
    await buildProject(project, options);
    const warm = await ccacheStats(options);
    expect(warm).toMatchObject({
      remote_storage_hit: project.sources.length,
      remote_storage_miss: 0,
      local_storage_hit: 0,
      cache_miss: 0,
    });
    expect(objectDigests(project)).toEqual(objects);
    expect(await runApp(project.dir)).toBe(project.expectedOutput);
  }

  test(
    "a second build with the local cache cleared is all remote hits, object files byte-identical",
    async () => {
      const server = await origin();
      const work = tempDir("ccache");
      const project = writeCProject(join(work, "project"), 4);
      await coldThenWarm(server.url, project, join(work, "ccache"));
      expect((await status(server.url)).ac.entries).toBe(2 * project.sources.length);
    },
    BUILD_TIMEOUT_MS,
  );

  test(
    "the same through the cache tier: uploads and /ac/ reads pass through to the origin",
    async () => {
      const server = await origin();
      const work = tempDir("ccache-tier");
      const project = writeCProject(join(work, "project"), 4);
      await coldThenWarm(await cacheTier(server), project, join(work, "ccache"));
      expect((await status(server.url)).ac.entries).toBe(2 * project.sources.length);
    },
    BUILD_TIMEOUT_MS,
  );

  test(
    "without the write token the server stores nothing, and ccache still builds",
    async () => {
      const server = await origin();
      const work = tempDir("ccache-anon");
      const project = writeCProject(join(work, "project"), 2);
      const options: CcacheOptions = { cacheDir: join(work, "ccache"), remote: `${server.url}|layout=bazel` };
      await clearLocal(options);
      await buildProject(project, options);
      expect(await runApp(project.dir)).toBe(project.expectedOutput);
      expect((await status(server.url)).ac.entries).toBe(0);
    },
    BUILD_TIMEOUT_MS,
  );
});

describe.skipIf(!hasBazelTool)("Bazel --remote_cache (needs bazel, Debian's bazel-bootstrap)", () => {
  /** Build, `bazel clean`, build again: the second build's actions must all come from the remote cache. */
  async function buildCleanBuild(remoteCache: string): Promise<BazelWorkspace> {
    const work = tempDir("bazel");
    const workspace = writeBazelWorkspace(join(work, "ws"), 3);
    const options: BazelOptions = {
      outputUserRoot: join(work, "output"),
      remoteCache,
      remoteHeaders: [`Authorization=Bearer ${TOKEN}`],
    };
    const first = await bazelBuild(workspace.dir, workspace.targets, options);
    expect([first.executed, first.remoteCacheHits]).toEqual([workspace.spawnedActions, 0]);
    const app = readFileSync(join(workspace.dir, "bazel-bin", "app"));
    await bazelClean(workspace.dir, options);
    const second = await bazelBuild(workspace.dir, workspace.targets, options);
    expect([second.executed, second.remoteCacheHits]).toEqual([0, workspace.spawnedActions]);
    expect(readFileSync(join(workspace.dir, "bazel-bin", "app"))).toEqual(app);
    expect(await runApp(workspace.dir, "bazel-bin/app")).toBe(workspace.project.expectedOutput);
    expect(readFileSync(join(workspace.dir, "bazel-bin", "declarations.txt"), "utf8")).toBe("3\n");
    return workspace;
  }

  test(
    "after bazel clean, every action of the rebuild is a remote cache hit",
    async () => {
      const server = await origin();
      const workspace = await buildCleanBuild(server.url);
      const figures = await status(server.url);
      // One entry per action, each naming its outputs, which are blobs.
      expect(figures.ac.entries).toBe(workspace.spawnedActions);
      expect(figures.cas.blobs).toBeGreaterThan(0);
    },
    BUILD_TIMEOUT_MS,
  );

  test(
    "the same through the cache tier, blobs served from the cache and action results from the origin",
    async () => {
      const server = await origin();
      const cache = await cacheTier(server);
      const workspace = await buildCleanBuild(cache);
      expect((await status(server.url)).ac.entries).toBe(workspace.spawnedActions);
      const stats = (await (await fetch(`${cache}/stats`)).json()) as { Gets: number };
      expect(stats.Gets).toBeGreaterThan(0);
    },
    BUILD_TIMEOUT_MS,
  );
});
