/**
 * GET of a 25,000-byte blob: server.ts against nginx serving a file of the same size, both pinned to core 0,
 * `wrk -t1 -c64 -d8s` pinned to core 1, rounds interleaved. Prints req/s per round, medians and the ratio
 * (goal: at least 0.6x nginx), and the server's CPU time per request (the anchor lists nginx at 9.1 µs).
 * Run under `flock /tmp/cas-bench.lock bun bench/server-get.ts [rounds]` (default 5).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestHex } from "../lib/common/key.ts";
import { startProgram } from "../lib/common/program-process.ts";
import { startNginx } from "./support/nginx.ts";
import { wrk } from "./support/wrk.ts";
import { formatCount, median, processCpuSeconds } from "./support/figures.ts";

const BLOB_BYTES = 25_000;
const SERVER_CORE = 0;
const WRK_CORE = 1;
const SECONDS = 8;
const rounds = Math.max(3, Number(process.argv[2] ?? 5) || 5);

const dataDir = mkdtempSync(join(tmpdir(), "cas-bench-server-get-"));
const nginx = await startNginx({ core: SERVER_CORE, fileBytes: BLOB_BYTES });
const server = await startProgram("server.ts", ["--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir]);
try {
  const pin = Bun.spawnSync(["taskset", "-a", "-cp", String(SERVER_CORE), String(server.proc.pid)], {
    stdout: "ignore",
  });
  if (pin.exitCode !== 0) throw new Error("taskset could not pin the server");
  const blob = crypto.getRandomValues(new Uint8Array(BLOB_BYTES));
  const hash = digestHex("sha256", blob);
  const put = await fetch(`${server.url}/cas/${hash}`, { method: "PUT", body: blob });
  if (put.status !== 201) throw new Error(`upload failed: ${put.status} ${await put.text()}`);
  const blobUrl = `${server.url}/cas/${hash}`;
  const got = new Uint8Array(await (await fetch(blobUrl)).arrayBuffer());
  if (got.length !== BLOB_BYTES || digestHex("sha256", got) !== hash) throw new Error("server returned wrong bytes");

  const nginxRps: number[] = [];
  const serverRps: number[] = [];
  const serverCpu: number[] = [];
  console.log(
    `GET ${BLOB_BYTES} bytes, wrk -t1 -c64 -d${SECONDS}s on core ${WRK_CORE}, targets on core ${SERVER_CORE}`,
  );
  for (let round = 1; round <= rounds; round++) {
    nginxRps.push(wrk(nginx.fileUrl, { core: WRK_CORE, seconds: SECONDS }));
    const cpuBefore = processCpuSeconds(server.proc.pid);
    serverRps.push(wrk(blobUrl, { core: WRK_CORE, seconds: SECONDS }));
    const cpuSeconds = processCpuSeconds(server.proc.pid) - cpuBefore;
    serverCpu.push((cpuSeconds / (serverRps.at(-1)! * SECONDS)) * 1e6);
    console.log(
      `round ${round}: nginx ${formatCount(nginxRps.at(-1)!)} req/s, server ${formatCount(serverRps.at(-1)!)} req/s ` +
        `(${serverCpu.at(-1)!.toFixed(1)} µs CPU per request)`,
    );
  }
  const n = median(nginxRps);
  const s = median(serverRps);
  console.log(
    `median: nginx ${formatCount(n)} req/s, server ${formatCount(s)} req/s, ${median(serverCpu).toFixed(1)} µs CPU per request`,
  );
  console.log(`ratio server/nginx: ${(s / n).toFixed(2)}x (goal >= 0.60x)`);
} finally {
  await server.stop();
  await nginx.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
