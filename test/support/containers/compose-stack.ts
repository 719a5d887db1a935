/**
 * The project's compose.yaml brought up for real under one Compose implementation, as its own project
 * (a unique -p name, its own network and volumes) with every published port moved to a free host port
 * through the file's CAS_*_HOST_PORT variables, picked just before `up`. Everything it starts,
 * `down()` removes.
 */
import { resolve } from "node:path";
import { PROJECT_ROOT } from "../../../lib/common/program-process.ts";
import { runCommand, type CommandResult } from "../run-command.ts";
import { waitFor } from "../wait-for.ts";
import type { ComposeCli } from "./compose-cli.ts";
import { docker, dockerOut, inspect } from "./docker-cli.ts";
import { freePortRange } from "./host-ports.ts";

const COMPOSE_FILE = resolve(PROJECT_ROOT, "compose.yaml");
/** Grafana is left out: no registry to pull it from here, and Debian does not package it. */
export const STACK_SERVICES = ["server", "cache", "prometheus"] as const;
const CACHE_PORT = 18001;

export interface ComposeStack {
  cli: ComposeCli;
  project: string;
  /** The environment every compose command of this project runs with (its host ports, once `up` chose them). */
  env: Record<string, string>;
  readonly serverUrl: string;
  readonly prometheusUrl: string;
  /**
   * `up -d ...services` on free host ports; a port taken between the choice and compose binding it
   * (another process got there first) means a clean `down` and another try on new ports.
   */
  up(services: readonly string[]): Promise<void>;
  /** `<compose> -p <project> -f compose.yaml --profile load ...args`, with `extraEnv` on top of `env`. */
  compose(args: readonly string[], extraEnv?: Record<string, string>): Promise<CommandResult>;
  /** The ids of a service's containers (running or not), by compose's labels: the same under v2 and 1.29. */
  containers(service: string): Promise<string[]>;
  /** Each cache replica's loopback URL through its published port, by container id. */
  cacheUrls(): Promise<Map<string, string>>;
  /** Resolves once the server and every cache replica are healthy and (unless told not to) Prometheus is ready. */
  waitHealthy(options?: { prometheus?: boolean; timeoutMs?: number }): Promise<void>;
  /** The project's last log lines, for a failure message. */
  logs(): Promise<string>;
  down(): Promise<void>;
}

export function createStack(cli: ComposeCli, name: string): ComposeStack {
  const project = `${name}${process.pid}${Math.floor(Math.random() * 1e6)}`.toLowerCase().replace(/[^a-z0-9]/g, "");
  const env: Record<string, string> = {};
  const port = (variable: string) => env[variable]?.split("-")[0] ?? "0";
  const choosePorts = () => {
    const [serverPort, prometheusPort, ...cachePorts] = freePortRange(5);
    env.CAS_SERVER_HOST_PORT = String(serverPort);
    env.CAS_PROMETHEUS_HOST_PORT = String(prometheusPort);
    env.CAS_CACHE_HOST_PORTS = `${cachePorts[0]}-${cachePorts.at(-1)}`;
  };
  const compose = (args: readonly string[], extraEnv: Record<string, string> = {}) =>
    runCommand([...cli.argv, "-p", project, "-f", COMPOSE_FILE, "--profile", "load", ...args], {
      cwd: PROJECT_ROOT,
      env: { ...env, ...extraEnv },
    });
  const containers = async (service: string) => {
    const out = await dockerOut([
      ...["ps", "-a", "-q", "--no-trunc"],
      ...["--filter", `label=com.docker.compose.project=${project}`],
      ...["--filter", `label=com.docker.compose.service=${service}`],
    ]);
    return out === "" ? [] : out.split("\n").sort();
  };
  const logs = async () => {
    const { stdout, stderr } = await compose(["logs", "--no-color", "--tail", "30"]);
    return (stdout + stderr).slice(-6000);
  };

  const down = async () => {
    const { code, stderr } = await compose(["down", "-v", "--remove-orphans", "-t", "5"]);
    if (code !== 0) throw new Error(`compose down failed: ${stderr}`);
  };

  return {
    cli,
    project,
    env,
    get serverUrl() {
      return `http://127.0.0.1:${port("CAS_SERVER_HOST_PORT")}`;
    },
    get prometheusUrl() {
      return `http://127.0.0.1:${port("CAS_PROMETHEUS_HOST_PORT")}`;
    },
    async up(services) {
      for (let attempt = 1; ; attempt++) {
        choosePorts();
        const { code, stderr } = await compose(["up", "-d", ...services]);
        if (code === 0) return;
        if (attempt === 3 || !/address already in use|port is already allocated/.test(stderr)) {
          throw new Error(`${cli.label} up -d ${services.join(" ")} exited with ${code}:\n${stderr.slice(-3000)}`);
        }
        await down();
      }
    },
    compose,
    containers,
    async cacheUrls() {
      const urls = new Map<string, string>();
      for (const id of await containers("cache")) {
        const { stdout, code } = await docker(["port", id, String(CACHE_PORT)]);
        const port = /:(\d+)\s*$/m.exec(stdout.split("\n")[0] ?? "")?.[1];
        if (code === 0 && port !== undefined) urls.set(id, `http://127.0.0.1:${port}`);
      }
      return urls;
    },
    async waitHealthy({ prometheus = true, timeoutMs = 90_000 } = {}) {
      await waitFor("a healthy server and 3 healthy cache replicas", timeoutMs, async () => {
        const ids = [...(await containers("server")), ...(await containers("cache"))];
        if (ids.length !== 4) return undefined;
        for (const id of ids) if ((await inspect(id, "{{.State.Health.Status}}")) !== "healthy") return undefined;
        return !prometheus || (await fetch(`http://127.0.0.1:${port("CAS_PROMETHEUS_HOST_PORT")}/-/ready`)).ok
          ? true
          : undefined;
      }).catch(async (err: Error) => {
        throw new Error(`${err.message}\n${await logs()}`);
      });
    },
    logs,
    down,
  };
}

/** Runs a compose command of the stack's project, throwing with its output if it failed. */
export async function composeOk(stack: ComposeStack, args: readonly string[], extraEnv?: Record<string, string>) {
  const result = await stack.compose(args, extraEnv);
  if (result.code !== 0) {
    throw new Error(`${stack.cli.label} ${args.join(" ")} exited with ${result.code}:\n${result.stderr.slice(-3000)}`);
  }
  return result;
}
