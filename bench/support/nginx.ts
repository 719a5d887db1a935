/**
 * The nginx anchor: nginx in a temp prefix on an ephemeral 127.0.0.1 port (1 worker, pinned to a core,
 * serving one file). Stop what you start.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../lib/common/program-process.ts";

export interface Nginx {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** URL of the served file. */
  fileUrl: string;
  /** Base URL of the WebDAV location (PUT, DELETE; writes land under `options.dav`), when one was asked for. */
  davUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts nginx (1 worker, sendfile, open_file_cache, keep-alive without limit) serving `fileBytes` bytes, and,
 * with `dav` (a directory), a WebDAV location `/dav/` storing PUTs there (ccache's documented HTTP backend setup,
 * also the PUT anchor): no size limit, request bodies buffered in a temp file in that same directory. `core`
 * undefined leaves it on any core; `nice` (e.g. -10) puts it ahead of generators that share its core.
 */
export async function startNginx(options: {
  core: number | undefined;
  fileBytes?: number;
  dav?: string;
  nice?: number;
}): Promise<Nginx> {
  const prefix = mkdtempSync(join(tmpdir(), "cas-bench-nginx-"));
  const port = freePort();
  if (options.dav !== undefined) {
    // nginx's workers drop to an unprivileged user: let them write there
    mkdirSync(join(options.dav, ".nginx-tmp"), { recursive: true });
    chmodSync(options.dav, 0o777);
    chmodSync(join(options.dav, ".nginx-tmp"), 0o777);
  }
  const dav =
    options.dav === undefined
      ? ""
      : `location /dav/ {
      alias ${options.dav}/;
      dav_methods PUT DELETE;
      create_full_put_path on;
      client_max_body_size 0;
      client_body_temp_path ${options.dav}/.nginx-tmp;
    }`;
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
    ${dav}
  }
}
`,
  );
  const nginx = ["/usr/sbin/nginx", "-p", prefix, "-c", join(prefix, "nginx.conf")];
  const pinned = options.core === undefined ? nginx : ["taskset", "-c", String(options.core), ...nginx];
  const nice = options.nice === undefined ? [] : ["nice", "-n", String(options.nice)];
  const proc = Bun.spawn([...nice, ...pinned], { stdout: "ignore", stderr: "inherit" });
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
    davUrl: url + "/dav",
    async stop() {
      proc.kill("SIGQUIT");
      await proc.exited;
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
