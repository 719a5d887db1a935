/**
 * The project's image, built from the real Dockerfile and context under the tag compose.yaml names, so
 * compose runs exactly what `docker compose build` would have built.
 */
import { PROJECT_ROOT } from "../../../lib/common/program-process.ts";
import { docker, inspect } from "./docker-cli.ts";
import { APP_IMAGE } from "./readiness.ts";

/** Builds the image and resolves with how long the build took (ms); throws with the build's output on failure. */
export async function buildAppImage(options: { noCache?: boolean } = {}): Promise<number> {
  const before = await currentAppImage();
  const started = performance.now();
  const { stdout, stderr, code } = await docker([
    "build",
    ...(options.noCache ? ["--no-cache"] : []),
    "-t",
    APP_IMAGE,
    PROJECT_ROOT,
  ]);
  const took = performance.now() - started;
  if (code !== 0) throw new Error(`docker build failed (${code}):\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`);
  await dropIfReplaced(before);
  return took;
}

/**
 * Removes the image that was tagged APP_IMAGE before a rebuild, once nothing names it any more, so the
 * engine's store does not grow by an image each run. Call with the id `currentAppImage()` gave before.
 */
export async function dropIfReplaced(before: string | undefined): Promise<void> {
  const after = await currentAppImage();
  if (before !== undefined && before !== after && (await inspect(before, "{{len .RepoTags}}")) === "0") {
    await docker(["image", "rm", before]);
  }
}

/** The id of the image tagged APP_IMAGE, if any. */
export async function currentAppImage(): Promise<string | undefined> {
  return await inspect(APP_IMAGE, "{{.Id}}");
}

let built: Promise<number> | undefined;

/** Builds the image once per test process (the layer cache makes it quick when nothing changed). */
export function ensureAppImage(): Promise<number> {
  built ??= buildAppImage();
  return built;
}
