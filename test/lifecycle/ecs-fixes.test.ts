/**
 * Issue 14 "fixes that fix" on ECS, against moto: each drift made behind wp's back is reported by
 * `wp status` naming one command; running that command makes the pool healthy again.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { resolveAws } from "../../src/clouds/aws/sdk.js";
import { deleteVpc } from "../../src/clouds/aws/vpc.js";
import { connect } from "../../src/prefect/client.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { awsWpEnv, removeDefaultVpc, requireMoto, useMoto } from "../helpers/moto.js";
import { runCli } from "../helpers/run-cli.js";

const hasMoto = requireMoto("test/lifecycle/ecs-fixes.test.ts (each ECS drift repaired by the command status names)");

interface StatusDoc {
  healthy: boolean;
  resources: Array<{ resource: string; name: string; state: string; detail?: string; fix?: string }>;
}

type Aws = Awaited<ReturnType<typeof resolveAws>>;

describe.skipIf(!hasMoto)("ECS drifts: status names one command, and it repairs", () => {
  const sim = useMoto();
  let env: Record<string, string>;

  beforeEach(async () => {
    const t = awsWpEnv(sim.proxy.url);
    env = t.env;
    return t.cleanup;
  });

  const wp = (argv: string[]) => runCli(argv, { env });
  const aws = () => resolveAws({ env: process.env, endpoint: sim.moto.url });
  const status = async (pool: string) => {
    const r = await wp(["status", pool, "-o", "json"]);
    return { code: r.code, doc: JSON.parse(r.stdout) as StatusDoc };
  };
  const blockKey = async (pool: string) => {
    const api = await connect(await loadSettings(env), { env });
    try {
      const doc = await api.readBlockDocument("aws-credentials", `${pool}-aws-credentials`);
      return String((doc?.data as Record<string, unknown> | undefined)?.aws_access_key_id ?? "");
    } finally {
      api.close();
    }
  };

  /** Breaks the pool, expects `resource` reported with one fixing command, runs it, expects health. */
  async function cycle(pool: string, resource: string, expected: string, drift: (s: Aws) => Promise<void>) {
    await drift(await aws());
    const st = await status(pool);
    expect(st.code, resource).toBe(1);
    const bad = st.doc.resources.filter((i) => i.state !== "ok" && i.state !== "not checked");
    expect(bad.map((i) => i.resource)).toContain(resource);
    const fixes = [...new Set(bad.map((i) => i.fix))];
    expect(fixes, JSON.stringify(bad)).toEqual([`wp ${expected} ${pool}`]);
    const run = await wp([expected, pool, "--yes"]);
    expect(run.code, `${resource}: ${run.stderr}`).toBe(0);
    const after = await status(pool);
    expect(
      after.doc.resources.filter((i) => i.state !== "ok"),
      resource,
    ).toEqual([]);
    expect(after.code).toBe(0);
  }

  it("key deleted, key deactivated (rotate-credentials); provision-infra re-mints a deleted key too; IAM user deleted (provision-infra)", async () => {
    await wp(["create", "k", "--type", "ecs:push", "--provision-infra", "--yes"]);
    await cycle("k", "Credentials block", "rotate-credentials", async (s) =>
      (await s.iam()).deleteAccessKey("prefect-ecs-user", await blockKey("k")),
    );
    await cycle("k", "Credentials block", "rotate-credentials", async () => {
      const { IAMClient, UpdateAccessKeyCommand } = await import("@aws-sdk/client-iam");
      await new IAMClient({ region: "us-east-1", endpoint: sim.moto.url }).send(
        new UpdateAccessKeyCommand({
          UserName: "prefect-ecs-user",
          AccessKeyId: await blockKey("k"),
          Status: "Inactive",
        }),
      );
    });
    // provision-infra repairs what its read flags: the block gets a new key.
    const old = await blockKey("k");
    await (await (await aws()).iam()).deleteAccessKey("prefect-ecs-user", old);
    const p = await wp(["provision-infra", "k", "--yes"]);
    expect(p.code, p.stderr).toBe(0);
    expect(await blockKey("k")).not.toBe(old);
    expect((await status("k")).code).toBe(0);
    const keys = await (await (await aws()).iam()).listAccessKeys("prefect-ecs-user");
    expect(keys.map((k) => k.AccessKeyId)).toEqual([await blockKey("k")]);

    // The IAM user deleted (its key and policy attachment with it): a new user, and the block's key re-minted.
    await cycle("k", "IAM user", "provision-infra", async (s) => {
      const iam = await s.iam();
      for (const k of await iam.listAccessKeys("prefect-ecs-user"))
        await iam.deleteAccessKey("prefect-ecs-user", k.AccessKeyId ?? "");
      for (const arn of await iam.listAttachedUserPolicies("prefect-ecs-user"))
        await iam.detachUserPolicy("prefect-ecs-user", arn);
      await iam.deleteUser("prefect-ecs-user");
    });
  });

  it("policy action removed, role policy detached, cluster deleted, VPC deleted, repository deleted (provision-infra)", async () => {
    await removeDefaultVpc(sim.moto.url);
    await wp(["create", "f", "--type", "ecs:push", "--provision-infra", "--yes"]);
    await cycle("f", "IAM policy", "provision-infra", async (s) => {
      const iam = await s.iam();
      const policy = (await iam.listLocalPolicies()).find((p) => p.PolicyName === "prefect-ecs-policy");
      const arn = policy?.Arn ?? "";
      const doc = JSON.parse(await iam.getPolicyDocument(arn, policy?.DefaultVersionId ?? "v1"));
      doc.Statement[0].Action = doc.Statement[0].Action.filter((a: string) => a !== "ecs:RunTask");
      await iam.createPolicyVersion(arn, JSON.stringify(doc));
    });
    await cycle("f", "IAM role", "provision-infra", async (s) =>
      (await s.iam()).detachRolePolicy(
        "PrefectEcsTaskExecutionRole",
        "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
      ),
    );
    await cycle("f", "ECS cluster", "provision-infra", async (s) =>
      (await s.ecs()).deleteCluster("prefect-ecs-cluster"),
    );
    await cycle("f", "VPC", "provision-infra", async (s) => {
      const ec2 = await s.ec2();
      const [vpc] = await ec2.describeVpcs([{ Name: "tag:prefect.io/work-pool", Values: ["f"] }]);
      await deleteVpc(s, vpc?.VpcId ?? "");
    });
    await cycle("f", "ECR repository", "provision-infra", async (s) =>
      (await s.ecr()).deleteRepository("prefect-flows", true),
    );
  });
});
