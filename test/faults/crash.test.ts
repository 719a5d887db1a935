/**
 * Fault suite, crash safety: server.ts is killed with SIGKILL while 100 PUTs are in flight, at several
 * moments, and restarted on the same data dir. Every blob that got its 201 is there and intact, every
 * visible blob hashes to its key, and no temp file survives the restart. (A process crash, not a power
 * cut: the kernel's page cache survives it either way.)
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestHex } from "../../lib/common/key.ts";
import { randomBytes } from "../support/cache-fixtures.ts";
import { reportFigures, scaled } from "../support/fault-run.ts";
import { filesUnder, startServer } from "../support/server-process.ts";

const UPLOADS = 100;
const MAX_BLOB = scaled(1, 8) * 2 ** 20;
/** When to kill: after this many 201s have come back (0: as soon as the first upload has a temp file). */
const MOMENTS = scaled([0, 30, 80], [0, 5, 20, 40, 60, 80, 95, 99]);

const root = mkdtempSync(join(tmpdir(), "cas-fault-crash-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Blob sizes from 1 byte to MAX_BLOB, spread on a log scale so that some are still streaming at the kill. */
function blobs(): Uint8Array<ArrayBuffer>[] {
  return Array.from({ length: UPLOADS }, (_, i) => randomBytes(Math.ceil(MAX_BLOB ** ((i + 1) / UPLOADS))));
}

/** What is on disk: blobs by key (checked against their names), and anything that is not a blob. */
function inventory(dataDir: string): { blobs: Map<string, number>; wrong: string[]; strays: string[] } {
  const found = new Map<string, number>();
  const wrong: string[] = [];
  const strays: string[] = [];
  for (const rel of filesUnder(dataDir)) {
    const m = /^(sha1|sha256)\/([0-9a-f]{2})\/([0-9a-f]{40}|[0-9a-f]{64})$/.exec(rel);
    if (m === null || !m[3]!.startsWith(m[2]!)) {
      strays.push(rel);
      continue;
    }
    const bytes = readFileSync(join(dataDir, rel));
    if (digestHex(m[1] === "sha1" ? "sha1" : "sha256", bytes) !== m[3]) wrong.push(rel);
    found.set(m[3]!, bytes.length);
  }
  return { blobs: found, wrong, strays };
}

for (const moment of MOMENTS) {
  test(`SIGKILL after ${moment} of ${UPLOADS} concurrent PUTs answered 201: no 201 lost, nothing torn`, async () => {
    const dataDir = join(root, `after-${moment}`, "data");
    const server = await startServer([], { dataDir });
    const data = blobs();
    const keys = data.map((b) => digestHex("sha256", b));
    const created = new Set<string>();
    let killed = false;
    let resolveKill: () => void = () => {};
    const killNow = new Promise<void>((r) => (resolveKill = r));
    const kill = () => {
      if (killed) return;
      killed = true;
      server.proc.kill("SIGKILL");
      resolveKill();
    };
    if (moment === 0) {
      const poll = setInterval(() => {
        if (readdirSync(join(dataDir, "tmp")).length > 0) kill();
        if (killed) clearInterval(poll);
      }, 1);
    }
    const puts = data.map(async (blob, i) => {
      try {
        const res = await fetch(`${server.url}/cas/${keys[i]}`, { method: "PUT", body: blob });
        if (res.status === 201 && !killed) {
          created.add(keys[i]!);
          if (created.size >= moment && moment > 0) kill();
        }
      } catch {
        // Cut off by the kill: this upload may or may not have landed, and either is fine.
      }
    });
    await Promise.race([Promise.all(puts), killNow]);
    kill();
    await server.proc.exited;
    await Promise.all(puts);
    const leftBehind = readdirSync(join(dataDir, "tmp")).length;

    const restarted = await startServer([], { dataDir });
    try {
      const after = inventory(dataDir);
      const lost = [...created].filter((k) => !after.blobs.has(k));
      const listening = JSON.parse(restarted.logs.find((l) => l.includes('"listening"'))!) as { blobs: number };
      // Every 201 blob is served whole after the restart, not only present on disk.
      let served = 0;
      for (const key of created) {
        const res = await fetch(`${restarted.url}/cas/${key}`);
        if (res.status === 200 && digestHex("sha256", new Uint8Array(await res.arrayBuffer())) === key) served++;
      }
      const held =
        lost.length === 0 &&
        after.wrong.length === 0 &&
        after.strays.length === 0 &&
        served === created.size &&
        listening.blobs === after.blobs.size;
      reportFigures(
        "crash safety (kill -9 during PUTs)",
        { puts: UPLOADS, maxBlobMiB: MAX_BLOB / 2 ** 20, killAfter201s: moment },
        {
          got201: created.size,
          visible: after.blobs.size,
          lost201: lost.length,
          badHash: after.wrong.length,
          tmpBeforeRestart: leftBehind,
          tmpAfterRestart: readdirSync(join(dataDir, "tmp")).length,
          strays: after.strays.length,
        },
        held,
      );
      expect(lost).toEqual([]);
      expect(after.wrong).toEqual([]);
      expect(after.strays).toEqual([]);
      expect(served).toBe(created.size);
      expect(listening.blobs).toBe(after.blobs.size);
      expect(readdirSync(join(dataDir, "tmp"))).toEqual([]);
    } finally {
      await restarted.stop("SIGKILL");
    }
  }, 60_000);
}
