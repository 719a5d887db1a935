/**
 * The nginx anchors: nginx in a temp prefix on an ephemeral 127.0.0.1 port (1 worker, optionally pinned to a
 * core), either serving one file or as a WebDAV store (ccache's HTTP backend as its manual sets it up). Stop
 * what you start.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../lib/common/program-process.ts";

export interface Nginx {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** URL of the served file (for the WebDAV store: a file put there at start). */
  fileUrl: string;
  stop(): Promise<void>;
}

/** Starts nginx (1 worker, sendfile, open_file_cache, keep-alive without limit) serving `fileBytes` bytes. */
export async function startNginx(options: { core: number; fileBytes?: number }): Promise<Nginx> {
  return launch({
    core: options.core,
    fileBytes: options.fileBytes ?? 1_000,
    location: "location / { }",
    http: "sendfile on;\n  tcp_nopush on;\n  open_file_cache max=16;",
  });
}

/**
 * Starts nginx as a WebDAV store: `PUT` creates any missing directories (`create_full_put_path`), `GET`/`HEAD`
 * read, `DELETE` removes; bodies up to 1 GiB. This is the setup ccache's HTTP storage how-to gives for nginx.
 */
export async function startWebDavNginx(options: { core?: number } = {}): Promise<Nginx> {
  return launch({
    core: options.core,
    fileBytes: 1_000,
    location: `location / {
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      client_max_body_size 1g;
    }`,
    http: "sendfile on;",
  });
}

interface LaunchOptions {
  core: number | undefined;
  fileBytes: number;
  /** The server block's location(s). */
  location: string;
  /** Extra http-level directives. */
  http: string;
}

async function launch(options: LaunchOptions): Promise<Nginx> {
  const prefix = mkdtempSync(join(tmpdir(), "cas-bench-nginx-"));
  const root = join(prefix, "root");
  const temp = join(prefix, "tmp");
  mkdirSync(root);
  mkdirSync(temp);
  // Run as root, nginx's workers switch to nobody: they must reach the files and write where WebDAV puts them.
  chmodSync(prefix, 0o755);
  chmodSync(root, 0o777);
  chmodSync(temp, 0o777);
  const port = freePort();
  writeFileSync(join(root, "file"), Buffer.alloc(options.fileBytes, "x"));
  writeFileSync(
    join(prefix, "nginx.conf"),
    `worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  ${options.http}
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_body_temp_path ${temp};
  proxy_temp_path ${temp};
  fastcgi_temp_path ${temp};
  uwsgi_temp_path ${temp};
  scgi_temp_path ${temp};
  server {
    listen 127.0.0.1:${port};
    root ${root};
    ${options.location}
  }
}
`,
  );
  const nginx = ["/usr/sbin/nginx", "-p", prefix, "-c", join(prefix, "nginx.conf")];
  const argv = options.core === undefined ? nginx : ["taskset", "-c", String(options.core), ...nginx];
  const proc = Bun.spawn(argv, { stdout: "ignore", stderr: "inherit" });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const status = await fetch(url + "/file").then(
      (res) => res.status,
      () => 0,
    );
    if (status === 200) break;
    if (i > 100 || proc.exitCode !== null) {
      proc.kill("SIGQUIT");
      throw new Error(`nginx did not serve ${url}/file (last status ${status}); see ${prefix}/error.log`);
    }
    await Bun.sleep(50);
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
