/**
 * Benchmark helpers: an nginx anchor in a temp prefix on an ephemeral 127.0.0.1 port (1 worker, pinned to a
 * core, serving one small file), pinning this process to a core, and a bounded wrk run. Stop what you start.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../lib/common/program-process.ts";

export interface Nginx {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** URL of the served file. */
  fileUrl: string;
  stop(): Promise<void>;
}

/** Starts nginx (1 worker, sendfile, open_file_cache, keep-alive without limit) serving `fileBytes` bytes. */
export async function startNginx(options: { core: number; fileBytes?: number }): Promise<Nginx> {
  const prefix = mkdtempSync(join(tmpdir(), "cas-bench-nginx-"));
  const port = freePort();
  writeFileSync(join(prefix, "file"), Buffer.alloc(options.fileBytes ?? 1_000, "x"));
  writeFileSync(
    join(prefix, "nginx.conf"),
    `worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  open_file_cache max=16;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_body_temp_path ${prefix};
  proxy_temp_path ${prefix};
  fastcgi_temp_path ${prefix};
  uwsgi_temp_path ${prefix};
  scgi_temp_path ${prefix};
  server {
    listen 127.0.0.1:${port};
    root ${prefix};
    location / { }
  }
}
`,
  );
  const proc = Bun.spawn(
    ["taskset", "-c", String(options.core), "/usr/sbin/nginx", "-p", prefix, "-c", join(prefix, "nginx.conf")],
    { stdout: "ignore", stderr: "inherit" },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(url + "/file")).ok) break;
    } catch {
      if (i > 100 || proc.exitCode !== null) throw new Error(`nginx did not start on port ${port}`);
      await Bun.sleep(50);
    }
  }
  return {
    url,
    fileUrl: url + "/file",
    async stop() {
      proc.kill("SIGQUIT");
      await proc.exited;
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}

/**
 * Pins every thread of this process (and the threads it starts later) to one core, and raises their priority
 * (nice -10) so that unrelated processes on this shared machine preempt the measurement less.
 */
export function pinSelf(core: number): void {
  const result = Bun.spawnSync(["taskset", "-a", "-cp", String(core), String(process.pid)], { stdout: "ignore" });
  if (result.exitCode !== 0) throw new Error(`taskset failed for core ${core}`);
  // nice is per thread on Linux; threads started later inherit it from the one starting them
  const threads = readdirSync(`/proc/${process.pid}/task`);
  Bun.spawnSync(["renice", "-n", "-10", "-p", ...threads], { stdout: "ignore", stderr: "ignore" });
}

/** `wrk -t1 -c<connections> -d<seconds>s` pinned to `core`; returns requests per second. */
export function wrk(url: string, options: { core: number; connections?: number; seconds?: number }): number {
  const args = ["taskset", "-c", String(options.core), "wrk", "-t1", `-c${options.connections ?? 64}`];
  args.push(`-d${options.seconds ?? 8}s`, url);
  const out = Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe" });
  const text = out.stdout.toString();
  const match = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (out.exitCode !== 0 || match === null) throw new Error(`wrk failed:\n${text}${out.stderr.toString()}`);
  return Number(match[1]);
}

/** CPU seconds (user + system) this process used since `since` (a process.cpuUsage() value). */
export function cpuSeconds(since?: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

/** The 1-minute load average: other processes on this 2-core machine can stall a run, and this shows when. */
export function loadAverage(): string {
  return `load average ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]}`;
}
