/**
 * The real Dockerfile built by a real engine, and the image run as Kubernetes and compose run it: each
 * of the three programs as uid 1000 on a read-only root with no capabilities and no privilege escalation,
 * and the image's own HEALTHCHECK turning healthy. Prints the image's size and its cold and warm build times.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { buildAppImage } from "../../support/containers/app-image.ts";
import { docker, dockerOut, inspect, standInOf } from "../../support/containers/docker-cli.ts";
import { figure, megabytes, seconds } from "../../support/containers/figures.ts";
import { APP_IMAGE, describeWithContainers, dockerfileBases } from "../../support/containers/readiness.ts";
import { waitFor } from "../../support/wait-for.ts";

/** How compose.yaml and k8s/ run every program. */
const HARDENED = ["--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"];

await describeWithContainers("the image, built and run by a real engine", () => {
  const run = `casimg${process.pid}`;
  const network = `${run}-net`;
  const started: string[] = [];

  /** `docker run -d` a hardened container on the test network; its id. */
  async function runHardened(name: string, args: readonly string[]): Promise<string> {
    const id = await dockerOut([
      "run",
      "-d",
      "--name",
      `${run}-${name}`,
      "--network",
      network,
      "--network-alias",
      name,
      ...HARDENED,
      ...args,
    ]);
    started.push(id);
    return id;
  }

  /** What the kernel says about the container's first process: its uids, capabilities, no_new_privs. */
  async function processStatus(id: string): Promise<Record<string, string>> {
    const status = await dockerOut(["exec", id, "cat", "/proc/1/status"]);
    return Object.fromEntries(status.split("\n").map((line) => line.split(/:\s*/, 2) as [string, string]));
  }

  async function expectHardened(id: string, program: string): Promise<void> {
    const status = await processStatus(id);
    expect(`${program}: ${status.Uid}`).toBe(`${program}: 1000\t1000\t1000\t1000`);
    expect(`${program}: ${status.Gid}`).toBe(`${program}: 1000\t1000\t1000\t1000`);
    for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"])
      expect(`${program} ${set}: ${status[set]}`).toBe(`${program} ${set}: 0000000000000000`);
    expect(`${program} NoNewPrivs: ${status.NoNewPrivs}`).toBe(`${program} NoNewPrivs: 1`);
    const write = await docker(["exec", id, "sh", "-c", "echo x > /app/probe"]);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toContain("Read-only file system");
    expect(await inspect(id, "{{.HostConfig.ReadonlyRootfs}}")).toBe("true");
  }

  beforeAll(async () => {
    await dockerOut(["network", "create", network]);
  });

  afterAll(async () => {
    // -v: the anonymous volume the image's VOLUME /data gave the server.
    if (started.length > 0) await docker(["rm", "-f", "-v", ...started]);
    await docker(["network", "rm", network]);
  }, 60_000);

  test("docker build of the real Dockerfile, cold and warm", async () => {
    const from = [];
    for (const image of await dockerfileBases())
      from.push(`${image}${(await standInOf(image)) ? " (local stand-in)" : ""}`);
    const cold = await buildAppImage({ noCache: true });
    const warm = await buildAppImage();
    const size = Number(await inspect(APP_IMAGE, "{{.Size}}"));
    figure(
      `image ${APP_IMAGE}: ${megabytes(size)}; build cold ${seconds(cold)} (--no-cache), warm ${seconds(warm)}; FROM ${from.join(", ")}`,
    );
    expect(size).toBeGreaterThan(0);
    expect(await inspect(APP_IMAGE, "{{.Config.User}}")).toBe("1000:1000");
    expect(await inspect(APP_IMAGE, "{{json .Config.Cmd}}")).toBe('["bun","server.ts"]');
  }, 600_000);

  test("server, cache and client run as uid 1000, read-only, without capabilities; the HEALTHCHECK turns healthy", async () => {
    const t0 = performance.now();
    const server = await runHardened("server", [APP_IMAGE]); // the image's default command
    const cache = await runHardened("cache", [
      ...["-e", "CAS_ORIGIN=http://server:5000", "-e", "HEALTHCHECK_URL=http://127.0.0.1:18001/healthz"],
      ...[APP_IMAGE, "bun", "cache.ts"],
    ]);
    const healthyAfter: Record<string, number> = {};
    await waitFor("the server and the cache to turn healthy", 60_000, async () => {
      for (const [name, id] of [
        ["server", server],
        ["cache", cache],
      ] as const) {
        const health = await inspect(id, "{{.State.Health.Status}}");
        if (health === "unhealthy") throw new Error(`${name} turned unhealthy: ${await dockerOut(["logs", id])}`);
        if (health === "healthy") healthyAfter[name] ??= performance.now() - t0;
      }
      return Object.keys(healthyAfter).length === 2 ? true : undefined;
    });
    figure(
      `HEALTHCHECK healthy: server after ${seconds(healthyAfter.server!)}, cache after ${seconds(healthyAfter.cache!)} (interval 10 s)`,
    );
    await expectHardened(server, "server");
    await expectHardened(cache, "cache");

    // The client uploads to the server's store (its volume is writable by uid 1000), then attacks the cache.
    const client = await runHardened("client", [
      APP_IMAGE,
      ...["bun", "client.ts", "--server", "http://server:5000", "--cache", "http://cache:18001"],
      ...["--rate", "20", "--duration", "4s", "--blobs", "5", "--quiet"],
    ]);
    await waitFor("the client to be running", 10_000, async () =>
      (await inspect(client, "{{.State.Running}}")) === "true" ? true : undefined,
    );
    await expectHardened(client, "client");
    expect(await dockerOut(["wait", client])).toBe("0");
    const { stdout } = await docker(["logs", client]);
    const report = JSON.parse(stdout) as { requests: number; success: number; status_codes: Record<string, number> };
    expect(report.status_codes).toEqual({ "200": 80 });
    expect(report.success).toBe(1);
  }, 120_000);
});
