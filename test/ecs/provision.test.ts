/** The ECS provisioner's steps against moto: full create, default VPC, CIDR collision, idempotent re-run. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ecsNextSteps } from "../../src/clouds/aws/index.js";
import { resolveAws } from "../../src/clouds/aws/sdk.js";
import { removeDefaultVpc, requireMoto, runSteps, useEcsFixture, useMoto } from "../helpers/moto.js";

const SUITE = "test/ecs/provision.test.ts (ECS provisioner against moto)";
const hasMoto = requireMoto(SUITE);

describe.skipIf(!hasMoto)("ECS provisioner against moto", () => {
  const sim = useMoto();
  const fx = useEcsFixture(sim);

  async function ec2() {
    return (await resolveAws({ env: process.env, endpoint: sim.moto.url })).ec2();
  }

  it("creates everything in an empty account, in Prefect's order and names", async () => {
    await removeDefaultVpc(sim.moto.url);
    sim.proxy.clear();
    const p = fx.provisioner();
    const targets = await p.targets();
    expect(targets.map((t) => t.key)).toEqual(["aws", "docker"]);
    expect(targets[0]?.label).toBe("AWS account 123456789012, region us-east-1");

    const run = await runSteps(p, fx.prefect);
    expect([...run.states.values()].map((s) => s.action)).toEqual(Array(8).fill("create"));
    expect(run.states.get("aws.vpc")?.detail).toContain("CIDR 172.31.0.0/16");
    expect(Object.fromEntries(run.outputs)).toMatchObject({
      executionRoleArn: "arn:aws:iam::123456789012:role/PrefectEcsTaskExecutionRole",
      clusterName: "prefect-ecs-cluster",
      vpcId: expect.stringMatching(/^vpc-/),
      blockDocumentId: fx.prefect.documents[0]?.id,
      repositoryUri: "123456789012.dkr.ecr.us-east-1.amazonaws.com/prefect-flows",
      registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com",
      dockerNamespace: "123456789012.dkr.ecr.us-east-1.amazonaws.com",
      accountId: "123456789012",
      region: "us-east-1",
    });

    // Network: 3 /18 subnets in 3 zones, an attached IGW, a public route table, the security group.
    const api = await ec2();
    const vpcId = String(run.outputs.get("vpcId"));
    const subnets = await api.describeSubnets([{ Name: "vpc-id", Values: [vpcId] }]);
    expect(subnets.map((s) => s.CidrBlock).sort()).toEqual(["172.31.0.0/18", "172.31.128.0/18", "172.31.64.0/18"]);
    expect(new Set(subnets.map((s) => s.AvailabilityZone)).size).toBe(3);
    expect(await api.describeInternetGateways([{ Name: "attachment.vpc-id", Values: [vpcId] }])).toHaveLength(1);
    const tables = await api.describeRouteTables([{ Name: "vpc-id", Values: [vpcId] }]);
    expect(tables).toHaveLength(2);
    const custom = tables.find((t) => !t.Associations?.some((a) => a.Main));
    expect(custom?.Routes?.some((r) => r.DestinationCidrBlock === "0.0.0.0/0" && r.GatewayId?.startsWith("igw-"))).toBe(
      true,
    );
    expect(custom?.Associations?.filter((a) => a.SubnetId)).toHaveLength(3);
    const sgs = await api.describeSecurityGroups([{ Name: "group-name", Values: ["prefect-ecs-security-group"] }]);
    expect(sgs[0]?.Description).toBe("Block all inbound traffic and allow all outbound traffic");
    const [vpc] = await api.describeVpcs([{ Name: "vpc-id", Values: [vpcId] }]);
    expect(vpc?.Tags).toEqual(
      expect.arrayContaining([
        { Key: "Name", Value: "prefect-ecs-vpc" },
        { Key: "prefect.io/work-pool", Value: "my-pool" },
        { Key: "managed-by", Value: "wp" },
      ]),
    );

    // The block holds the new key and the region; the template gets all four variables.
    const data = fx.prefect.documents[0]?.data ?? {};
    expect(fx.prefect.documents[0]?.name).toBe("my-pool-aws-credentials");
    expect(Object.keys(data).sort()).toEqual(["aws_access_key_id", "aws_secret_access_key", "region_name"]);
    expect(data.region_name).toBe("us-east-1");
    const base = {
      job_configuration: {},
      variables: {
        properties: { aws_credentials: {}, cluster: {}, vpc_id: {}, execution_role_arn: {}, image: { default: "x" } },
      },
    };
    const template = p.jobTemplate(base, run.outputs) as { variables: { properties: Record<string, unknown> } };
    expect(template.variables.properties).toEqual({
      aws_credentials: { default: { $ref: { block_document_id: fx.prefect.documents[0]?.id } } },
      cluster: { default: "prefect-ecs-cluster" },
      vpc_id: { default: vpcId },
      execution_role_arn: { default: "arn:aws:iam::123456789012:role/PrefectEcsTaskExecutionRole" },
      image: { default: "x" },
    });
    expect(base.variables.properties.cluster).toEqual({}); // pure: the input is not changed

    // Docker config got the ECR login (moto's token is AWS:123456789012-auth-token), with a note.
    const config = JSON.parse(readFileSync(join(fx.dockerDir, "config.json"), "utf8"));
    const auth = config.auths["123456789012.dkr.ecr.us-east-1.amazonaws.com"].auth;
    expect(Buffer.from(auth, "base64").toString()).toBe("AWS:123456789012-auth-token");
    expect(run.notes.join("\n")).toMatch(/not verified: no Docker engine answered/);

    // The secret never appears in notes, outputs, results or next steps.
    const secret = String(data.aws_secret_access_key);
    const printed = JSON.stringify([
      run.notes,
      [...run.outputs],
      [...run.states],
      [...run.results],
      p.nextSteps?.(run.outputs),
    ]);
    expect(secret.length).toBeGreaterThan(10);
    expect(printed).not.toContain(secret);
    expect(p.nextSteps?.(run.outputs).join("\n")).toContain(
      'name="123456789012.dkr.ecr.us-east-1.amazonaws.com/prefect-flows:latest"',
    );

    // Every taggable resource carries the pool and manager tags.
    const wanted = expect.arrayContaining([
      { Key: "prefect.io/work-pool", Value: "my-pool" },
      { Key: "managed-by", Value: "wp" },
    ]);
    const iamSdk = await import("@aws-sdk/client-iam");
    const iam = new iamSdk.IAMClient({ region: "us-east-1", endpoint: sim.moto.url });
    const role = await iam.send(new iamSdk.ListRoleTagsCommand({ RoleName: "PrefectEcsTaskExecutionRole" }));
    expect(role.Tags).toEqual(wanted);
    const user = await iam.send(new iamSdk.ListUserTagsCommand({ UserName: "prefect-ecs-user" }));
    expect(user.Tags).toEqual(wanted);
    const policyArn = "arn:aws:iam::123456789012:policy/prefect-ecs-policy";
    expect((await iam.send(new iamSdk.ListPolicyTagsCommand({ PolicyArn: policyArn }))).Tags).toEqual(wanted);
    const ecrSdk = await import("@aws-sdk/client-ecr");
    const ecr = new ecrSdk.ECRClient({ region: "us-east-1", endpoint: sim.moto.url });
    const repoArn = "arn:aws:ecr:us-east-1:123456789012:repository/prefect-flows";
    expect((await ecr.send(new ecrSdk.ListTagsForResourceCommand({ resourceArn: repoArn }))).tags).toEqual(wanted);
    const ecsSdk = await import("@aws-sdk/client-ecs");
    const ecs = new ecsSdk.ECSClient({ region: "us-east-1", endpoint: sim.moto.url });
    const clusterArn = "arn:aws:ecs:us-east-1:123456789012:cluster/prefect-ecs-cluster";
    const clusterTags = (await ecs.send(new ecsSdk.ListTagsForResourceCommand({ resourceArn: clusterArn }))).tags;
    expect(clusterTags).toEqual(
      expect.arrayContaining([
        { key: "prefect.io/work-pool", value: "my-pool" },
        { key: "managed-by", value: "wp" },
      ]),
    );
    const igws = await api.describeInternetGateways([{ Name: "attachment.vpc-id", Values: [vpcId] }]);
    for (const tagged of [...subnets, ...igws, custom, ...sgs]) expect(tagged?.Tags).toEqual(wanted);
  });

  it("uses the default VPC as Prefect does: no VPC created, no vpc_id", async () => {
    const p = fx.provisioner();
    await p.targets();
    const run = await runSteps(p, fx.prefect);
    expect(run.states.get("aws.vpc")).toMatchObject({
      action: "exists",
      // The plan names what is really used: the default VPC, by its id.
      name: expect.stringMatching(/^default VPC vpc-/),
      detail: "used instead of creating prefect-ecs-vpc",
    });
    expect(run.outputs.has("vpcId")).toBe(false);
    expect(sim.proxy.mutations().map((m) => m.action)).not.toContain("CreateVpc");
    const template = p.jobTemplate(
      {
        job_configuration: {},
        variables: { properties: { aws_credentials: {}, cluster: {}, vpc_id: {}, execution_role_arn: {} } },
      },
      run.outputs,
    ) as { variables: { properties: Record<string, unknown> } };
    expect(template.variables.properties.vpc_id).toEqual({});
  });

  it("picks 172.32.0.0/16 when 172.31.0.0/16 is taken by another VPC", async () => {
    await removeDefaultVpc(sim.moto.url);
    const api = await ec2();
    await api.createVpc({ CidrBlock: "172.31.0.0/16" });
    const p = fx.provisioner();
    const plan = await runSteps(p, fx.prefect, { planOnly: true });
    expect(plan.states.get("aws.vpc")?.detail).toContain("CIDR 172.32.0.0/16");
    const run = await runSteps(p, fx.prefect);
    const [vpc] = await api.describeVpcs([{ Name: "vpc-id", Values: [String(run.outputs.get("vpcId"))] }]);
    expect(vpc?.CidrBlock).toBe("172.32.0.0/16");
    const subnets = await api.describeSubnets([{ Name: "vpc-id", Values: [String(vpc?.VpcId)] }]);
    expect(subnets.map((s) => s.CidrBlock).sort()).toEqual(["172.32.0.0/18", "172.32.128.0/18", "172.32.64.0/18"]);
  });

  it("re-run: every step exists, zero mutating AWS requests, no new key", async () => {
    await removeDefaultVpc(sim.moto.url);
    await runSteps(fx.provisioner(), fx.prefect);
    const firstRun = sim.proxy.mutations().length;
    sim.proxy.clear();

    const p = fx.provisioner();
    await p.targets();
    const again = await runSteps(p, fx.prefect);
    expect([...again.states.entries()].filter(([, s]) => s.action !== "exists")).toEqual([]);
    expect(again.results.size).toBe(0);
    expect(sim.proxy.mutations()).toEqual([]);
    expect(sim.proxy.requests.some((r) => r.action === "CreateAccessKey")).toBe(false);
    expect(fx.prefect.documents).toHaveLength(1);
    const iam = await (await resolveAws({ env: process.env, endpoint: sim.moto.url })).iam();
    expect(await iam.listAccessKeys("prefect-ecs-user")).toHaveLength(1);
    // Outputs of existing resources are still filled in, so the template can be built.
    expect(() =>
      p.jobTemplate(
        {
          job_configuration: {},
          variables: { properties: { aws_credentials: {}, cluster: {}, vpc_id: {}, execution_role_arn: {} } },
        },
        again.outputs,
      ),
    ).not.toThrow();
    console.info(
      `ECS request counts: first run ${firstRun} mutating; re-run ${sim.proxy.requests.length} requests, ` +
        `${sim.proxy.mutations().length} mutating (${[...new Set(sim.proxy.requests.map((r) => r.action))].join(", ")})`,
    );
  });

  it("next steps name the image in the registry", () => {
    const outputs = new Map<string, unknown>([["registry", "1.dkr.ecr.eu-west-1.amazonaws.com"]]);
    const lines = ecsNextSteps("pool", "prefect-flows", outputs);
    expect(lines[0]).toBe("Your default Docker build namespace has been set to '1.dkr.ecr.eu-west-1.amazonaws.com'.");
    expect(lines.join("\n")).toContain('platform="linux/amd64"');
  });
});
