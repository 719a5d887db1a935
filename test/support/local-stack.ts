/**
 * The three programs on loopback for the monitoring tests: a server on a temp data dir, one cache in
 * front of it and a client attacking the cache at a modest rate while it serves its metrics.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProgram, type ProgramProcess } from "../../lib/common/program-process.ts";

export interface LocalStack {
  server: ProgramProcess;
  cache: ProgramProcess;
  /** The client; its `url` is its metrics endpoint. */
  client: ProgramProcess;
  stop(): Promise<void>;
}

const LOOPBACK = ["--host", "127.0.0.1", "--port", "0"];

export async function startLocalStack(): Promise<LocalStack> {
  const dataDir = await mkdtemp(join(tmpdir(), "cas-stack-"));
  const started: ProgramProcess[] = [];
  async function stop(): Promise<void> {
    // The client first, then the cache, then the server it loads from; SIGINT (Ctrl-C) stops each
    // cleanly, and ends the client's run early.
    for (const p of [...started].reverse()) await p.stop("SIGINT");
    await rm(dataDir, { recursive: true, force: true });
  }
  try {
    const server = await startProgram("server.ts", [...LOOPBACK, "--data-dir", dataDir]);
    started.push(server);
    const cache = await startProgram("cache.ts", [...LOOPBACK, "--origin", server.url]);
    started.push(cache);
    const client = await startProgram("client.ts", [
      ...["--host", "127.0.0.1", "--metrics-port", "0", "--quiet"],
      ...["--server", server.url, "--cache", cache.url],
      // Long enough to outlast any test; the test stops it. Some misses, so every counter moves.
      ...["--rate", "40", "--duration", "120s", "--blobs", "8", "--dist", "zipf", "--hit-ratio", "0.8"],
      ...["--size", "2000", "--report", "text"],
    ]);
    started.push(client);
    return { server, cache, client, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
