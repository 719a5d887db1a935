/**
 * The Compose implementations this machine has: Compose v2 (`docker compose`, the CLI plugin) and the
 * Python Compose 1.29 that Debian packages as `docker-compose`. compose.yaml must run under both.
 */
import { runCommand } from "../run-command.ts";

export interface ComposeCli {
  /** "Compose v2.26.1" or "Compose 1.29.2". */
  label: string;
  major: 1 | 2;
  argv: readonly string[];
}

let found: Promise<ComposeCli[]> | undefined;

/** Every distinct implementation on PATH, v2 first (a `docker-compose` that is v2 too is left out). */
export function composeClis(): Promise<ComposeCli[]> {
  found ??= find();
  return found;
}

async function find(): Promise<ComposeCli[]> {
  const clis: ComposeCli[] = [];
  for (const argv of [["docker", "compose"], ["docker-compose"]]) {
    if (Bun.which(argv[0]!) === null) continue;
    const { stdout, code } = await runCommand([...argv, "version", "--short"]);
    const version = stdout.trim().replace(/^v/, "");
    if (code !== 0 || !/^[12]\./.test(version)) continue;
    const major = version.startsWith("1.") ? 1 : 2;
    if (clis.some((c) => c.major === major)) continue;
    clis.push({ label: `Compose ${major === 2 ? "v" : ""}${version}`, major, argv });
  }
  return clis;
}
