/**
 * Faults across hosts, on compose.yaml's stack under client load (one client per cache replica): a cache
 * container killed with SIGKILL (its restart policy brings it back into the ring), a cache cut off the
 * network and reconnected (a partition), and the server container restarted (the named volume keeps
 * every blob). Prints, for each, the failed requests per replica and how long recovery took.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { ensureAppImage } from "../../support/containers/app-image.ts";
import { failedRequests, summary, type ClientReport } from "../../support/containers/client-report.ts";
import { composeClis } from "../../support/containers/compose-cli.ts";
import { composeOk, createStack } from "../../support/containers/compose-stack.ts";
import { docker, dockerOut, inspect } from "../../support/containers/docker-cli.ts";
import { figure, seconds } from "../../support/containers/figures.ts";
import { APP_IMAGE, describeWithContainers } from "../../support/containers/readiness.ts";
import { startReplicaLoad } from "../../support/containers/replica-load.ts";
import { waitFor } from "../../support/wait-for.ts";

// `any`: the caches' /stats JSON; the tests read the fields they need.
type Obj = Record<string, any>;

const LOAD = { rate: 40, hitRatio: 0.9, maxDuration: "120s" };
/** Steady load before each fault and after recovery, so the reports hold both sides of it. */
const STEADY_MS = 3000;
const PARTITION_MS = 10_000;

const [cli] = await composeClis();

async function stats(url: string): Promise<Obj | undefined> {
  try {
    return (await (await fetch(`${url}/stats`, { signal: AbortSignal.timeout(2000) })).json()) as Obj;
  } catch {
    return undefined;
  }
}

/** "cache-2": the service and replica number, as compose numbers them under v2 and 1.29 alike. */
async function replicaName(id: string): Promise<string> {
  return (await inspect(
    id,
    '{{index .Config.Labels "com.docker.compose.service"}}-{{index .Config.Labels "com.docker.compose.container-number"}}',
  ))!;
}

/** "0 of 812 failed" per replica, the fault's target marked. */
function perReplica(reports: Map<string, ClientReport>, names: Map<string, string>, target: string): string {
  return [...reports]
    .map(([id, r]) => {
      const codes = Object.entries(r.status_codes)
        .filter(([c]) => c !== "200")
        .map(([c, n]) => `${c}:${n}`)
        .join(" ");
      return `${names.get(id)}${id === target ? " (target)" : ""} ${failedRequests(r)}/${r.requests} failed${codes ? ` [${codes}]` : ""}`;
    })
    .join("; ");
}

/**
 * SIGKILL to the container's first process, as a crash (not `docker kill`, which the engine counts as
 * a deliberate stop and so does not restart). Where the engine's processes are not this machine's (a
 * VM, as with Docker Desktop), a helper container in the engine's PID namespace sends it.
 */
async function crash(id: string): Promise<number> {
  const pid = Number(await inspect(id, "{{.State.Pid}}"));
  const cgroup = `/proc/${pid}/cgroup`;
  if (existsSync(cgroup) && readFileSync(cgroup, "utf8").includes(id)) {
    process.kill(pid, "SIGKILL");
  } else {
    await dockerOut([
      "run",
      "--rm",
      "--pid",
      "host",
      "--privileged",
      "--user",
      "0",
      APP_IMAGE,
      "bun",
      "-e",
      `process.kill(${pid}, "SIGKILL")`,
    ]);
  }
  return pid;
}

await describeWithContainers(`faults across hosts${cli ? ` (${cli.label})` : ""}, under client load`, () => {
  const stack = createStack(cli!, "casfault");
  const names = new Map<string, string>();

  beforeAll(async () => {
    await ensureAppImage();
    await stack.up(["server", "cache"]);
    await stack.waitHealthy({ prometheus: false });
    for (const id of await stack.containers("cache")) names.set(id, await replicaName(id));
    await waitFor("all three rings", 20_000, async () => {
      for (const url of (await stack.cacheUrls()).values())
        if ((await stats(url))?.Peers.length !== 3) return undefined;
      return true;
    });
  }, 180_000);

  afterAll(async () => {
    await stack.down();
  }, 60_000);

  /** ms from t0 until the replica answers /healthz on its published port (which a restart may move). */
  async function untilAnswering(id: string, t0: number): Promise<number> {
    return await waitFor(
      "the replica to answer on its published port",
      30_000,
      async () => {
        const url = (await stack.cacheUrls()).get(id);
        return url && (await fetch(`${url}/healthz`)).ok ? performance.now() - t0 : undefined;
      },
      50,
    );
  }

  /** ms from t0 until every replica answers on its published port and lists all three peers. */
  async function untilRejoined(t0: number): Promise<number> {
    return await waitFor(
      "every replica back in every ring",
      60_000,
      async () => {
        const urls = await stack.cacheUrls();
        if (urls.size !== 3) return undefined;
        for (const url of urls.values()) if ((await stats(url))?.Peers.length !== 3) return undefined;
        return performance.now() - t0;
      },
      50,
    );
  }

  test("kill -9 of one cache container: the survivors' requests do not fail; the restart policy brings it back into the ring", async () => {
    const urls = await stack.cacheUrls();
    const target = [...urls.keys()][1]!;
    const restartsBefore = Number(await inspect(target, "{{.RestartCount}}"));
    const load = await startReplicaLoad(stack.serverUrl, urls, LOAD);
    let reports: Map<string, ClientReport>;
    let running = 0;
    let answering = 0;
    let rejoined = 0;
    try {
      await Bun.sleep(STEADY_MS);
      const t0 = performance.now();
      const pid = await crash(target);
      running = await waitFor(
        "the killed replica to run again",
        30_000,
        async () => {
          const [state, newPid] = (await inspect(target, "{{.State.Running}} {{.State.Pid}}"))!.split(" ");
          return state === "true" && Number(newPid) !== pid ? performance.now() - t0 : undefined;
        },
        50,
      );
      answering = await untilAnswering(target, t0);
      rejoined = await untilRejoined(t0);
      await Bun.sleep(STEADY_MS);
    } finally {
      reports = await load.stop();
    }
    figure(
      `kill -9 ${names.get(target)}: ${perReplica(reports, names, target)}; running again after ${seconds(running)}, ` +
        `answering after ${seconds(answering)}, in all three rings after ${seconds(rejoined)}`,
    );
    for (const [id, r] of reports) if (id !== target) figure(`  ${names.get(id)}: ${summary(r)}`);
    expect(Number(await inspect(target, "{{.RestartCount}}"))).toBe(restartsBefore + 1);
    for (const [id, r] of reports) {
      if (id !== target)
        expect(`${names.get(id)}: ${failedRequests(r)} failed ${JSON.stringify(r.errors)}`).toBe(
          `${names.get(id)}: 0 failed []`,
        );
      expect(r.cas.integrity_failures).toBe(0);
    }
  }, 120_000);

  test("a cache cut off the network and reconnected: what the others do meanwhile, and how fast all recover", async () => {
    const urls = await stack.cacheUrls();
    const target = [...urls.keys()][2]!;
    const survivors = [...urls].filter(([id]) => id !== target);
    const networks = JSON.parse((await inspect(target, "{{json .NetworkSettings.Networks}}"))!) as Obj;
    const [network, endpoint] = Object.entries(networks)[0]!;
    // Its names on the network (the service name among them), less the short id Docker adds by itself.
    const aliases = (endpoint.Aliases as string[]).filter((a) => !target.startsWith(a));
    expect(aliases).toContain("cache");
    const peerErrorsBefore = await Promise.all(survivors.map(async ([, url]) => (await stats(url))!.PeerErrors));
    const load = await startReplicaLoad(stack.serverUrl, urls, LOAD);
    let reports: Map<string, ClientReport>;
    let dropped = 0;
    let answering = 0;
    let rejoined = 0;
    let targetView: Obj = {};
    try {
      await Bun.sleep(STEADY_MS);
      const t0 = performance.now();
      await dockerOut(["network", "disconnect", network, target]);
      // The survivors' DNS refresh stops naming it: each drops it from its ring.
      dropped = await waitFor(
        "the survivors to drop the cut-off replica",
        30_000,
        async () => {
          for (const [, url] of survivors) if ((await stats(url))?.Peers.length !== 2) return undefined;
          return performance.now() - t0;
        },
        50,
      );
      await Bun.sleep(Math.max(0, PARTITION_MS - (performance.now() - t0)));
      // Inside, the cut-off replica keeps its last peer set (a failed lookup changes nothing).
      targetView = JSON.parse(
        await dockerOut([
          "exec",
          target,
          "bun",
          "-e",
          "console.log(JSON.stringify(await (await fetch('http://127.0.0.1:18001/stats')).json()))",
        ]),
      ) as Obj;
      const t1 = performance.now();
      await dockerOut(["network", "connect", ...aliases.flatMap((a) => ["--alias", a]), network, target]);
      answering = await untilAnswering(target, t1);
      rejoined = await untilRejoined(t1);
      await Bun.sleep(STEADY_MS);
    } finally {
      reports = await load.stop();
    }
    const peerErrors = await Promise.all(
      survivors.map(async ([, url], i) => (await stats(url))!.PeerErrors - peerErrorsBefore[i]!),
    );
    figure(
      `partition of ${names.get(target)} for ${seconds(PARTITION_MS)}: ${perReplica(reports, names, target)}; ` +
        `survivors dropped it after ${seconds(dropped)} (peer errors ${peerErrors.join(" + ")}); ` +
        `it kept ${targetView.Peers?.length} peers meanwhile; after reconnecting: answering after ${seconds(answering)}, ` +
        `in all three rings after ${seconds(rejoined)}`,
    );
    for (const [id, r] of reports) if (id !== target) figure(`  ${names.get(id)}: ${summary(r)}`);
    for (const [id, r] of reports) {
      expect(r.cas.integrity_failures).toBe(0);
      // A survivor answers every request: hits from its own memory, misses from the origin once the
      // owner is out of reach; a miss that waited on the vanished owner ends as the cache's own 504.
      if (id !== target) for (const code of Object.keys(r.status_codes)) expect(["200", "504"]).toContain(code);
    }
    expect(targetView.Peers).toHaveLength(3);
  }, 120_000);

  test("the server container restarted: the caches' hits go on, misses recover, every blob is still there", async () => {
    const [server] = await stack.containers("server");
    const mounts = JSON.parse((await inspect(server!, "{{json .Mounts}}"))!) as Obj[];
    expect(mounts.find((m) => m.Destination === "/data")).toMatchObject({
      Type: "volume",
      Name: `${stack.project}_cas-data`,
    });
    // Blobs of our own, so each can be read back byte for byte.
    const blobs = Array.from({ length: 5 }, () => crypto.getRandomValues(new Uint8Array(10_000)));
    const keys: string[] = [];
    for (const blob of blobs) {
      const key = new Bun.CryptoHasher("sha256").update(blob).digest("hex");
      const res = await fetch(`${stack.serverUrl}/cas/${key}`, { method: "PUT", body: blob });
      expect(res.status).toBe(201);
      keys.push(key);
    }
    const urls = await stack.cacheUrls();
    const load = await startReplicaLoad(stack.serverUrl, urls, LOAD);
    const storedBlobs = async () =>
      Number(
        /^cas_store_blobs\{kind="cas"\} (\d+)$/m.exec(await (await fetch(`${stack.serverUrl}/metrics`)).text())![1],
      );
    let reports: Map<string, ClientReport>;
    let before = 0;
    let answering = 0;
    let missesServed = 0;
    let restartTook = 0;
    try {
      await Bun.sleep(STEADY_MS);
      before = await storedBlobs();
      const t0 = performance.now();
      await composeOk(stack, ["restart", "-t", "10", "server"]);
      restartTook = performance.now() - t0;
      answering = await waitFor(
        "the server to answer",
        30_000,
        async () => ((await fetch(`${stack.serverUrl}/healthz`)).ok ? performance.now() - t0 : undefined),
        50,
      );
      // A forced miss goes through a cache to the origin: served again once the origin is back.
      const viaCache = [...urls.values()][0]!;
      missesServed = await waitFor(
        "a cache miss to be served from the origin again",
        30_000,
        async () => {
          const res = await fetch(`${viaCache}/cas/${keys[0]}`, { headers: { "Cache-Control": "no-cache" } });
          await res.arrayBuffer();
          return res.ok ? performance.now() - t0 : undefined;
        },
        50,
      );
      await Bun.sleep(STEADY_MS);
    } finally {
      reports = await load.stop();
    }
    figure(
      `restart of the server: ${perReplica(reports, names, "")}; compose restart took ${seconds(restartTook)}, ` +
        `the origin answered after ${seconds(answering)}, cache misses served again after ${seconds(missesServed)}; ` +
        `blobs stored: ${before} before, ${await storedBlobs()} after`,
    );
    expect(await storedBlobs()).toBe(before);
    for (const [i, key] of keys.entries()) {
      const res = await fetch(`${stack.serverUrl}/cas/${key}`);
      expect(res.status).toBe(200);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(blobs[i]!);
    }
    for (const r of reports.values()) {
      expect(r.cas.integrity_failures).toBe(0);
      // While the origin is away only misses can fail, and they fail with the cache's own verdict.
      for (const code of Object.keys(r.status_codes)) expect(["200", "502", "504"]).toContain(code);
    }
  }, 120_000);
});
