/**
 * Client load on a compose stack from this machine, one client process per cache replica (each aimed at
 * that replica's published port), so a fault's cost can be told apart replica by replica: a killed or
 * partitioned replica's own client against the survivors'. Bounded: every client also has a duration.
 */
import { startProgram, type ProgramProcess } from "../../../lib/common/program-process.ts";
import { waitFor } from "../wait-for.ts";
import { parseReport, type ClientReport } from "./client-report.ts";

export interface ReplicaLoadOptions {
  /** Requests per second per replica. */
  rate: number;
  /** Share of requests allowed to hit: the rest are forced misses that reach the owner and the origin. */
  hitRatio: number;
  /** Upper bound of the run; stop() normally ends it earlier. */
  maxDuration: string;
}

export interface ReplicaLoad {
  /** Ends every client's attack (SIGINT: the report of what ran is still printed) and collects the reports. */
  stop(): Promise<Map<string, ClientReport>>;
}

/** Starts one client per `urls` entry (replica id -> base URL) and resolves once every attack has started. */
export async function startReplicaLoad(
  serverUrl: string,
  urls: Map<string, string>,
  options: ReplicaLoadOptions,
): Promise<ReplicaLoad> {
  const clients = new Map<string, { client: ProgramProcess; stdout: Promise<string> }>();
  try {
    for (const [id, url] of urls) {
      const client = await startProgram("client.ts", [
        // The metrics port makes the client log "listening" once its upload is done.
        ...["--host", "127.0.0.1", "--metrics-port", "0", "--quiet", "--server", serverUrl, "--cache", url],
        ...["--rate", String(options.rate), "--duration", options.maxDuration, "--blobs", "10", "--dist", "zipf"],
        ...["--hit-ratio", String(options.hitRatio), "--size", "25000"],
        // the faults are judged on the requests that failed; a generator running late on a busy machine (exit 3)
        // says nothing about them
        ...["--max-send-lag", "1s"],
      ]);
      clients.set(id, { client, stdout: new Response(client.proc.stdout).text() });
    }
    for (const { client } of clients.values()) {
      await waitFor("the attack to start", 10_000, async () =>
        client.logs.some((l) => l.includes('"attack started"')) ? true : undefined,
      );
    }
  } catch (err) {
    for (const { client } of clients.values()) await client.stop("SIGKILL");
    throw err;
  }
  return {
    async stop() {
      const reports = new Map<string, ClientReport>();
      for (const { client } of clients.values()) client.proc.kill("SIGINT");
      for (const [id, { client, stdout }] of clients) {
        const code = await client.proc.exited;
        if (code !== 0) throw new Error(`client for ${id} exited with ${code}:\n${client.logs.slice(-5).join("\n")}`);
        reports.set(id, parseReport(await stdout));
      }
      return reports;
    },
  };
}
