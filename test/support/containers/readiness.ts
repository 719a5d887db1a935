/**
 * Whether the container tests can run here, asked once per test process: a Docker engine that answers,
 * and the base images the project's files name (in the engine, or pulled from a registry). Outside CI a
 * missing piece skips the whole group with one line; in CI (CI=true) it fails the group instead.
 */
import { afterAll, beforeAll, describe, test } from "bun:test";
import { resolve } from "node:path";
import { PROJECT_ROOT } from "../../../lib/common/program-process.ts";
import { docker, hasImage } from "./docker-cli.ts";
import { figure, seconds } from "./figures.ts";
import { ON_CI } from "../requires.ts";

export { ON_CI };

// `any`: parsed YAML; the compose tests vouch for its shape.
type Obj = Record<string, any>;

const compose = Bun.YAML.parse(await Bun.file(resolve(PROJECT_ROOT, "compose.yaml")).text()) as Obj;

/** The image compose.yaml names for the three programs (what `docker compose build` tags). */
export const APP_IMAGE: string = compose.services.server.image;

/** Every image the Dockerfile builds FROM. */
export async function dockerfileBases(): Promise<string[]> {
  const dockerfile = await Bun.file(resolve(PROJECT_ROOT, "Dockerfile")).text();
  return [...new Set([...dockerfile.matchAll(/^FROM\s+(\S+)/gim)].map((m) => m[1]!))];
}

/** The images the tests need from a registry or base-images.sh: the Dockerfile's bases and compose's Prometheus. */
export async function baseImages(): Promise<string[]> {
  return [...(await dockerfileBases()), compose.services.prometheus.image as string];
}

let answer: Promise<string | undefined> | undefined;

/** What is missing for the container tests (one line), or undefined when they can run. */
export function containersMissing(): Promise<string | undefined> {
  answer ??= findMissing();
  return answer;
}

async function findMissing(): Promise<string | undefined> {
  if (Bun.which("docker") === null) return "no docker command (install Docker, or run scripts/containers/check.sh)";
  const info = await docker(["info", "-f", "{{.ServerVersion}}"]);
  if (info.code !== 0) {
    return `no Docker engine answers (${lastLine(info.stderr)}); scripts/containers/engine.sh start runs one`;
  }
  for (const image of await baseImages()) {
    if (await hasImage(image)) continue;
    const pull = await docker(["pull", "-q", image]);
    if (pull.code !== 0) {
      return `no ${image} in the engine and no registry to pull it from; scripts/containers/base-images.sh builds a stand-in`;
    }
  }
  return undefined;
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}

let announced = false;

/**
 * `describe(name, body)` when the engine and images are there, printing how long the group took (its
 * setup and teardown included). Otherwise, outside CI, the group is skipped and one line says what is
 * missing (once per process); in CI one failing test says it.
 */
export async function describeWithContainers(name: string, body: () => void): Promise<void> {
  const missing = await containersMissing();
  if (missing === undefined) {
    describe(name, () => {
      let started = 0;
      beforeAll(() => {
        started = performance.now();
      });
      body();
      afterAll(() => figure(`${name}: ${seconds(performance.now() - started)} in all`));
    });
  } else if (ON_CI) {
    test(name, () => {
      throw new Error(`container tests cannot run in CI: ${missing}`);
    });
  } else {
    if (!announced) console.log(`containers: skipped: ${missing}`);
    announced = true;
    describe.skip(name, body);
  }
}
