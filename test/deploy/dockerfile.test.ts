/**
 * The Dockerfile, checked statically (no container engine runs here): Bun's official image at the Bun
 * version package.json pins, production dependencies from the lockfile, a non-root user, a working
 * HEALTHCHECK, and every file the three programs import inside the image.
 */
import { describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { PROJECT_ROOT, startProgram } from "../../lib/common/program-process.ts";

interface Instruction {
  op: string;
  args: string;
}

/** Instructions with continuation lines joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#") || (line === "" && pending === "")) continue;
    pending += (pending === "" ? "" : " ") + line.replace(/\\$/, "").trim();
    if (line.endsWith("\\")) continue;
    const m = /^(\S+)\s*(.*)$/.exec(pending)!;
    out.push({ op: m[1]!.toUpperCase(), args: m[2]! });
    pending = "";
  }
  return out;
}

const dockerfile = parseDockerfile(await Bun.file(resolve(PROJECT_ROOT, "Dockerfile")).text());
const stages = dockerfile.reduce<Instruction[][]>((acc, ins) => {
  if (ins.op === "FROM") acc.push([]);
  acc.at(-1)!.push(ins);
  return acc;
}, []);
const final = stages.at(-1)!;
const pkg = (await Bun.file(resolve(PROJECT_ROOT, "package.json")).json()) as {
  packageManager: string;
  engines: { bun: string };
};
const dockerignore = (await Bun.file(resolve(PROJECT_ROOT, ".dockerignore")).text())
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l !== "" && !l.startsWith("#"));

/** Paths the final image receives from the build context (COPY without --from). */
const copiedPaths = final
  .filter((i) => i.op === "COPY" && !i.args.startsWith("--from"))
  .flatMap((i) => i.args.split(/\s+/).slice(0, -1));

function ignored(path: string): boolean {
  return dockerignore.some((pattern) => {
    const glob = new Bun.Glob(pattern);
    return glob.match(path) || path.split("/").some((_, i, parts) => glob.match(parts.slice(0, i + 1).join("/")));
  });
}

function inImage(path: string): boolean {
  return !ignored(path) && copiedPaths.some((p) => path === p || path.startsWith(p.replace(/\/?$/, "/")));
}

/** Every project file reachable by imports from `entry`. */
async function localImports(entry: string): Promise<Set<string>> {
  const transpiler = new Bun.Transpiler({ loader: "ts" });
  const seen = new Set<string>();
  const queue = [resolve(PROJECT_ROOT, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    const rel = relative(PROJECT_ROOT, file);
    if (seen.has(rel)) continue;
    seen.add(rel);
    const { imports } = transpiler.scan(await Bun.file(file).text());
    for (const { path } of imports) if (path.startsWith(".")) queue.push(resolve(dirname(file), path));
  }
  return seen;
}

describe("Dockerfile", () => {
  test("every stage is Bun's official image at the version package.json pins", () => {
    const want = pkg.packageManager.split("@")[1]!;
    expect(pkg.engines.bun).toBe(want);
    const froms = stages.map((s) => s[0]!.args.split(/\s+/)[0]!);
    expect(froms.length).toBeGreaterThan(0);
    for (const image of froms)
      expect(image).toMatch(new RegExp(`^oven/bun:${want.replaceAll(".", "\\.")}(-slim|-alpine)?$`));
  });

  test("production dependencies are installed from the lockfile only", () => {
    const installs = dockerfile.filter((i) => i.op === "RUN" && /\bbun install\b/.test(i.args));
    expect(installs.length).toBe(1);
    expect(installs[0]!.args.split(/\s+/)).toEqual(expect.arrayContaining(["--frozen-lockfile", "--production"]));
    // The installed modules reach the final image from that stage, not from the build context.
    expect(final.some((i) => i.op === "COPY" && /^--from=\S+\s+\S*node_modules/.test(i.args))).toBe(true);
    expect(ignored("node_modules")).toBe(true);
  });

  test("the final image runs as a numeric non-root user", () => {
    const users = final.filter((i) => i.op === "USER").map((i) => i.args.split(":")[0]!);
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!;
    expect(user).toMatch(/^\d+$/);
    expect(user).not.toBe("0");
  });

  test("the default command is the server, and all three entry points are in the image", async () => {
    const cmd = final.filter((i) => i.op === "CMD").at(-1)!;
    expect(JSON.parse(cmd.args)).toEqual(["bun", "server.ts"]);
    for (const entry of ["server.ts", "cache.ts", "client.ts"]) {
      for (const file of await localImports(entry))
        expect(`${file} in image: ${inImage(file)}`).toBe(`${file} in image: true`);
    }
    for (const file of ["package.json", "bun.lock"]) expect(inImage(file)).toBe(true);
  });

  test(".dockerignore keeps history, local data, reports and installed modules out of the context", () => {
    for (const path of [".git", "node_modules", "data", "reports"]) expect(ignored(path)).toBe(true);
  });

  test("the HEALTHCHECK succeeds against a running program and fails when nothing answers", async () => {
    const healthcheck = final.find((i) => i.op === "HEALTHCHECK")!;
    const exec = /CMD\s+(\[.*\])\s*$/.exec(healthcheck.args);
    const argv = JSON.parse(exec![1]!) as string[];
    expect(argv[0]).toBe("bun");
    const env = final.find((i) => i.op === "ENV" && i.args.includes("HEALTHCHECK_URL="));
    expect(env?.args).toContain("HEALTHCHECK_URL=http://127.0.0.1:5000/healthz");
    const run = async (url: string) => {
      const proc = Bun.spawn([process.execPath, ...argv.slice(1)], {
        env: { ...process.env, HEALTHCHECK_URL: url },
        stdout: "ignore",
        stderr: "ignore",
      });
      return await proc.exited;
    };
    const dataDir = await mkdtemp(join(tmpdir(), "cas-healthcheck-"));
    const server = await startProgram("server.ts", ["--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir]);
    try {
      expect(await run(`${server.url}/healthz`)).toBe(0);
      expect(await run(`${server.url}/no-such-route`)).toBe(1);
    } finally {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
    expect(await run(`${server.url}/healthz`)).toBe(1);
  });
});
