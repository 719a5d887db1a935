/**
 * Raw PUT of a 256 MiB random blob with verification and fsync (`curl -T`, loopback) against anchors on the
 * same file system, rounds interleaved: nginx's WebDAV PUT of the same file (1 worker; it neither verifies nor
 * fsyncs; goal: at most 1.2x it), the same followed by `sync` (what it takes nginx to have the bytes on disk),
 * `dd bs=1M conv=fsync`, `openssl dgst -sha256` of the file from the page cache (the verification pass alone,
 * which no anchor pays) and a bare Bun.serve reading the body into nothing (bench/support/bare-serve.ts: what
 * receiving costs in Bun before any code of ours); then the server's RSS growth during a 1 GiB raw PUT (goal:
 * under 64 MiB). Server, nginx, openssl and the bare server on core 0, curl on core 1.
 * Run under `flock /tmp/cas-bench.lock bun bench/server-put.ts`.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasherFor } from "../lib/common/key.ts";
import { startProgram } from "../lib/common/program-process.ts";
import { startBareServe } from "./support/bare-serve.ts";
import { median } from "./support/figures.ts";
import { startNginx } from "./support/nginx.ts";

const MIB = 2 ** 20;
const ROUNDS = 5;
const work = mkdtempSync(join(tmpdir(), "cas-bench-server-put-"));
chmodSync(work, 0o711); // nginx's unprivileged workers write below it
const dataDir = join(work, "data");
const small = join(work, "blob-256MiB");
const big = join(work, "blob-1GiB");

const server = await startProgram("server.ts", ["--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir]);
Bun.spawnSync(["taskset", "-a", "-cp", "0", String(server.proc.pid)], { stdout: "ignore" });
const nginx = await startNginx({ core: 0, dav: join(work, "dav") });
const bare = await startBareServe(1, 0);
try {
  await writeRandomFile(small, 256 * MIB);
  const smallHash = await hashFile(small);
  const blobPath = join(dataDir, "sha256", smallHash.slice(0, 2), smallHash);
  const putTimes: number[] = [];
  const ddTimes: number[] = [];
  const nginxTimes: number[] = [];
  const nginxSyncTimes: number[] = [];
  const hashTimes: number[] = [];
  const bareTimes: number[] = [];
  const curl = (url: string) => ["taskset", "-c", "1", "curl", "-sS", "-f", "-o", "/dev/null", "-T", small, url];
  console.log(
    `256 MiB: curl -T (raw PUT, verified, fsynced) vs nginx WebDAV PUT and dd bs=1M conv=fsync, ${ROUNDS} rounds`,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    const ddTarget = join(dataDir, "dd-copy");
    // Start each timing with no dirty pages pending, so neither side pays for the other's writeback.
    settleDisk();
    ddTimes.push(await timed(["dd", `if=${small}`, `of=${ddTarget}`, "bs=1M", "conv=fsync", "status=none"]));
    await rm(ddTarget);
    settleDisk();
    nginxTimes.push(await timed(curl(`${nginx.davUrl}/blob`)));
    nginxSyncTimes.push(nginxTimes.at(-1)! + (await timed(["sync"])));
    await rm(join(work, "dav", "blob"));
    hashTimes.push(await timed(["taskset", "-c", "0", "openssl", "dgst", "-sha256", "-out", "/dev/null", small]));
    bareTimes.push(await timed(curl(`${bare.url}blob`)));
    settleDisk();
    putTimes.push(await timed(curl(`${server.url}/cas/${smallHash}`)));
    // Remove the stored blob so the next round writes it again instead of only verifying it.
    await rm(blobPath);
    console.log(
      `round ${round}: dd ${ddTimes.at(-1)!.toFixed(3)} s, nginx PUT ${nginxTimes.at(-1)!.toFixed(3)} s ` +
        `(+ sync ${nginxSyncTimes.at(-1)!.toFixed(3)} s), openssl sha256 ${hashTimes.at(-1)!.toFixed(3)} s, ` +
        `bare Bun receive ${bareTimes.at(-1)!.toFixed(3)} s, ` +
        `PUT ${putTimes.at(-1)!.toFixed(3)} s`,
    );
  }
  const dd = median(ddTimes);
  const put = median(putTimes);
  const nginxPut = median(nginxTimes);
  const nginxSynced = median(nginxSyncTimes);
  const hash = median(hashTimes);
  const receive = median(bareTimes);
  console.log(
    `median: dd ${dd.toFixed(3)} s, nginx PUT ${nginxPut.toFixed(3)} s (then synced ${nginxSynced.toFixed(3)} s), ` +
      `openssl sha256 ${hash.toFixed(3)} s, bare Bun receive ${receive.toFixed(3)} s, PUT ${put.toFixed(3)} s`,
  );
  console.log(
    `ratio PUT/nginx PUT: ${(put / nginxPut).toFixed(2)}x (goal <= 1.20x); PUT/(nginx PUT + sync): ` +
      `${(put / nginxSynced).toFixed(2)}x; PUT/dd: ${(put / dd).toFixed(2)}x; the SHA-256 pass alone is ` +
      `${(hash / nginxPut).toFixed(2)}x nginx's whole PUT, Bun's receiving alone ${(receive / nginxPut).toFixed(2)}x, ` +
      `the two together ${((hash + receive) / nginxPut).toFixed(2)}x before a byte is written`,
  );

  // 1 GiB: four copies of the 256 MiB file, so no second random file is needed.
  await concatFile(big, small, 4);
  const bigHash = await hashFile(big);
  await rm(small);
  settleDisk();
  const before = rssBytes(server.proc.pid);
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssBytes(server.proc.pid));
  }, 10);
  const bigTime = await timed(["curl", "-sS", "-f", "-o", "/dev/null", "-T", big, `${server.url}/cas/${bigHash}`]);
  clearInterval(sampler);
  peak = Math.max(peak, rssBytes(server.proc.pid));
  const growth = (peak - before) / MIB;
  console.log(
    `1 GiB raw PUT: ${bigTime.toFixed(2)} s; server RSS ${(before / MIB).toFixed(1)} MiB before, ` +
      `${(peak / MIB).toFixed(1)} MiB peak, growth ${growth.toFixed(1)} MiB (goal < 64 MiB)`,
  );
} finally {
  bare.stop();
  await nginx.stop();
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}

function settleDisk(): void {
  Bun.spawnSync(["sync"]);
}

async function timed(cmd: string[]): Promise<number> {
  const started = performance.now();
  const proc = Bun.spawn(cmd, { stdout: "ignore", stderr: "inherit" });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`${cmd[0]} exited with ${code}`);
  return (performance.now() - started) / 1000;
}

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const handle = await open(path, "w");
  const chunk = new Uint8Array(MIB);
  for (let written = 0; written < bytes; written += MIB) {
    // getRandomValues fills at most 64 KiB per call.
    for (let i = 0; i < MIB; i += 65536) crypto.getRandomValues(chunk.subarray(i, i + 65536));
    await handle.write(chunk);
  }
  await handle.close();
}

async function concatFile(target: string, source: string, copies: number): Promise<void> {
  const handle = await open(target, "w");
  for (let i = 0; i < copies; i++) {
    for await (const chunk of Bun.file(source).stream()) await handle.write(chunk);
  }
  await handle.close();
}

async function hashFile(path: string): Promise<string> {
  const hasher = hasherFor("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) * 1024 : 0;
}
