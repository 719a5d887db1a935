/**
 * The GitHub workflow, offline: valid against SchemaStore's GitHub workflow schema, wired as delivery
 * needs it (.ci/run first, then the image pushed with its tag, then k8s/ applied with that tag only for
 * a v* tag and behind an environment's approval), every secret it reads documented, and
 * scripts/k8s-apply.sh pointing every workload at the image.
 * test/fixtures/github-workflow.schema.json is SchemaStore's src/schemas/json/github-workflow.json at
 * commit 3b6446ad (Apache-2.0), whitespace as bun fmt writes it.
 */
import { describe, expect, test } from "bun:test";
import { Ajv } from "ajv";
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { PROJECT_ROOT } from "../../lib/common/program-process.ts";
import { withKubeApiStandIn } from "../support/kube-api-stand-in.ts";
import { runCommand } from "../support/run-command.ts";

// `any`: parsed YAML and JSON; the schema test vouches for the workflow's shape.
type Obj = Record<string, any>;

const WORKFLOWS = resolve(PROJECT_ROOT, ".github/workflows");
const schema = (await Bun.file(resolve(PROJECT_ROOT, "test/fixtures/github-workflow.schema.json")).json()) as Obj;
const files = (await readdir(WORKFLOWS)).filter((f) => /\.ya?ml$/.test(f)).sort();
const workflows = new Map<string, Obj>();
for (const f of files) workflows.set(f, Bun.YAML.parse(await Bun.file(join(WORKFLOWS, f)).text()) as Obj);
const ci = workflows.get("ci.yml")!;
const jobs: Record<string, Obj> = ci.jobs;

const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const errorsOf = (doc: unknown) =>
  validate(doc) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);

/** Every step's `run` script of a job, joined. */
const runs = (job: Obj) => (job.steps as Obj[]).map((s) => s.run ?? "").join("\n");

describe(".github/workflows", () => {
  test("every workflow validates against the GitHub workflow schema", () => {
    expect(files).toContain("ci.yml");
    for (const [file, doc] of workflows) expect(`${file}: ${errorsOf(doc).join("; ")}`).toBe(`${file}: `);
  });

  test("the schema check can fail: a misspelt key and an unknown event are rejected", () => {
    expect(errorsOf({ ...ci, jobs: { test: { ...jobs.test, runs_on: "ubuntu-24.04" } } })).not.toEqual([]);
    expect(errorsOf({ ...ci, on: { pushed: {} } })).not.toEqual([]);
  });

  test("the test job runs .ci/run, as CI does, with CI=true", () => {
    expect(runs(jobs.test!)).toMatch(/\bCI=true bash \.ci\/run\b/);
  });

  test("the image job runs after the tests, on pushes only, and pushes the image with the tag it names", () => {
    const image = jobs.image!;
    expect(image.needs).toBe("test");
    expect(image.if).toBe("github.event_name == 'push'");
    expect(image.permissions).toEqual({ contents: "read", packages: "write" });
    const script = runs(image);
    expect(script).toContain(
      'docker build --pull --label "org.opencontainers.image.revision=$GITHUB_SHA" -t "$IMAGE" .',
    );
    expect(script).toContain('docker push "$IMAGE"');
    // The tag: the version of a v* tag, else the commit; the deploy gets the same name through outputs.
    expect(script).toContain('tag="${GITHUB_REF_NAME#v}"');
    expect(image.outputs.image).toBe("${{ steps.name.outputs.image }}");
  });

  test("the deploy applies k8s/ with that image, for v* tags only and behind the production environment", () => {
    const deploy = jobs.deploy!;
    expect(deploy.needs).toBe("image");
    expect(deploy.if).toBe("startsWith(github.ref, 'refs/tags/v')");
    expect(ci.on.push.tags).toEqual(["v*"]);
    expect(deploy.environment).toBe("production");
    const apply = (deploy.steps as Obj[]).find((s) => /k8s-apply\.sh/.test(s.run ?? ""))!;
    expect(apply.run).toBe('scripts/k8s-apply.sh "$IMAGE"');
    expect(apply.env.IMAGE).toBe("${{ needs.image.outputs.image }}");
  });

  test("every secret the workflows read is documented in the README", async () => {
    const readme = await Bun.file(resolve(PROJECT_ROOT, "README.md")).text();
    const used = new Set<string>();
    for (const f of files) {
      for (const m of (await Bun.file(join(WORKFLOWS, f)).text()).matchAll(/secrets\.([A-Z_]+)/g)) used.add(m[1]!);
    }
    expect([...used].sort()).toEqual(["GITHUB_TOKEN", "KUBE_CONFIG"]);
    for (const name of used) expect(readme.includes(`\`${name}\``), `${name} in README.md`).toBe(true);
  });

  test.skipIf(Bun.which("kubectl") === null)(
    "scripts/k8s-apply.sh points every workload at the image it is given (kubectl apply -k, client dry run)",
    async () => {
      const image = "ghcr.io/example/cas-harness:1.2.3";
      const { stdout, stderr, code } = await withKubeApiStandIn((url) =>
        runCommand(
          [
            resolve(PROJECT_ROOT, "scripts/k8s-apply.sh"),
            image,
            ...["--kubeconfig=/dev/null", `--server=${url}`, "--dry-run=client", "--validate=false", "-o", "json"],
          ],
          { cwd: PROJECT_ROOT },
        ),
      );
      expect(stderr).toBe("");
      expect(code).toBe(0);
      const list = JSON.parse(stdout) as Obj;
      const containers = (list.items as Obj[])
        .filter((o) => ["Deployment", "StatefulSet", "Job"].includes(o.kind))
        .flatMap((o) => o.spec.template.spec.containers as Obj[]);
      expect(containers.length).toBe(3);
      for (const c of containers) expect(c.image).toBe(image);
      const untagged = await runCommand([resolve(PROJECT_ROOT, "scripts/k8s-apply.sh"), "ghcr.io/example/cas-harness"]);
      expect(untagged.code).toBe(2);
      expect(untagged.stderr).toContain("the image needs a tag");
    },
  );
});
