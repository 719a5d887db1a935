/**
 * The Kubernetes manifests in k8s/: valid against the Kubernetes schemas offline (kubernetes-models'
 * validators and, for unknown fields, its types), pods locked down, objects wired to each other and to
 * the programs' real flags, and both `kubectl apply -f k8s/` and `kubectl apply -k k8s/` working.
 */
import { describe, expect, test } from "bun:test";
import { Ajv } from "ajv";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import { readFileSync } from "node:fs";
import { parseBytes } from "../../lib/common/units.ts";
import { createPeers } from "../../lib/cache/peers.ts";
import { PROJECT_ROOT } from "../../lib/common/program-process.ts";
import { CONFIGMAP_PATH, DASHBOARD_PATH, renderDashboardConfigMap } from "../../scripts/dashboard-configmap.ts";
import { PROMETHEUS_RULE_PATH, RULES_PATH, renderPrometheusRule } from "../../scripts/prometheus-rule.ts";
import { kubectlDryRun } from "../support/kube-api-stand-in.ts";
import { requireTool } from "../support/requires.ts";
import { acceptedConfig, flagsIn } from "../support/program-help.ts";
import { runCommand } from "../support/run-command.ts";
import { startServer } from "../support/server-process.ts";

const K8S_DIR = resolve(PROJECT_ROOT, "k8s");

// Loosely typed views of the parsed YAML: the schema checks below are what vouch for the shapes.
// `any`: these are parsed YAML documents, whose shapes the schema tests below vouch for.
type Obj = Record<string, any>;

interface Manifest {
  file: string;
  doc: Obj;
}

/** The files `kubectl apply -f k8s/` reads: .yaml, .yml and .json directly in the folder. */
async function manifestFiles(): Promise<string[]> {
  const names = await readdir(K8S_DIR, { withFileTypes: true });
  return names
    .filter((e) => e.isFile() && [".yaml", ".yml", ".json"].includes(extname(e.name)))
    .map((e) => e.name)
    .sort();
}

async function loadManifests(): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const file of await manifestFiles()) {
    const text = await Bun.file(join(K8S_DIR, file)).text();
    const parsed: unknown = Bun.YAML.parse(text);
    const docs = /^---\s*$/m.test(text) ? (parsed as unknown[]) : [parsed];
    for (const doc of docs) if (doc !== null) out.push({ file, doc: doc as Obj });
  }
  return out;
}

const manifests = await loadManifests();
const ofKind = (kind: string) => manifests.filter((m) => m.doc.kind === kind).map((m) => m.doc);
const named = (kind: string, name: string) => ofKind(kind).find((d) => d.metadata?.name === name);
const CRD_GROUPS = ["monitoring.coreos.com/v1"];
const builtIn = manifests.filter((m) => !CRD_GROUPS.includes(m.doc.apiVersion));

/** Workloads and their pod specs. */
const workloads = manifests
  .map((m) => m.doc)
  .filter((d) => ["Deployment", "StatefulSet", "Job", "DaemonSet"].includes(d.kind));
const podSpec = (workload: Obj): Obj => workload.spec.template.spec;
const container = (workload: Obj): Obj => podSpec(workload).containers[0];

describe("k8s/ manifests against the Kubernetes schemas", () => {
  test("every built-in object passes kubernetes-models' validation", async () => {
    expect(builtIn.length).toBeGreaterThan(0);
    for (const { file, doc } of builtIn) {
      const module = (await import(`kubernetes-models/${doc.apiVersion}/${doc.kind}`)) as Record<
        string,
        new (data: unknown) => { validate(): void }
      >;
      const Model = module[doc.kind];
      expect(Model, `${file}: unknown kind ${doc.apiVersion} ${doc.kind}`).toBeDefined();
      try {
        new Model!(doc).validate();
      } catch (err) {
        throw new Error(`${file}: ${doc.kind}/${doc.metadata?.name}: ${(err as Error).message}`);
      }
    }
  });

  test("no built-in object has a field its Kubernetes type does not know (a type check of the objects)", async () => {
    // The schemas leave unknown fields open and the API server drops them silently, so a typo such as
    // readonlyRootFilesystem would pass validation; TypeScript's excess-property check catches it.
    const dir = await mkdtemp(join(tmpdir(), "cas-k8s-types-"));
    try {
      const modules = join(PROJECT_ROOT, "node_modules/kubernetes-models");
      const tsconfig = {
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: "Preserve",
          moduleResolution: "bundler",
          skipLibCheck: true,
          types: [],
          paths: { "kubernetes-models/*": [`${modules}/*`] },
        },
        include: ["*.ts"],
      };
      await Bun.write(join(dir, "tsconfig.json"), JSON.stringify(tsconfig));
      const lines = builtIn.flatMap(({ file, doc }, i) => [
        `// ${file}: ${doc.kind}/${doc.metadata?.name}`,
        `import type { I${doc.kind} as T${i} } from "kubernetes-models/${doc.apiVersion}/${doc.kind}";`,
        `export const m${i}: T${i} = ${JSON.stringify(doc, null, 2)};`,
      ]);
      await Bun.write(join(dir, "manifests.ts"), lines.join("\n") + "\n");
      const { stdout, stderr, code } = await runCommand([process.execPath, "check", "--no-pretty", "-p", dir], {
        cwd: dir,
      });
      expect(stdout + stderr).not.toContain("error TS");
      expect(code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("ServiceMonitors and the PrometheusRule pass minimal schemas of their monitoring.coreos.com/v1 CRDs", () => {
    const metadata = {
      type: "object",
      required: ["name", "namespace"],
      properties: {
        name: { type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" },
        namespace: { type: "string" },
        labels: { type: "object", additionalProperties: { type: "string" } },
      },
    };
    const duration = { type: "string", pattern: "^([0-9]+(ms|s|m|h|d|w|y))+$" };
    const stringMap = { type: "object", additionalProperties: { type: "string" } };
    const crd = (kind: string, spec: object) => ({
      type: "object",
      required: ["apiVersion", "kind", "metadata", "spec"],
      additionalProperties: false,
      properties: { apiVersion: { const: "monitoring.coreos.com/v1" }, kind: { const: kind }, metadata, spec },
    });
    const schemas: Record<string, object> = {
      ServiceMonitor: crd("ServiceMonitor", {
        type: "object",
        required: ["selector", "endpoints"],
        additionalProperties: false,
        properties: {
          jobLabel: { type: "string" },
          namespaceSelector: { type: "object" },
          selector: {
            type: "object",
            additionalProperties: false,
            properties: { matchLabels: stringMap, matchExpressions: { type: "array" } },
          },
          endpoints: {
            type: "array",
            minItems: 1,
            items: {
              type: "object",
              required: ["port"],
              additionalProperties: false,
              properties: {
                port: { type: "string" },
                path: { type: "string", pattern: "^/" },
                scheme: { enum: ["http", "https"] },
                interval: duration,
                scrapeTimeout: duration,
                honorLabels: { type: "boolean" },
              },
            },
          },
        },
      }),
      PrometheusRule: crd("PrometheusRule", {
        type: "object",
        required: ["groups"],
        additionalProperties: false,
        properties: {
          groups: {
            type: "array",
            minItems: 1,
            items: {
              type: "object",
              required: ["name", "rules"],
              additionalProperties: false,
              properties: {
                name: { type: "string", minLength: 1 },
                interval: duration,
                rules: {
                  type: "array",
                  minItems: 1,
                  items: {
                    type: "object",
                    required: ["expr"],
                    oneOf: [{ required: ["alert"] }, { required: ["record"] }],
                    additionalProperties: false,
                    properties: {
                      alert: { type: "string", pattern: "^[A-Za-z_][A-Za-z0-9_]*$" },
                      record: { type: "string" },
                      expr: { type: "string", minLength: 1 },
                      for: duration,
                      labels: stringMap,
                      annotations: stringMap,
                    },
                  },
                },
              },
            },
          },
        },
      }),
    };
    const ajv = new Ajv({ allErrors: true });
    const crds = manifests.filter((m) => CRD_GROUPS.includes(m.doc.apiVersion));
    expect(crds.map((m) => m.doc.kind).sort()).toEqual([
      "PrometheusRule",
      "ServiceMonitor",
      "ServiceMonitor",
      "ServiceMonitor",
    ]);
    for (const { file, doc } of crds) {
      const validate = ajv.compile(schemas[doc.kind]!);
      const ok = validate(doc);
      expect(ok ? [] : validate.errors!.map((e) => `${file}: ${e.instancePath} ${e.message}`)).toEqual([]);
    }
  });

  test("every namespaced object is in namespace cas, which k8s/ creates first", async () => {
    expect((await manifestFiles())[0]).toBe("00-namespace.yaml");
    expect(named("Namespace", "cas")).toBeDefined();
    for (const { file, doc } of manifests) {
      if (doc.kind === "Namespace") continue;
      expect(`${file}: ${doc.kind}/${doc.metadata?.name} in ${doc.metadata?.namespace}`).toEndWith(" in cas");
    }
  });
});

describe("k8s/ pods", () => {
  test("there is a server StatefulSet, a cache Deployment and a client Job", () => {
    expect(named("StatefulSet", "cas-server")).toBeDefined();
    expect(named("Deployment", "cas-cache")).toBeDefined();
    expect(named("Job", "cas-client")).toBeDefined();
  });

  test("every pod runs as non-root with seccomp, no capabilities, no escalation and a read-only root", () => {
    expect(workloads.length).toBe(3);
    for (const w of workloads) {
      const pod = podSpec(w);
      const where = `${w.kind}/${w.metadata.name}`;
      expect(pod.securityContext?.runAsNonRoot, where).toBe(true);
      expect(pod.securityContext?.seccompProfile?.type, where).toBe("RuntimeDefault");
      expect(pod.automountServiceAccountToken, where).toBe(false);
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const sc = c.securityContext ?? {};
        expect(sc.runAsNonRoot ?? pod.securityContext.runAsNonRoot, where).toBe(true);
        expect(sc.allowPrivilegeEscalation, where).toBe(false);
        expect(sc.readOnlyRootFilesystem, where).toBe(true);
        expect(sc.capabilities?.drop, where).toEqual(["ALL"]);
        expect(sc.capabilities?.add, where).toBeUndefined();
        expect(sc.privileged ?? false, where).toBe(false);
        expect((sc.seccompProfile ?? pod.securityContext.seccompProfile)?.type, where).toBe("RuntimeDefault");
        if (sc.runAsUser !== undefined) expect(sc.runAsUser).not.toBe(0);
        if (pod.securityContext.runAsUser !== undefined) expect(pod.securityContext.runAsUser).not.toBe(0);
      }
    }
  });

  test("every container has CPU and memory requests and limits", () => {
    for (const w of workloads) {
      for (const c of podSpec(w).containers) {
        for (const kind of ["requests", "limits"]) {
          for (const resource of ["cpu", "memory"]) {
            expect(c.resources?.[kind]?.[resource], `${w.metadata.name} ${kind}.${resource}`).toBeDefined();
          }
        }
      }
    }
  });

  test("every pod gets a writable /tmp from an emptyDir, since its root is read-only", () => {
    for (const w of workloads) {
      const pod = podSpec(w);
      const mount = container(w).volumeMounts?.find((m: Obj) => m.mountPath === "/tmp");
      expect(mount, w.metadata.name).toBeDefined();
      const volume = pod.volumes.find((v: Obj) => v.name === mount.name);
      expect(volume?.emptyDir, w.metadata.name).toBeDefined();
    }
  });

  test("every container has liveness and readiness probes (and any startup probe) on a port it names", () => {
    for (const w of workloads) {
      for (const c of podSpec(w).containers) {
        const portNames = c.ports.map((p: Obj) => p.name);
        const where = `${w.kind}/${w.metadata.name} ${c.name}`;
        expect(c.livenessProbe?.httpGet, `${where} livenessProbe`).toBeDefined();
        expect(c.readinessProbe?.httpGet, `${where} readinessProbe`).toBeDefined();
        for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe].filter(Boolean)) {
          expect(portNames, where).toContain(probe.httpGet.port);
          expect(probe.httpGet.path, where).toStartWith("/");
        }
      }
    }
  });

  test("the server is ready while it serves reads (/healthz), and its store scan has a startup probe", () => {
    // /readyz is write-readiness: 503 once the store is full. With one replica, a readiness probe on it
    // would leave the Service without endpoints and fail every read as well.
    const c = container(named("StatefulSet", "cas-server")!);
    expect(c.readinessProbe.httpGet.path).toBe("/healthz");
    expect(c.livenessProbe.httpGet.path).toBe("/healthz");
    expect(c.startupProbe?.httpGet?.path).toBe("/healthz");
    // The scan runs before the server listens: minutes for it, not liveness' half minute.
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(120);
  });

  test("a server whose store reached --max-bytes still passes the manifest's readiness probe and serves reads", async () => {
    const probe = container(named("StatefulSet", "cas-server")!).readinessProbe.httpGet.path;
    const server = await startServer(["--max-bytes", "100"]);
    try {
      const blob = new Uint8Array(100).fill(7);
      const key = new Bun.CryptoHasher("sha256").update(blob).digest("hex");
      expect((await fetch(`${server.url}/cas/${key}`, { method: "PUT", body: blob })).status).toBeLessThan(300);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
      expect((await fetch(`${server.url}${probe}`)).status).toBe(200);
      const read = await fetch(`${server.url}/cas/${key}`);
      expect(read.status).toBe(200);
      expect(new Uint8Array(await read.arrayBuffer())).toEqual(blob);
    } finally {
      await server.dispose();
    }
  });

  test("the cache has liveness on /healthz and readiness on /readyz", () => {
    const c = container(named("Deployment", "cas-cache")!);
    expect(c.livenessProbe.httpGet.path).toBe("/healthz");
    expect(c.readinessProbe.httpGet.path).toBe("/readyz");
  });

  test("the client's probes watch its /metrics on --metrics-port, after a startup probe that covers the upload", () => {
    // The client serves /metrics from the end of its upload until its report: not before, hence the startup probe.
    const c = container(named("Job", "cas-client")!);
    const args: string[] = c.args;
    const metricsPort = c.ports.find((p: Obj) => p.name === c.livenessProbe.httpGet.port);
    expect(String(metricsPort?.containerPort)).toBe(args[args.indexOf("--metrics-port") + 1]!);
    for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
      expect(probe?.httpGet?.path).toBe("/metrics");
      expect(probe.httpGet.port).toBe(metricsPort.name);
    }
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(120);
  });

  test("the client Job runs once, bounded in time, and is not restarted forever", () => {
    const job = named("Job", "cas-client")!;
    expect(podSpec(job).restartPolicy).toBe("Never");
    expect(job.spec.activeDeadlineSeconds).toBeGreaterThan(0);
    expect(job.spec.backoffLimit).toBeLessThanOrEqual(1);
  });

  test("the server's StatefulSet is governed by a headless Service of its pods", () => {
    const sts = named("StatefulSet", "cas-server")!;
    const governing = named("Service", sts.spec.serviceName);
    expect(governing?.spec.clusterIP).toBe("None");
    const selects = Object.entries(governing!.spec.selector).every(
      ([k, v]) => sts.spec.template.metadata.labels[k] === v,
    );
    expect(selects).toBe(true);
  });

  test("the server's volume is re-owned for its group only when its root is not already", () => {
    // fsGroup alone re-owns every file of the store on each start, which takes long on a big store.
    const pod = podSpec(named("StatefulSet", "cas-server")!);
    expect(pod.securityContext.fsGroup).toBe(1000);
    expect(pod.securityContext.fsGroupChangePolicy).toBe("OnRootMismatch");
  });

  test("the store alerts' quota is the manifest's --max-bytes", () => {
    const args: string[] = container(named("StatefulSet", "cas-server")!).args;
    const quota = parseBytes(args[args.indexOf("--max-bytes") + 1]!);
    const rules = (Bun.YAML.parse(readFileSync(RULES_PATH, "utf8")) as Obj).groups.flatMap((g: Obj) => g.rules);
    const storeRules = rules.filter((r: Obj) => r.expr.includes("cas_store_bytes"));
    expect(storeRules.map((r: Obj) => r.alert).sort()).toEqual(["CasStoreFull", "CasStoreNearQuota"]);
    for (const r of storeRules) expect(r.expr).toMatch(new RegExp(`> [0-9.]+ \\* ${quota}$`));
  });

  test("the server keeps its store on a PersistentVolumeClaim mounted at its data dir", () => {
    const sts = named("StatefulSet", "cas-server")!;
    const claim = sts.spec.volumeClaimTemplates?.[0];
    expect(claim?.spec?.accessModes).toContain("ReadWriteOnce");
    expect(claim?.spec?.resources?.requests?.storage).toBeDefined();
    const c = container(sts);
    const mount = c.volumeMounts.find((m: Obj) => m.name === claim.metadata.name);
    const args: string[] = c.args;
    expect(args[args.indexOf("--data-dir") + 1]).toBe(mount.mountPath);
    // The claim is not also an ordinary volume (that would shadow the per-pod claim).
    expect(podSpec(sts).volumes.map((v: Obj) => v.name)).not.toContain(claim.metadata.name);
  });

  test("the write token comes from a Secret that is not committed", () => {
    expect(ofKind("Secret")).toEqual([]);
    for (const w of [named("StatefulSet", "cas-server")!, named("Job", "cas-client")!]) {
      const token = container(w).env.find((e: Obj) => e.name === "CAS_WRITE_TOKEN");
      expect(token?.value).toBeUndefined();
      expect(token?.valueFrom?.secretKeyRef).toEqual({ name: "cas-write-token", key: "token" });
    }
  });
});

describe("k8s/ wiring", () => {
  const labelsMatch = (selector: Obj, labels: Obj) => Object.entries(selector).every(([k, v]) => labels?.[k] === v);

  test("every Service selects pods of a workload and targets a port those pods name", () => {
    for (const svc of ofKind("Service")) {
      const owners = workloads.filter((w) => labelsMatch(svc.spec.selector, w.spec.template.metadata.labels));
      expect(owners.length, `Service ${svc.metadata.name}`).toBe(1);
      const portNames = container(owners[0]!).ports.map((p: Obj) => p.name);
      for (const port of svc.spec.ports) expect(portNames).toContain(port.targetPort);
    }
  });

  test("cache peers find each other through a headless Service and know their own pod IP", () => {
    const cache = named("Deployment", "cas-cache")!;
    expect(cache.spec.replicas).toBe(3);
    const c = container(cache);
    const args: string[] = c.args;
    const dnsName = args[args.indexOf("--peers-dns") + 1];
    const headless = named("Service", dnsName!);
    expect(headless?.spec.clusterIP).toBe("None");
    expect(labelsMatch(headless!.spec.selector, cache.spec.template.metadata.labels)).toBe(true);
    const self = args[args.indexOf("--self") + 1];
    expect(self).toBe(`http://$(POD_IP):${c.ports[0].containerPort}`);
    // That unbracketed form holds for IPv4 only, so the peer records are IPv4 only.
    expect(headless!.spec.ipFamilies).toEqual(["IPv4"]);
    expect(headless!.spec.ipFamilyPolicy).toBe("SingleStack");
    const podIp = c.env.find((e: Obj) => e.name === "POD_IP");
    expect(podIp?.valueFrom?.fieldRef?.fieldPath).toBe("status.podIP");
    // The peers' addresses from DNS get this pod's --port; --self must name the same port.
    expect(args[args.indexOf("--port") + 1]).toBe(String(c.ports[0].containerPort));
  });

  test("each cache's --self is exactly the URL DNS discovery builds for its pod, so it is on the ring once", async () => {
    const c = container(named("Deployment", "cas-cache")!);
    const args: string[] = c.args;
    const podIps = ["10.244.1.7", "10.244.2.9", "10.244.3.4"];
    const self = args[args.indexOf("--self") + 1]!.replace("$(POD_IP)", podIps[0]!);
    const peers = createPeers({
      self,
      port: Number(args[args.indexOf("--port") + 1]),
      dns: args[args.indexOf("--peers-dns") + 1]!,
      resolve: async () => podIps,
    });
    try {
      await peers.refresh();
      expect(peers.list().length).toBe(podIps.length);
      expect(peers.list()).toContain(self);
    } finally {
      peers.stop();
    }
  });

  test("the cache's origin is the server's Service", () => {
    const c = container(named("Deployment", "cas-cache")!);
    const origin = c.env.find((e: Obj) => e.name === "CAS_ORIGIN")?.value;
    const svc = named("Service", "cas-server")!;
    expect(origin).toBe(`http://cas-server:${svc.spec.ports[0].port}`);
  });

  test("the PodDisruptionBudget keeps a majority of the cache peers up", () => {
    const pdb = named("PodDisruptionBudget", "cas-cache")!;
    const cache = named("Deployment", "cas-cache")!;
    expect(labelsMatch(pdb.spec.selector.matchLabels, cache.spec.template.metadata.labels)).toBe(true);
    expect(pdb.spec.minAvailable).toBeGreaterThan(cache.spec.replicas / 2);
    expect(pdb.spec.minAvailable).toBeLessThan(cache.spec.replicas);
  });

  test("the Ingress routes only /cas/ of the cache and the server, restricted to GET at the edge", () => {
    const ingresses = ofKind("Ingress");
    expect(ingresses.length).toBe(1);
    const ing = ingresses[0]!;
    expect(ing.apiVersion).toBe("networking.k8s.io/v1");
    const routes = ing.spec.rules.flatMap((r: Obj) =>
      r.http.paths.map((p: Obj) => `${p.path} ${p.pathType} -> ${p.backend.service.name}`),
    );
    expect(routes.sort()).toEqual(["/cas/ Prefix -> cas-cache", "/cas/ Prefix -> cas-server"]);
    const snippet: string = ing.metadata.annotations["nginx.ingress.kubernetes.io/configuration-snippet"];
    const directives = snippet.replace(/\s+/g, " ").trim();
    expect(directives).toContain("limit_except GET { deny all; }");
    // Public clients cannot force misses with Cache-Control: no-cache.
    expect(directives).toContain('proxy_set_header Cache-Control "";');
    for (const r of ing.spec.rules) {
      for (const p of r.http.paths) {
        const svc = named("Service", p.backend.service.name)!;
        expect(svc.spec.ports.map((sp: Obj) => sp.name)).toContain(p.backend.service.port.name);
      }
    }
  });

  test("each ServiceMonitor selects exactly one Service, and a port it has", () => {
    const monitors = ofKind("ServiceMonitor");
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual(["cas-cache", "cas-client", "cas-server"]);
    for (const sm of monitors) {
      const services = ofKind("Service").filter((s) => labelsMatch(sm.spec.selector.matchLabels, s.metadata.labels));
      expect(services.map((s) => s.metadata.name)).toEqual([sm.metadata.name]);
      const portNames = services[0]!.spec.ports.map((p: Obj) => p.name);
      for (const ep of sm.spec.endpoints) {
        expect(portNames).toContain(ep.port);
        expect(ep.path).toBe("/metrics");
      }
    }
  });

  test("every flag and environment variable given to a program is one it accepts", async () => {
    for (const w of workloads) {
      const c = container(w);
      expect(c.command[0]).toBe("bun");
      const script: string = c.command[1];
      const accepted = await acceptedConfig(script);
      for (const flag of flagsIn(c.args ?? [])) expect(accepted.flags, `${script} ${flag}`).toContain(flag);
      for (const e of c.env ?? []) {
        if (e.name === "POD_IP") continue; // ours, only for $(POD_IP) in --self
        expect(accepted.env, `${script} env ${e.name}`).toContain(e.name);
      }
    }
  });

  test("the Grafana dashboard ConfigMap is generated from monitoring's dashboard JSON (bun scripts/dashboard-configmap.ts)", async () => {
    const json = await Bun.file(DASHBOARD_PATH).text();
    expect(await Bun.file(CONFIGMAP_PATH).text()).toBe(renderDashboardConfigMap(json));
    const cm = named("ConfigMap", "cas-grafana-dashboard")!;
    expect(cm.metadata.labels.grafana_dashboard).toBe("1");
    expect(cm.data["cas-harness.json"]).toBe(json);
  });

  test("the PrometheusRule is generated from monitoring's rules file (bun scripts/prometheus-rule.ts)", async () => {
    const rules = await Bun.file(RULES_PATH).text();
    expect(await Bun.file(PROMETHEUS_RULE_PATH).text()).toBe(renderPrometheusRule(rules));
    expect(named("PrometheusRule", "cas-harness")!.spec).toEqual(Bun.YAML.parse(rules) as Obj);
  });
});

describe("kubectl", () => {
  // No Debian package: .ci/run cannot install it, so it is skipped on CI too when absent.
  const hasKubectl = requireTool("kubectl", "https://kubernetes.io/docs/tasks/tools/ (no Debian package)", {
    onCi: false,
  });
  const expected = manifests
    .map(({ doc }) => `${doc.kind}/${doc.metadata.name}`)
    .sort()
    .join("\n");
  // kubectl prints "deployment.apps/cas-cache"; reduce to "Deployment/cas-cache".
  const kindNames = new Map(manifests.map(({ doc }) => [doc.kind.toLowerCase(), doc.kind as string]));
  const printed = (stdout: string) =>
    stdout
      .trim()
      .split("\n")
      .map((line) => {
        const [resource, name] = line.split("/");
        return `${kindNames.get(resource!.split(".")[0]!) ?? resource}/${name}`;
      })
      .sort()
      .join("\n");

  test("the Kustomization lists every manifest file, and is itself invisible to kubectl apply -f", async () => {
    expect(await Bun.file(join(K8S_DIR, "kustomization.yaml")).exists()).toBe(false);
    expect(await Bun.file(join(K8S_DIR, "kustomization.yml")).exists()).toBe(false);
    const k = Bun.YAML.parse(await Bun.file(join(K8S_DIR, "Kustomization")).text()) as Obj;
    expect(k.kind).toBe("Kustomization");
    expect([...k.resources].sort()).toEqual(await manifestFiles());
  });

  test.skipIf(!hasKubectl)("kubectl kustomize k8s/ renders every object", async () => {
    const { stdout, stderr, code } = await runCommand(["kubectl", "kustomize", K8S_DIR]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const docs = Bun.YAML.parse(stdout) as Obj[];
    expect(
      docs
        .map((d) => `${d.kind}/${d.metadata.name}`)
        .sort()
        .join("\n"),
    ).toBe(expected);
  });

  test.skipIf(!hasKubectl)("kubectl apply -f k8s/ reads and maps every object (client dry run)", async () => {
    const { code, stdout, stderr } = await kubectlDryRun(["apply", "-f", K8S_DIR]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(printed(stdout)).toBe(expected);
  });

  test.skipIf(!hasKubectl)("kubectl apply -k k8s/ reads and maps every object (client dry run)", async () => {
    const { code, stdout, stderr } = await kubectlDryRun(["apply", "-k", K8S_DIR]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(printed(stdout)).toBe(expected);
  });
});
