/**
 * The docker command line, for the container tests: whichever engine the caller's environment reaches
 * (DOCKER_HOST, the current context, or the default socket). Each call runs `docker` to completion.
 */
import { runCommand, type CommandResult } from "../run-command.ts";

/** Runs `docker ...args`; never throws for a non-zero exit. */
export async function docker(args: readonly string[], env?: Record<string, string>): Promise<CommandResult> {
  return await runCommand(["docker", ...args], { env });
}

/** Runs `docker ...args` and returns its trimmed stdout; throws with its stderr when it fails. */
export async function dockerOut(args: readonly string[], env?: Record<string, string>): Promise<string> {
  const { stdout, stderr, code } = await docker(args, env);
  if (code !== 0) throw new Error(`docker ${args.join(" ")} exited with ${code}: ${stderr.trim()}`);
  return stdout.trim();
}

/** `docker inspect -f FORMAT id`, or undefined when there is no such object. */
export async function inspect(id: string, format: string): Promise<string | undefined> {
  const { stdout, code } = await docker(["inspect", "-f", format, id]);
  return code === 0 ? stdout.trim() : undefined;
}

/** Whether an image is in the engine. */
export async function hasImage(tag: string): Promise<boolean> {
  return (await docker(["image", "inspect", tag])).code === 0;
}

/** The label base-images.sh puts on the images it builds, or undefined for a real one. */
export async function standInOf(tag: string): Promise<string | undefined> {
  const label = await inspect(tag, '{{index .Config.Labels "cas-harness.stand-in"}}');
  return label === undefined || label === "" || label === "<no value>" ? undefined : label;
}
