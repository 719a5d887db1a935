/**
 * The project's compose.yaml brought up for real under one Compose implementation, as its own project
 * (a unique -p name, its own network and volumes) with every published port moved to a free host port
 * through the file's CAS_*_HOST_PORT variables. Everything it starts, `down()` removes.
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
  /** The environment every compose command of this project runs with (its host ports included). */
  env: Record<string, string>;
  serverUrl: string;
  prometheusUrl: string;
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
  const [serverPort, prometheusPort] = [freePortRange(1)[0]!, freePortRange(1)[0]!];
  const cachePorts = freePortRange(3);
  const env: Record<string, string> = {
    CAS_SERVER_HOST_PORT: String(serverPort),
    CAS_CACHE_HOST_PORTS: `${cachePorts[0]}-${cachePorts.at(-1)}`,
    CAS_PROMETHEUS_HOST_PORT: String(prometheusPort),
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
  const prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
  const logs = async () => {
    const { stdout, stderr } = await compose(["logs", "--no-color", "--tail", "30"]);
    return (stdout + stderr).slice(-6000);
  };

  return {
    cli,
    project,
    env,
    serverUrl: `http://127.0.0.1:${serverPort}`,
    prometheusUrl,
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
        return !prometheus || (await fetch(`${prometheusUrl}/-/ready`)).ok ? true : undefined;
      }).catch(async (err: Error) => {
        throw new Error(`${err.message}\n${await logs()}`);
      });
    },
    logs,
    async down() {
      const { code, stderr } = await compose(["down", "-v", "--remove-orphans", "-t", "5"]);
      if (code !== 0) throw new Error(`compose down failed: ${stderr}`);
    },
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
