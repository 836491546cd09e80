import { beforeEach, describe, expect, it } from "vitest";
import { resolveAws } from "../../src/clouds/aws/sdk.js";
import { deleteVpc } from "../../src/clouds/aws/vpc.js";
import { recordName } from "../../src/engine/record.js";
import { connect } from "../../src/prefect/client.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { awsWpEnv, removeDefaultVpc, requireMoto, useMoto } from "../helpers/moto.js";
import { runCli, scriptedPrompter } from "../helpers/run-cli.js";

const hasMoto = requireMoto("test/lifecycle/ecs.test.ts (status, deprovision, rotate-credentials against moto)");

interface StatusDoc {
  healthy: boolean;
  source: string;
  resources: Array<{ resource: string; name: string; state: string; detail?: string; fix?: string; id?: string }>;
}

describe.skipIf(!hasMoto)("the life of ECS push pools against moto", () => {
  const sim = useMoto();
  let env: Record<string, string>;

  beforeEach(async () => {
    const t = awsWpEnv(sim.proxy.url);
    env = t.env;
    return t.cleanup;
  });

  const wp = (argv: string[], opts: Parameters<typeof runCli>[1] = {}) =>
    runCli(argv, { ...opts, env: { ...env, ...opts.env } });
  const aws = () => resolveAws({ env: process.env, endpoint: sim.moto.url });
  async function withPrefect<T>(fn: (api: Awaited<ReturnType<typeof connect>>) => Promise<T>): Promise<T> {
    const api = await connect(await loadSettings(env), { env });
    try {
      return await fn(api);
    } finally {
      api.close();
    }
  }
  const block = (pool: string) =>
    withPrefect(async (api) => {
      const doc = await api.readBlockDocument("aws-credentials", `${pool}-aws-credentials`, true);
      const d = (doc?.data ?? {}) as Record<string, string>;
      return { id: doc?.id ?? "", key: d.aws_access_key_id ?? "", secret: d.aws_secret_access_key ?? "" };
    });
  const status = async (pool: string) => {
    const r = await wp(["status", pool, "-o", "json"]);
    return { code: r.code, doc: JSON.parse(r.stdout) as StatusDoc, stderr: r.stderr };
  };
  const create = async (pool: string) => {
    const r = await wp(["create", pool, "--type", "ecs:push", "--provision-infra", "--yes"]);
    expect(r.stderr).not.toContain("Failed");
    expect(r.code).toBe(0);
  };
  const state = (doc: StatusDoc, resource: string) => doc.resources.find((i) => i.resource === resource);

  it("two pools sharing user, role and cluster: status, deprovision one, then the other; defaults and adopted kept", async () => {
    const ecr = await (await aws()).ecr();
    await ecr.createRepository({ repositoryName: "prefect-flows" }); // adopted: not created by wp
    await create("p1");
    await create("p2");

    // The record: next to the pool in Prefect, one entry per resource, created or adopted.
    const record = await withPrefect((api) => api.readBlockDocument("wp-provisioning-record", recordName("p1")));
    type Rec = { resources: Array<{ step: string; created: boolean; id?: string }> };
    const res = ((record?.data ?? { resources: [] }) as Rec).resources;
    const byStep = Object.fromEntries(res.map((r) => [r.step, r]));
    expect(byStep["aws.iam-user"]?.created).toBe(true);
    expect(byStep["aws.iam-user"]?.id).toBe("arn:aws:iam::123456789012:user/prefect-ecs-user");
    expect(byStep["aws.ecr-repository"]?.created).toBe(false);
    expect(byStep["aws.vpc"]?.created).toBe(false); // the default VPC
    expect(byStep["prefect.aws-credentials"]?.created).toBe(true);
    const rec2 = await withPrefect((api) => api.readBlockDocument("wp-provisioning-record", recordName("p2")));
    const p2User = ((rec2?.data ?? { resources: [] }) as Rec).resources.find((r) => r.step === "aws.iam-user");
    expect(p2User?.created).toBe(false); // p2 adopted p1's user

    const s1 = await status("p1");
    expect(s1.code).toBe(0);
    expect(s1.doc.healthy).toBe(true);
    expect(s1.doc.source).toBe("record");
    expect(state(s1.doc, "Credentials block")?.detail).toContain(
      "sts:GetCallerIdentity as arn:aws:iam::123456789012:user/prefect-ecs-user",
    );
    const text = await wp(["status", "p1"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("✓ IAM policy prefect-ecs-policy");
    expect(text.stdout).toContain("Healthy.");

    // verify: a real task from the pool's template, with the block's key, cleaned up after.
    const v = await wp(["verify", "p1", "-o", "json"], { env: { WP_VERIFY_POLL_MS: "10" } });
    expect(v.code, v.stderr).toBe(0);
    const vr = JSON.parse(v.stdout);
    expect(vr).toMatchObject({ ok: true, exitCode: 0, lastStatus: "STOPPED", cluster: "prefect-ecs-cluster" });
    expect(vr.identity).toBe("arn:aws:iam::123456789012:user/prefect-ecs-user");
    expect(vr.cleanedUp.join(" ")).toContain("deregistered task definition");
    const { DescribeTaskDefinitionCommand, ECSClient } = await import("@aws-sdk/client-ecs");
    const td = await new ECSClient({ region: "us-east-1", endpoint: sim.moto.url }).send(
      new DescribeTaskDefinitionCommand({ taskDefinition: vr.taskDefinition }),
    );
    expect(td.taskDefinition?.status).toBe("INACTIVE");
    const vText = await wp(["verify", "p1"], { env: { WP_VERIFY_POLL_MS: "10" } });
    expect(vText.stdout).toContain("Work pool 'p1' can run work.");
    expect(vText.stderr).toMatch(/Task arn:aws:ecs:.*: STOPPED/);
    const vDry = await wp(["verify", "p1", "--dry-run"]);
    expect(vDry.stdout).toContain("Dry run: nothing was started.");
    expect((await wp(["verify", "p1", "--timeout", "0"])).code).toBe(2);

    // Plan first: what goes, what stays and why.
    const dry = await wp(["deprovision", "p1", "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/delete Credentials block p1-aws-credentials/);
    expect(dry.stdout).toMatch(/keep\s+IAM user prefect-ecs-user .*still used by 'p2'/);
    expect(dry.stdout).toMatch(/keep\s+ECR repository prefect-flows .*adopted/);
    expect(dry.stdout).toMatch(/keep\s+VPC default VPC .*(adopted|never deleted)/);
    expect(dry.stdout).toContain("Dry run: nothing was deleted.");
    const noYes = await wp(["deprovision", "p1"]);
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toContain("Pass --yes");
    const declined = await wp(["deprovision", "p1"], { tty: true, prompter: scriptedPrompter([false]) });
    expect(declined.code).toBe(1);

    const { key: key1 } = await block("p1");
    const { key: key2 } = await block("p2");
    const d1 = await wp(["deprovision", "p1", "--yes"]);
    expect(d1.stderr).not.toContain("✗");
    expect(d1.code).toBe(0);
    const iam = await (await aws()).iam();
    expect((await iam.listAccessKeys("prefect-ecs-user")).map((k) => k.AccessKeyId)).toEqual([key2]);
    expect(key1).not.toBe(key2);
    expect(JSON.parse((await wp(["ls", "-o", "json"])).stdout).map((p: { name: string }) => p.name)).toEqual(["p2"]);
    // p2 still healthy; the shared resources passed to p2's record.
    const s2 = await status("p2");
    expect(s2.doc.resources.filter((i) => i.state !== "ok")).toEqual([]);
    expect(s2.code).toBe(0);
    expect((await wp(["verify", "p2"], { env: { WP_VERIFY_POLL_MS: "10" } })).code).toBe(0);

    const d2 = await wp(["deprovision", "p2", "--yes", "-o", "json"]);
    expect(d2.code).toBe(0);
    const report = JSON.parse(d2.stdout);
    const deleted = report.results.map((r: { resource: string }) => r.resource);
    expect(deleted).toEqual([
      "ECS cluster",
      "Credentials block",
      "IAM policy",
      "IAM user",
      "IAM role",
      "Provisioning record",
      "Work pool",
    ]);
    expect(await iam.getUser("prefect-ecs-user")).toBeNull();
    expect(await iam.getRole("PrefectEcsTaskExecutionRole")).toBeNull();
    expect((await iam.listLocalPolicies()).map((p) => p.PolicyName)).not.toContain("prefect-ecs-policy");
    const ecs = await (await aws()).ecs();
    expect((await ecs.describeClusters(["prefect-ecs-cluster"])).filter((c) => c.status === "ACTIVE")).toEqual([]);
    // Kept: the default VPC and the adopted repository.
    const ec2 = await (await aws()).ec2();
    expect((await ec2.describeVpcs()).some((v) => v.IsDefault)).toBe(true);
    expect(await ecr.describeRepository("prefect-flows")).not.toBeNull();
    // Nothing left, no record: the pool is not found, as for every other command.
    const again = await wp(["deprovision", "p2", "--yes"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("Work pool 'p2' not found.");
  });

  it("a wp-made VPC and repository: a failure during deprovision, then a re-run, converges; nothing tagged remains", async () => {
    await removeDefaultVpc(sim.moto.url);
    await create("solo");
    const ec2 = await (await aws()).ec2();
    const tagged = async () =>
      (await ec2.describeVpcs([{ Name: "tag:prefect.io/work-pool", Values: ["solo"] }])).map((v) => v.VpcId);
    expect((await tagged()).length).toBe(1);
    sim.proxy.failWhen = (r) => r.action === "DeleteRole";
    const failed = await wp(["delete", "solo", "--deprovision", "--yes"]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("Failed to deprovision: IAM role PrefectEcsTaskExecutionRole");
    expect(failed.stderr).toContain("wp deprovision solo --yes");
    sim.proxy.failWhen = undefined;
    const again = await wp(["deprovision", "solo", "--yes", "-o", "json"]);
    expect(again.code).toBe(0);
    const doc = JSON.parse(again.stdout);
    expect(doc.results.map((r: { resource: string }) => r.resource)).toEqual([
      "IAM role",
      "Provisioning record",
      "Work pool",
    ]);
    expect(await tagged()).toEqual([]);
    expect(await (await (await aws()).ecr()).describeRepository("prefect-flows")).toBeNull();
    const none = await wp(["deprovision", "solo", "--yes"]);
    expect(none.stderr).toContain("Work pool 'solo' not found.");
  });

  it("a non-empty registry is kept unless --force, and the plan says so", async () => {
    await create("img");
    const { ECRClient, PutImageCommand } = await import("@aws-sdk/client-ecr");
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: {},
      layers: [],
    });
    await new ECRClient({ region: "us-east-1", endpoint: sim.moto.url }).send(
      new PutImageCommand({ repositoryName: "prefect-flows", imageManifest: manifest, imageTag: "latest" }),
    );
    const dry = await wp(["deprovision", "img", "--dry-run", "--keep-pool"]);
    expect(dry.stdout).toMatch(/keep\s+ECR repository prefect-flows .*holds 1 image \(--force deletes them\)/);
    expect(dry.stdout).toMatch(/keep\s+Work pool img .*--keep-pool/);
    const forced = await wp(["deprovision", "img", "--dry-run", "--force"]);
    expect(forced.stdout).toMatch(/delete ECR repository prefect-flows/);
  });

  it("status finds each drift: policy rolled back, key deleted, VPC deleted, block deleted, template at a missing block", async () => {
    await removeDefaultVpc(sim.moto.url);
    await create("d");
    const s = await aws();
    const iam = await s.iam();
    const policy = (await iam.listLocalPolicies()).find((p) => p.PolicyName === "prefect-ecs-policy");
    const arn = policy?.Arn ?? "";
    // Roll back: a default version without ecs:RunTask.
    const doc = JSON.parse(await iam.getPolicyDocument(arn, policy?.DefaultVersionId ?? "v1"));
    doc.Statement[0].Action = doc.Statement[0].Action.filter((a: string) => a !== "ecs:RunTask");
    await iam.createPolicyVersion(arn, JSON.stringify(doc));
    let st = await status("d");
    expect(st.code).toBe(1);
    expect(st.stderr).toContain("has drifted");
    expect(state(st.doc, "IAM policy")).toMatchObject({ state: "drift", fix: "wp provision-infra d" });
    expect(state(st.doc, "IAM policy")?.detail).toContain("ecs:RunTask");
    expect((await wp(["provision-infra", "d", "--yes"])).code).toBe(0);
    expect((await status("d")).code).toBe(0);

    const { key } = await block("d");
    await iam.deleteAccessKey("prefect-ecs-user", key);
    st = await status("d");
    // The key is the block's: folded into the credentials block's read.
    expect(state(st.doc, "Credentials block")).toMatchObject({ state: "drift", fix: "wp rotate-credentials d" });
    expect(state(st.doc, "Credentials block")?.detail).toContain(`access key ${key} not found on IAM user`);
    const text = await wp(["status", "d"]);
    expect(text.stdout).toMatch(/! drift Credentials block d-aws-credentials .* — fix: wp rotate-credentials d/);

    const ec2 = await s.ec2();
    const vpcId = (await ec2.describeVpcs([{ Name: "tag:prefect.io/work-pool", Values: ["d"] }]))[0]?.VpcId ?? "";
    // Deleted as someone might in the console (network pieces, then the VPC).
    await deleteVpc(s, vpcId);
    st = await status("d");
    expect(state(st.doc, "VPC")).toMatchObject({ state: "missing", id: vpcId });

    const { id } = await block("d");
    await withPrefect((api) => api.deleteBlockDocument(id));
    st = await status("d");
    expect(st.code).toBe(1);
    expect(state(st.doc, "Credentials block")).toMatchObject({ state: "missing", id });
    expect(state(st.doc, "Credentials block")?.detail).toContain("which does not exist");

    const pool = JSON.parse((await wp(["inspect", "d", "-o", "json"])).stdout);
    delete pool.base_job_template.variables.properties.aws_credentials.default;
    await withPrefect((api) => api.updateWorkPool("d", { base_job_template: pool.base_job_template }));
    st = await status("d");
    expect(state(st.doc, "Credentials block")).toMatchObject({ state: "missing", fix: "wp provision-infra d" });
    expect(state(st.doc, "Credentials block")?.detail).toContain("references no block");
  });

  it("rotate-credentials leaves exactly one working key and an updated block; refuses at the key limit", async () => {
    await create("r");
    const before = await block("r");
    const piped = await wp(["rotate-credentials", "r"]);
    expect(piped.code).toBe(2);
    const r = await wp(["rotate-credentials", "r", "--yes"]);
    expect(r.stderr).toBe(r.stderr.replace(before.secret, ""));
    expect(r.code).toBe(0);
    const after = await block("r");
    expect(r.stdout).toContain(`now holds ${after.key}; deleted ${before.key}`);
    expect(after.key).not.toBe(before.key);
    expect(after.id).toBe(before.id);
    expect(r.stdout).not.toContain(after.secret);
    expect(r.stderr).not.toContain(after.secret);
    const iam = await (await aws()).iam();
    expect((await iam.listAccessKeys("prefect-ecs-user")).map((k) => k.AccessKeyId)).toEqual([after.key]);
    expect((await status("r")).doc.healthy).toBe(true);

    // The user holds another key besides the block's: a new one would exceed AWS's two.
    const extra = await iam.createAccessKey("prefect-ecs-user");
    const refused = await wp(["rotate-credentials", "r", "--yes"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`holds access key ${extra.accessKeyId} besides the block's`);
    expect((await block("r")).key).toBe(after.key);
  });

  it("a pool deleted with a plain `wp delete` is still deprovisioned from its record", async () => {
    await create("gone");
    expect((await wp(["delete", "gone", "--yes"])).code).toBe(0);
    const d = await wp(["deprovision", "gone", "--yes", "-o", "json"]);
    expect(d.code, d.stderr).toBe(0);
    const doc = JSON.parse(d.stdout);
    // Reverse dependency order (resource.ts); the Docker login goes with the repository wp made.
    expect(doc.results.map((r: { resource: string }) => r.resource)).toEqual([
      "Docker login",
      "ECR repository",
      "ECS cluster",
      "Credentials block",
      "IAM policy",
      "IAM user",
      "IAM role",
      "Provisioning record",
    ]);
    expect(doc.plan.find((i: { step: string }) => i.step === "prefect.work-pool").action).toBe("gone");
    expect(await (await (await aws()).iam()).getUser("prefect-ecs-user")).toBeNull();
    expect((await wp(["deprovision", "gone", "--yes"])).stderr).toContain("Work pool 'gone' not found.");
  });

  it("a pool provisioned before records existed is understood from its template and tags", async () => {
    await create("old");
    await withPrefect(async (api) => {
      const doc = await api.readBlockDocument("wp-provisioning-record", recordName("old"));
      if (doc) await api.deleteBlockDocument(doc.id);
    });
    const st = await status("old");
    expect(st.code).toBe(0);
    expect(st.doc.source).toBe("inferred");
    const dry = await wp(["deprovision", "old", "--dry-run"]);
    expect(dry.stdout).toContain("No provisioning record");
    expect(dry.stdout).toMatch(/keep\s+Credentials block old-aws-credentials .*adopted: wp did not create it/);
    expect(dry.stdout).toMatch(/delete IAM user prefect-ecs-user/); // tagged managed-by=wp
  });
});
