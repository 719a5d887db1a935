/**
 * compose.yaml: valid against the current compose-spec schema (shipped offline by dclint), loadable by
 * Compose 1.29 too, the three programs wired as the README describes, and Prometheus and Grafana pointed
 * at them and at the one dashboard: what can be proved without an engine (test/deploy/containers/ runs
 * the file for real).
 */
import { describe, expect, test } from "bun:test";
import { Ajv } from "ajv";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { PROJECT_ROOT } from "../../lib/common/program-process.ts";
import { acceptedConfig, flagsIn } from "../support/program-help.ts";
import { runCommand } from "../support/run-command.ts";

// `any`: parsed YAML, whose shape the schema test vouches for.
type Obj = Record<string, any>;

const compose = Bun.YAML.parse(await Bun.file(resolve(PROJECT_ROOT, "compose.yaml")).text()) as Obj;
const services: Record<string, Obj> = compose.services;
const PROGRAMS = ["server", "cache", "client"];
const env = (service: string): Record<string, string> => services[service]!.environment ?? {};

/** `${VAR:-default}` -> default, as compose interpolates with nothing set. */
function interpolate(value: string): string {
  return value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, "$1");
}

describe("compose.yaml", () => {
  test("validates against the compose-spec JSON schema", async () => {
    const require = createRequire(import.meta.url);
    const schemaPath = join(dirname(require.resolve("dclint/package.json")), "schemas/compose.schema.json");
    const schema = (await Bun.file(schemaPath).json()) as Obj;
    expect(schema.$id).toBe("compose_spec.json");
    // The schema names draft-07 by an https URL that Ajv does not register; its content is draft-07.
    const validate = new Ajv({ allErrors: true, strict: false, validateSchema: false }).compile(schema);
    const ok = validate(compose);
    expect(ok ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`)).toEqual(
      [],
    );
  });

  test("the schema check can fail: a misspelt service key is rejected", async () => {
    const require = createRequire(import.meta.url);
    const schemaPath = join(dirname(require.resolve("dclint/package.json")), "schemas/compose.schema.json");
    const validate = new Ajv({ strict: false, validateSchema: false }).compile(await Bun.file(schemaPath).json());
    expect(validate({ services: { server: { ...services.server, comand: ["bun"] } } })).toBe(false);
  });

  test("has no top-level name: (Compose 1.29 rejects the whole file for it)", () => {
    // 1.29's schema allows only version, services, networks, volumes, secrets, configs and x- keys.
    const v1Keys = ["version", "services", "networks", "volumes", "secrets", "configs"];
    for (const key of Object.keys(compose)) expect(v1Keys.includes(key) || key.startsWith("x-"), key).toBe(true);
  });

  test("every published host port can be moved by a variable, and defaults to the documented one", () => {
    const published = Object.entries(services).flatMap(([name, s]) =>
      ((s.ports ?? []) as string[]).map((p) => [name, p] as const),
    );
    expect(published.length).toBe(4);
    for (const [name, port] of published)
      expect(`${name}: ${port}`).toMatch(/: \$\{CAS_[A-Z_]+_HOST_PORTS?:-[\d-]+\}:\d+$/);
  });

  test("the three programs run from the one image the Dockerfile builds", () => {
    for (const name of PROGRAMS) {
      const s = services[name]!;
      expect(s.build).toBe(".");
      expect(s.image).toBe(services.server!.image);
      expect(s.command.slice(0, 2)).toEqual(["bun", `${name}.ts`]);
      expect(s.read_only).toBe(true);
      expect(s.cap_drop).toEqual(["ALL"]);
    }
  });

  test("the server keeps its store in a named volume at its data dir", () => {
    const s = services.server!;
    const mount = (s.volumes as string[]).find((v) => v.endsWith(`:${env("server").CAS_DATA_DIR}`));
    expect(mount).toBeDefined();
    expect(Object.keys(compose.volumes)).toContain(mount!.split(":")[0]!);
    expect(s.ports.map(interpolate)).toContain(`${env("server").CAS_SERVER_PORT}:${env("server").CAS_SERVER_PORT}`);
  });

  test("three cache replicas find each other through the service name and load from the server", () => {
    const s = services.cache!;
    expect(s.deploy.replicas).toBe(3);
    const args: string[] = s.command;
    expect(args[args.indexOf("--peers-dns") + 1]).toBe("cache");
    expect(env("cache").CAS_ORIGIN).toBe(`http://server:${env("server").CAS_SERVER_PORT}`);
    expect(env("cache").HEALTHCHECK_URL).toBe(`http://127.0.0.1:${env("cache").LISTEN_PORT}/healthz`);
    // A host port per replica.
    expect(s.ports.map(interpolate)).toEqual([`18001-18003:${env("cache").LISTEN_PORT}`]);
    expect(s.depends_on.server.condition).toBe("service_healthy");
  });

  test("the client is a one-shot run in profile load, aimed at the server and the caches", () => {
    const s = services.client!;
    expect(s.profiles).toEqual(["load"]);
    expect(s.restart).toBe("no");
    expect(s.healthcheck).toEqual({ disable: true });
    const args: string[] = s.command;
    expect(args[args.indexOf("--server") + 1]).toBe(`http://server:${env("server").CAS_SERVER_PORT}`);
    expect(args[args.indexOf("--cache") + 1]).toBe(`http://cache:${env("cache").LISTEN_PORT}`);
  });

  test("every flag and environment variable given to a program is one it accepts", async () => {
    const imageEnv = ["HEALTHCHECK_URL"]; // read by the image's HEALTHCHECK, not by the program
    for (const name of PROGRAMS) {
      const accepted = await acceptedConfig(`${name}.ts`);
      for (const flag of flagsIn(services[name]!.command)) expect(accepted.flags, `${name} ${flag}`).toContain(flag);
      for (const key of Object.keys(env(name))) {
        if (!imageEnv.includes(key)) expect(accepted.env, `${name} env ${key}`).toContain(key);
      }
    }
  });

  test("the default load run's settings are values the client accepts", async () => {
    const e = Object.fromEntries(Object.entries(env("client")).map(([k, v]) => [k, interpolate(String(v))]));
    // Parsing happens before any traffic: aimed at a closed port, a run with good settings fails on the
    // upload (not with exit 2, which means a bad flag or value).
    const client = [process.execPath, resolve(PROJECT_ROOT, "client.ts")];
    const { stderr, code } = await runCommand([...client, "--server", "http://127.0.0.1:1", "--quiet"], { env: e });
    expect(stderr).not.toContain("invalid value");
    expect(code).not.toBe(2);
  });

  test("Prometheus scrapes the server, every cache replica and the client by their service names", async () => {
    const p = services.prometheus!;
    const mount = (p.volumes as string[]).find((v) => v.includes("/etc/prometheus/prometheus.yml"))!;
    const configPath = resolve(PROJECT_ROOT, mount.split(":")[0]!);
    const config = Bun.YAML.parse(await Bun.file(configPath).text()) as Obj;
    const jobs = new Map<string, Obj>(config.scrape_configs.map((j: Obj) => [j.job_name, j]));
    expect(jobs.get("cas-server")!.static_configs[0].targets).toEqual([`server:${env("server").CAS_SERVER_PORT}`]);
    expect(jobs.get("cas-cache")!.dns_sd_configs[0]).toMatchObject({
      names: ["cache"],
      type: "A",
      port: Number(env("cache").LISTEN_PORT),
    });
    const clientArgs: string[] = services.client!.command;
    expect(jobs.get("cas-client")!.dns_sd_configs[0]).toMatchObject({
      names: ["client"],
      port: Number(clientArgs[clientArgs.indexOf("--metrics-port") + 1]),
    });
    expect(p.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    // Rule files are named relative to the config, and mounted beside it.
    for (const file of config.rule_files as string[]) {
      const rulesMount = (p.volumes as string[]).find((v) => v.split(":")[1] === `/etc/prometheus/${file}`);
      expect(rulesMount?.split(":")[0]).toBe(`./monitoring/prometheus/${file}`);
    }
  });

  test("Grafana gets the Prometheus data source and the dashboard from monitoring/", async () => {
    const g = services.grafana!;
    expect(g.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    const mounts = new Map<string, string>(
      (g.volumes as string[]).filter((v) => v.startsWith("./")).map((v) => [v.split(":")[1]!, v.split(":")[0]!]),
    );
    const provisioning = resolve(PROJECT_ROOT, mounts.get("/etc/grafana/provisioning")!);
    const datasources = Bun.YAML.parse(await Bun.file(join(provisioning, "datasources/prometheus.yaml")).text()) as Obj;
    expect(datasources.datasources[0]).toMatchObject({ type: "prometheus", url: "http://prometheus:9090" });
    const providers = Bun.YAML.parse(await Bun.file(join(provisioning, "dashboards/cas-harness.yaml")).text()) as Obj;
    const dashboardsIn: string = providers.providers[0].options.path;
    const hostDir = resolve(PROJECT_ROOT, mounts.get(dashboardsIn)!);
    expect(hostDir).toBe(resolve(PROJECT_ROOT, "monitoring/grafana/dashboards"));
    expect(await Bun.file(join(hostDir, "cas-harness.json")).exists()).toBe(true);
    expect(g.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(`${dashboardsIn}/cas-harness.json`);
  });

  test("every image pulled from a registry is pinned to a version", () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build !== undefined) continue; // ours, built from the Dockerfile
      expect(`${name}: ${s.image}`).toMatch(/:[^:]*\d[^:]*$/);
      expect(s.image).not.toEndWith(":latest");
    }
  });
});
