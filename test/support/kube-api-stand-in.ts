/**
 * A stand-in Kubernetes API server that answers only discovery and "not found", enough for
 * `kubectl apply --dry-run=client --validate=false` to read, map and print every object offline.
 * It knows the kinds a cluster with the Prometheus operator serves, nothing taken from our manifests.
 */

import { runCommand, type CommandResult } from "./run-command.ts";

/** group/version -> [plural resource, kind, namespaced] */
const RESOURCES: Record<string, [string, string, boolean][]> = {
  v1: [
    ["namespaces", "Namespace", false],
    ["services", "Service", true],
    ["configmaps", "ConfigMap", true],
    ["secrets", "Secret", true],
    ["persistentvolumeclaims", "PersistentVolumeClaim", true],
  ],
  "apps/v1": [
    ["deployments", "Deployment", true],
    ["statefulsets", "StatefulSet", true],
  ],
  "batch/v1": [["jobs", "Job", true]],
  "policy/v1": [["poddisruptionbudgets", "PodDisruptionBudget", true]],
  "networking.k8s.io/v1": [["ingresses", "Ingress", true]],
  "monitoring.coreos.com/v1": [
    ["servicemonitors", "ServiceMonitor", true],
    ["podmonitors", "PodMonitor", true],
    ["prometheusrules", "PrometheusRule", true],
  ],
};

const VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"];

function discovery(path: string): unknown {
  if (path === "/api") return { kind: "APIVersions", versions: ["v1"] };
  if (path === "/apis") {
    const groups = Object.keys(RESOURCES)
      .filter((gv) => gv.includes("/"))
      .map((gv) => {
        const [name, version] = gv.split("/");
        return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
      });
    return { kind: "APIGroupList", apiVersion: "v1", groups };
  }
  const gv = path.startsWith("/api/") ? path.slice("/api/".length) : path.slice("/apis/".length);
  const list = RESOURCES[gv];
  if (list === undefined) return undefined;
  const resources = list.map(([name, kind, namespaced]) => ({
    name,
    singularName: kind.toLowerCase(),
    namespaced,
    kind,
    verbs: VERBS,
  }));
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: gv, resources };
}

/** Serves the stand-in on a loopback port while `use` runs, and stops it after. */
export async function withKubeApiStandIn<T>(use: (url: string) => Promise<T>): Promise<T> {
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const body = discovery(new URL(req.url).pathname);
      if (body !== undefined) return Response.json(body);
      const status = { kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 };
      return Response.json({ ...status, metadata: {}, message: "not found" }, { status: 404 });
    },
  });
  try {
    // The server must keep answering while kubectl runs, so the child is awaited, never spawned synchronously.
    return await use(server.url.href);
  } finally {
    await server.stop(true);
  }
}

/** Runs `kubectl <args> --dry-run=client` against the stand-in; resolves with its exit code and output. */
export async function kubectlDryRun(
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return await withKubeApiStandIn((url) =>
    runCommand([
      "kubectl",
      "--kubeconfig=/dev/null",
      `--server=${url}`,
      "--request-timeout=10s",
      ...args,
      "--dry-run=client",
      "--validate=false",
      "-o",
      "name",
    ]),
  );
}
