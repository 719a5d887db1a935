/**
 * The nginx anchor: nginx in a temp prefix on an ephemeral 127.0.0.1 port (1 worker, pinned to a core,
 * serving one file). Stop what you start.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
