/**
 * Fault suite, a full disk: server.ts on a small tmpfs of its own. Writes get 507 (never 500) and leave
 * nothing partial, reads keep working, /readyz says not ready, and both recover once space returns.
 * Needs permission to mount (root, as on CI); skipped with one line elsewhere.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { digestHex } from "../../lib/common/key.ts";
import { randomBytes } from "../support/cache-fixtures.ts";
import { MiB, reportFigures } from "../support/fault-run.ts";
import { requireMount } from "../support/requires.ts";
import { filesUnder, startServer, type ServerProcess } from "../support/server-process.ts";
import { mountTmpfs, type Tmpfs } from "../support/tmpfs.ts";

const canMount = requireMount();
let disk: Tmpfs;
let server: ServerProcess;

beforeAll(async () => {
  if (!canMount) return;
  disk = mountTmpfs(16 * MiB);
  server = await startServer([], { dataDir: join(disk.dir, "data") });
});
afterAll(async () => {
  await server?.dispose();
  disk?.dispose();
});

async function put(blob: Uint8Array<ArrayBuffer>): Promise<Response> {
  return fetch(`${server.url}/cas/${digestHex("sha256", blob)}`, { method: "PUT", body: blob });
}

/** Stored files whose bytes do not hash to their name, and files outside the blob layout besides tmp/. */
function damage(dataDir: string): string[] {
  return filesUnder(dataDir).filter((rel) => {
    const m = /^sha256\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(rel);
    return m === null || digestHex("sha256", readFileSync(join(dataDir, rel))) !== m[1];
  });
}

test.skipIf(!canMount)(
  "a full disk: 507 and never 500, nothing partial, reads work, not ready; all recover",
  async () => {
    const dataDir = join(disk.dir, "data");
    // Someone else's data on the same volume, removed later to give space back.
    const theirs = join(disk.dir, "other-data");
    writeFileSync(theirs, new Uint8Array(4 * MiB));
    const statuses: Record<number, number> = {};
    const count = (status: number) => (statuses[status] = (statuses[status] ?? 0) + 1);
    const stored: Uint8Array<ArrayBuffer>[] = [];
    let answer = 0;
    for (let i = 0; i < 40 && answer !== 507; i++) {
      const blob = randomBytes(MiB);
      const res = await put(blob);
      answer = res.status;
      count(answer);
      if (answer === 201) stored.push(blob);
      else expect(await res.json()).toMatchObject({ error: "insufficient_storage" });
    }
    expect(answer).toBe(507);
    // The last few KiB too: then not even a small blob fits.
    const ballast = disk.fill();
    const small = await put(randomBytes(10_000));
    count(small.status);
    const readyWhenFull = (await fetch(`${server.url}/readyz`)).status;
    const tmpWhenFull = readdirSync(join(dataDir, "tmp")).length;
    const damaged = damage(dataDir);
    let reads = 0;
    for (const blob of stored) {
      const res = await fetch(`${server.url}/cas/${digestHex("sha256", blob)}`);
      if (res.status === 200 && Buffer.from(await res.arrayBuffer()).equals(Buffer.from(blob))) reads++;
    }

    rmSync(ballast);
    rmSync(theirs);
    const readyAfter = (await fetch(`${server.url}/readyz`)).status;
    const again = await put(randomBytes(MiB));
    count(again.status);
    const held =
      small.status === 507 &&
      readyWhenFull === 503 &&
      tmpWhenFull === 0 &&
      damaged.length === 0 &&
      reads === stored.length &&
      readyAfter === 200 &&
      again.status === 201 &&
      statuses[500] === undefined;
    reportFigures(
      "disk full (tmpfs)",
      { volumeMiB: 16, blobMiB: 1, otherDataMiB: 4 },
      {
        statuses: Object.entries(statuses)
          .map(([s, n]) => `${s}:${n}`)
          .join(","),
        readyzFull: readyWhenFull,
        tmpLeft: tmpWhenFull,
        damaged: damaged.length,
        readsOk: `${reads}/${stored.length}`,
        readyzAfterFreeing: readyAfter,
        putAfterFreeing: again.status,
      },
      held,
    );
    expect(small.status).toBe(507);
    expect(readyWhenFull).toBe(503);
    expect(tmpWhenFull).toBe(0);
    expect(damaged).toEqual([]);
    expect(reads).toBe(stored.length);
    expect(readyAfter).toBe(200);
    expect(again.status).toBe(201);
    expect(statuses[500]).toBeUndefined();
  },
  60_000,
);
