import { describe, expect, it } from "vitest";
import { PREFECT_ECS_ACTIONS } from "../../src/clouds/aws/policy.js";
import { resolveAws } from "../../src/clouds/aws/sdk.js";
import { UsageError } from "../../src/errors.js";
import { FakePrefect } from "../helpers/fake-prefect.js";
import { removeDefaultVpc, requireMoto, runSteps, useEcsFixture, useMoto } from "../helpers/moto.js";

const SUITE = "test/ecs/recovery.test.ts (ECS key quota, policy update, failure recovery against moto)";
const hasMoto = requireMoto(SUITE);

describe.skipIf(!hasMoto)("ECS provisioner recovery against moto", () => {
  const sim = useMoto();
  const fx = useEcsFixture(sim);
  const direct = async () => resolveAws({ env: process.env, endpoint: sim.moto.url });

  it("a full region is refused before anything is created, with the quota read from Service Quotas", async () => {
    await removeDefaultVpc(sim.moto.url);
    const ec2 = await (await direct()).ec2();
    for (let i = 0; i < 5; i++) await ec2.createVpc({ CidrBlock: `10.${i}.0.0/16` });
    sim.proxy.clear();
    const err = await fx
      .provisioner()
      .targets()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toContain(
      "already has 5 VPCs and the quota is 5 per region (from Service Quotas)",
    );
    expect(sim.proxy.requests.map((r) => r.action)).toContain("GetServiceQuota");
    expect(sim.proxy.mutations()).toEqual([]);
    // Without Service Quotas access, AWS's default applies and the message says so.
    sim.proxy.failWhen = (r) => r.action === "GetServiceQuota";
    const fallback = await fx
      .provisioner()
      .targets()
      .catch((e: unknown) => e);
    expect((fallback as UsageError).message).toContain("AWS's default (Service Quotas could not be read)");
  });

  it("refuses before creating anything when the user already has two keys and the block is missing", async () => {
    const iam = await (await direct()).iam();
    await iam.createUser({ UserName: "prefect-ecs-user" });
    await iam.createAccessKey("prefect-ecs-user");
    await iam.createAccessKey("prefect-ecs-user");
    sim.proxy.clear();
    const p = fx.provisioner();
    const err = await p.targets().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toMatch(/already has 2 access keys/);
    expect((err as UsageError).exitCode).toBe(2);
    // The plan (check) refuses too, and nothing was mutated either way.
    await expect(runSteps(p, fx.prefect, { planOnly: true })).rejects.toBeInstanceOf(UsageError);
    expect(sim.proxy.mutations()).toEqual([]);
    expect(await iam.listAccessKeys("prefect-ecs-user")).toHaveLength(2);
  });

  it("a block holding no key, with the user at two keys: refused before any key is created", async () => {
    const iam = await (await direct()).iam();
    await iam.createUser({ UserName: "prefect-ecs-user" });
    await iam.createAccessKey("prefect-ecs-user");
    await iam.createAccessKey("prefect-ecs-user");
    const type = fx.prefect.blockTypes.get("aws-credentials");
    const schema = fx.prefect.schemas[0];
    await fx.prefect.createBlockDocument({
      name: "my-pool-aws-credentials",
      data: {},
      block_type_id: String(type?.id),
      block_schema_id: String(schema?.id),
      is_anonymous: false,
    });
    const p = fx.provisioner();
    await p.targets();
    // The block holds no key, so it is not "exists" (issue 14): the repair would need a third key,
    // which the plan refuses before anything is created.
    const run = await runSteps(p, fx.prefect).then(
      () => "completed",
      (err: unknown) => String(err),
    );
    expect(run).toContain("holds access keys");
    expect(sim.proxy.requests.some((r) => r.action === "CreateAccessKey")).toBe(false);
  });

  it("an outdated policy shows update and gets a new default version, within the 5-version limit", async () => {
    const iam = await (await direct()).iam();
    const old = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Sid: "PrefectEcsPolicy", Effect: "Allow", Action: PREFECT_ECS_ACTIONS.slice(0, 5), Resource: "*" },
        { Sid: "Mine", Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/*" },
      ],
    });
    const policy = await iam.createPolicy({ PolicyName: "prefect-ecs-policy", PolicyDocument: old });
    const arn = String(policy.Arn);
    // Four more non-default versions: the policy is at IAM's limit of 5.
    const { IAMClient, CreatePolicyVersionCommand } = await import("@aws-sdk/client-iam");
    const raw = new IAMClient({ region: "us-east-1", endpoint: sim.moto.url });
    for (let i = 0; i < 4; i++) {
      await raw.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: old, SetAsDefault: false }));
    }
    const p = fx.provisioner();
    const plan = await runSteps(p, fx.prefect, { planOnly: true });
    const state = plan.states.get("aws.iam-policy");
    expect(state?.action).toBe("update");
    expect(state?.detail).toContain("ecs:RunTask");
    expect(state?.detail).toContain("iam:PassRole on arn:aws:iam::123456789012:role/PrefectEcsTaskExecutionRole");

    await runSteps(p, fx.prefect);
    const versions = await iam.listPolicyVersions(arn);
    expect(versions).toHaveLength(5);
    expect(versions.map((v) => v.VersionId)).not.toContain("v2"); // the oldest non-default went first
    const current = versions.find((v) => v.IsDefaultVersion);
    expect(current?.VersionId).toBe("v6");
    const doc = JSON.parse(await iam.getPolicyDocument(arn, String(current?.VersionId)));
    expect(doc.Statement.map((s: { Sid: string }) => s.Sid)).toEqual([
      "Mine",
      "PrefectEcsPolicy",
      "AllowPassRoleForEcs",
    ]);
    expect(await iam.listAttachedUserPolicies("prefect-ecs-user")).toEqual([arn]);

    const again = await runSteps(fx.provisioner(), fx.prefect, { planOnly: true });
    expect(again.states.get("aws.iam-policy")?.action).toBe("exists");
  });

  it("deletes the new access key when the block cannot be written", async () => {
    fx.prefect.failNextBlockWrite = new Error("Prefect said no");
    const p = fx.provisioner();
    await expect(runSteps(p, fx.prefect)).rejects.toThrow("Prefect said no");
    const iam = await (await direct()).iam();
    expect(await iam.listAccessKeys("prefect-ecs-user")).toHaveLength(0);
    expect(fx.prefect.documents).toHaveLength(0);
    const run = await runSteps(fx.provisioner(), fx.prefect);
    expect(run.results.get("prefect.aws-credentials")?.action).toBe("create");
    expect(await iam.listAccessKeys("prefect-ecs-user")).toHaveLength(1);
  });

  it("a failure at any mutating request, then a re-run, converges to exactly one of everything", async () => {
    const { EC2Client, DeleteVpcCommand, DescribeSubnetsCommand, DeleteSubnetCommand } = await import(
      "@aws-sdk/client-ec2"
    );
    const emptyAccount = async () => {
      const raw = new EC2Client({ region: "us-east-1", endpoint: sim.moto.url });
      const ec2 = await (await direct()).ec2();
      for (const v of await ec2.describeVpcs()) {
        const subnets = await raw.send(
          new DescribeSubnetsCommand({ Filters: [{ Name: "vpc-id", Values: [v.VpcId!] }] }),
        );
        for (const s of subnets.Subnets ?? []) await raw.send(new DeleteSubnetCommand({ SubnetId: s.SubnetId! }));
        await raw.send(new DeleteVpcCommand({ VpcId: v.VpcId! }));
      }
    };
    // Count the mutations of a clean run first.
    await emptyAccount();
    sim.proxy.clear();
    await runSteps(fx.provisioner(), fx.prefect);
    const total = sim.proxy.mutations().length;
    expect(total).toBeGreaterThan(15);

    for (let k = 0; k < total; k++) {
      await sim.moto.reset();
      await emptyAccount();
      fx.prefect = new FakePrefect();
      fx.prefect.register();
      let seen = 0;
      sim.proxy.clear();
      sim.proxy.failWhen = (r) => r.mutating && seen++ === k;
      const failed = await runSteps(fx.provisioner(), fx.prefect).then(
        () => "completed",
        (e: unknown) => String(e),
      );
      expect(failed, `failure at mutation ${k}`).toMatch(/InjectedFailure/);
      sim.proxy.failWhen = undefined;
      await runSteps(fx.provisioner(), fx.prefect);
      const again = await runSteps(fx.provisioner(), fx.prefect, { planOnly: true });
      const pending = [...again.states.entries()].filter(([, s]) => s.action !== "exists");
      expect(pending, `after failing mutation ${k}`).toEqual([]);
      await expectOneOfEverything(k);
    }
  }, 240_000);

  async function expectOneOfEverything(k: number) {
    const session = await direct();
    const [iam, ec2, ecs, ecr] = await Promise.all([session.iam(), session.ec2(), session.ecs(), session.ecr()]);
    const label = `after failing mutation ${k}`;
    expect(
      (await iam.listLocalPolicies()).filter((p) => p.PolicyName === "prefect-ecs-policy"),
      label,
    ).toHaveLength(1);
    expect(await iam.listAccessKeys("prefect-ecs-user"), label).toHaveLength(1);
    expect(fx.prefect.documents, label).toHaveLength(1);
    expect(await ecs.describeClusters(["prefect-ecs-cluster"]), label).toHaveLength(1);
    expect(await ecr.describeRepository("prefect-flows"), label).not.toBeNull();
    const vpcs = await ec2.describeVpcs();
    expect(vpcs, label).toHaveLength(1);
    const inVpc = [{ Name: "vpc-id", Values: [String(vpcs[0]?.VpcId)] }];
    expect(await ec2.describeSubnets(inVpc), label).toHaveLength(3);
    expect(await ec2.describeInternetGateways([]), label).toHaveLength(1);
    expect(await ec2.describeRouteTables(inVpc), label).toHaveLength(2);
    const groups = await ec2.describeSecurityGroups(inVpc);
    expect(
      groups.filter((g) => g.GroupName === "prefect-ecs-security-group"),
      label,
    ).toHaveLength(1);
    expect(await iam.listAttachedRolePolicies("PrefectEcsTaskExecutionRole"), label).toHaveLength(1);
    expect(await iam.listAttachedUserPolicies("prefect-ecs-user"), label).toHaveLength(1);
  }
});
