/**
 * Fault suite, peer loss under load: three cache peers in front of one origin, clients on two of them; the
 * third is killed with SIGKILL mid-run and restarted on its port. The survivors fail no request: a dead
 * owner costs only loads from the origin.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { freePort, type ProgramProcess } from "../../lib/common/program-process.ts";
import { cacheStats, putBlob, randomBytes, sha256, startCacheProcess } from "../support/cache-fixtures.ts";
import { percentile, reportFigures, scaled } from "../support/fault-run.ts";
import { startServer, type ServerProcess } from "../support/server-process.ts";

const BLOBS = 200;
const WORKERS = 16;
const RUN_MS = scaled(9000, 60_000);
/** Kill and restart cycles of the victim within the run. */
const CYCLES = scaled(1, 4);

let origin: ServerProcess;
let ports: number[];
let urls: string[];
const peers: (ProgramProcess | undefined)[] = [];
let keys: string[];

function startPeer(i: number): Promise<ProgramProcess> {
  return startCacheProcess(origin.url, [
    ...["--port", String(ports[i]), "--self", urls[i]!, "--peers", urls.join(",")],
    ...["--upstream-timeout", "5s"],
  ]);
}

beforeAll(async () => {
  origin = await startServer();
  ports = [freePort(), freePort(), freePort()];
  urls = ports.map((p) => `http://127.0.0.1:${p}`);
  for (let i = 0; i < 3; i++) peers[i] = await startPeer(i);
  keys = [];
  for (let i = 0; i < BLOBS; i += 50) {
    keys.push(...(await Promise.all(Array.from({ length: 50 }, () => putBlob(origin.url, randomBytes(2000))))));
  }
}, 60_000);
afterAll(async () => {
  for (const p of peers) await p?.stop("SIGKILL");
  await origin?.dispose();
});

test("kill -9 one of 3 peers under load and restart it: 0 failed requests to the survivors", async () => {
  const survivors = [urls[1]!, urls[2]!];
  const failures: string[] = [];
  const ms: number[] = [];
  let requests = 0;
  let duringOutage = 0;
  let down = false;
  const deadline = performance.now() + RUN_MS;

  async function worker(w: number): Promise<void> {
    for (let n = 0; performance.now() < deadline; n++) {
      const key = keys[(w * 7919 + n * 104729) % BLOBS]!;
      const target = survivors[(w + n) % 2]!;
      // One in four forced misses: they reach the key's owner, the victim for a third of the keys.
      const headers = n % 4 === 0 ? { "cache-control": "no-cache" } : undefined;
      const started = performance.now();
      requests++;
      if (down) duringOutage++;
      try {
        const res = await fetch(`${target}/cas/${key}`, { headers });
        const body = new Uint8Array(await res.arrayBuffer());
        if (res.status !== 200 || sha256(body) !== key) failures.push(`${res.status} from ${target}`);
      } catch (err) {
        failures.push(`${target}: ${(err as Error).message}`);
      }
      ms.push(performance.now() - started);
      await Bun.sleep(2);
    }
  }

  const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  const slice = RUN_MS / (CYCLES * 3);
  for (let c = 0; c < CYCLES; c++) {
    await Bun.sleep(slice);
    peers[0]!.proc.kill("SIGKILL");
    down = true;
    await peers[0]!.proc.exited;
    await Bun.sleep(slice);
    peers[0] = await startPeer(0);
    down = false;
    await Bun.sleep(slice);
  }
  await load;
  const stats = await Promise.all(survivors.map((u) => cacheStats(u)));
  const peerErrors = stats.reduce((sum, s) => sum + Number(s.PeerErrors), 0);
  const held = failures.length === 0;
  reportFigures(
    "peer loss under load (kill -9 1 of 3, restart)",
    { peers: 3, workers: WORKERS, runS: RUN_MS / 1000, killCycles: CYCLES, blobs: BLOBS },
    {
      requests,
      duringOutage,
      failed: failures.length,
      survivorPeerErrors: peerErrors,
      p50ms: percentile(ms, 50),
      p99ms: percentile(ms, 99),
    },
    held,
  );
  expect(failures.slice(0, 5)).toEqual([]);
  expect(duringOutage).toBeGreaterThan(0);
  expect(peerErrors).toBeGreaterThan(0);
}, 120_000);
