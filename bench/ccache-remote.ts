/**
 * ccache's remote storage, ours against nginx as a WebDAV store (the setup ccache's HTTP how-to gives), both
 * pinned to core 0 and with `layout=bazel` so the requests are the same: a generated project of 50 C files compiled through ccache
 * (2 jobs), cold (empty local cache, keys the remote has never seen: compile and upload) and warm (empty local
 * cache, every result on the remote: download only), rounds interleaved, with gcc alone as a third figure.
 * Prints each round, the medians and ours/nginx. Each warm build must be all remote hits and give byte-identical
 * objects, or the run fails. Run under `flock /tmp/cas-bench.lock bun bench/ccache-remote.ts [rounds]`.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestHex } from "../lib/common/key.ts";
import { startProgram, type ProgramProcess } from "../lib/common/program-process.ts";
import { writeCProject, type CProject } from "../test/fixtures/c-project.ts";
import {
  buildProject,
  ccacheStats,
  clearLocal,
  GCC,
  missingBuildTools,
  objectPath,
  type CcacheOptions,
} from "../test/support/ccache.ts";
import { runCommand } from "../test/support/run-command.ts";
import { loadAverage, median } from "./support/figures.ts";
import { startNginx, type Nginx } from "./support/nginx.ts";

const UNITS = 50;
const JOBS = 2;
const STORE_CORE = 0;
const rounds = Math.max(1, Number(process.argv[2] ?? 3) || 3);
// Bounded in time whatever happens: a hung build must not hold the bench lock.
const LIMIT_MS = 10 * 60_000;

interface Backend {
  name: string;
  remote: string;
  cold: number[];
  warm: number[];
}

const missing = missingBuildTools();
if (missing.length > 0) {
  console.error(`needs ${missing.join(" and ")} (Debian packages ccache, gcc)`);
  process.exit(2);
}
const watchdog = setTimeout(() => {
  console.error(`gave up after ${LIMIT_MS / 60_000} min`);
  process.exit(1);
}, LIMIT_MS);

const work = mkdtempSync(join(tmpdir(), "cas-bench-ccache-"));
let server: ProgramProcess | undefined;
let nginx: Nginx | undefined;
try {
  server = await startProgram("server.ts", ["--host", "127.0.0.1", "--port", "0", "--data-dir", join(work, "data")]);
  // Both stores on core 0 (nginx is started there); the compiles spread over both cores in either case.
  Bun.spawnSync(["taskset", "-a", "-cp", String(STORE_CORE), String(server.proc.pid)], { stdout: "ignore" });
  nginx = await startNginx({ core: STORE_CORE, dav: join(work, "dav") });
  const project = writeCProject(join(work, "project"), UNITS);
  const backends: Backend[] = [
    { name: "server.ts", remote: `${server.url}|layout=bazel`, cold: [], warm: [] },
    { name: "nginx", remote: `${nginx.davUrl}|layout=bazel`, cold: [], warm: [] },
  ];
  const plain: number[] = [];
  console.log(`${project.sources.length} C files, ccache ${JOBS} jobs, ${rounds} rounds, ${loadAverage()}`);
  for (let round = 1; round <= rounds; round++) {
    // A flag only this round uses: every key is new to every remote, so each cold build is truly cold.
    const cflags = [`-DBENCH_ROUND=${round}_${Date.now()}`];
    plain.push(await timed(() => buildPlain(project, cflags)));
    const order = round % 2 === 1 ? backends : [...backends].reverse();
    const line: string[] = [`round ${round}: gcc alone ${plain.at(-1)!.toFixed(2)} s`];
    for (const backend of order) {
      const options: CcacheOptions = { cacheDir: join(work, `ccache-${backend.name}`), remote: backend.remote, cflags };
      await clearLocal(options);
      backend.cold.push(await timed(() => buildProject(project, { ...options, jobs: JOBS })));
      const objects = objectDigests(project);
      await clearLocal(options);
      backend.warm.push(await timed(() => buildProject(project, { ...options, jobs: JOBS })));
      const stats = await ccacheStats(options);
      if (stats.remote_storage_hit !== project.sources.length) {
        throw new Error(`${backend.name}: warm build had ${stats.remote_storage_hit} remote hits`);
      }
      if (objectDigests(project) !== objects) throw new Error(`${backend.name}: objects differ after a remote hit`);
      line.push(`${backend.name} cold ${backend.cold.at(-1)!.toFixed(2)} s warm ${backend.warm.at(-1)!.toFixed(3)} s`);
    }
    console.log(line.join(", "));
  }
  const [ours, anchor] = backends as [Backend, Backend];
  const ratio = (a: number[], b: number[]) => (median(a) / median(b)).toFixed(2);
  console.log(`median gcc alone ${median(plain).toFixed(2)} s`);
  for (const backend of backends) {
    console.log(
      `median ${backend.name}: cold ${median(backend.cold).toFixed(2)} s, warm ${median(backend.warm).toFixed(3)} s`,
    );
  }
  console.log(
    `ours/nginx: cold ${ratio(ours.cold, anchor.cold)}x, warm ${ratio(ours.warm, anchor.warm)}x (time, lower is better); ${loadAverage()}`,
  );
} finally {
  clearTimeout(watchdog);
  await server?.stop();
  await nginx?.stop();
  rmSync(work, { recursive: true, force: true });
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

/** The same compiles without ccache, two at a time: what caching saves or costs against. */
async function buildPlain(project: CProject, cflags: string[]): Promise<void> {
  const queue = [...project.sources];
  const worker = async () => {
    for (let source = queue.shift(); source !== undefined; source = queue.shift()) {
      const out = objectPath(project, source);
      const result = await runCommand([GCC, "-O2", ...cflags, "-c", source, "-o", out], { cwd: project.dir });
      if (result.code !== 0) throw new Error(`gcc failed: ${result.stderr}`);
    }
  };
  await Promise.all(Array.from({ length: JOBS }, worker));
}

/** One digest over every object file, to compare a build with the next. */
function objectDigests(project: CProject): string {
  return project.sources.map((source) => digestHex("sha256", readFileSync(objectPath(project, source)))).join(",");
}
