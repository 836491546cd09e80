/**
 * The ECS permission preflight (iam:SimulatePrincipalPolicy, answered by the proxy from moto's IAM
 * state) and `--print-permissions`: a narrow identity is refused before any write with every missing
 * action; a caller that may not simulate, or is no IAM user or role, is told once and the run goes on;
 * the printed policy, attached to a user, lets provisioning pass the preflight.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { useAwsProxy } from "../helpers/aws-proxy.js";
import { awsWpEnv, requireMoto } from "../helpers/moto.js";
import { runCli } from "../helpers/run-cli.js";

const hasMoto = requireMoto("test/ecs/preflight.test.ts (ECS permission preflight and --print-permissions)");

describe.skipIf(!hasMoto)("ECS permission preflight", { timeout: 180_000 }, () => {
  const sim = useAwsProxy();
  let env: Record<string, string>;
  beforeEach(() => {
    const t = awsWpEnv(sim.proxy.url);
    env = t.env;
    return t.cleanup;
  });
  const iam = async () => {
    const m = await import("@aws-sdk/client-iam");
    return { m, c: new m.IAMClient({ region: "us-east-1", endpoint: sim.moto.url }) };
  };
  /** A user with `policy` (inline) and a key; wp runs as it (the SDK reads process.env). */
  async function runAs(user: string, policy: object, argv: string[]) {
    const { m, c } = await iam();
    await c.send(new m.CreateUserCommand({ UserName: user }));
    await c.send(
      new m.PutUserPolicyCommand({ UserName: user, PolicyName: "p", PolicyDocument: JSON.stringify(policy) }),
    );
    const key = (await c.send(new m.CreateAccessKeyCommand({ UserName: user }))).AccessKey;
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = key?.AccessKeyId ?? "";
    process.env.AWS_SECRET_ACCESS_KEY = key?.SecretAccessKey ?? "";
    sim.proxy.requests.length = 0;
    try {
      return await runCli(argv, {
        env: { ...env, AWS_ACCESS_KEY_ID: key?.AccessKeyId ?? "", AWS_SECRET_ACCESS_KEY: key?.SecretAccessKey ?? "" },
      });
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  }
  const create = ["create", "p1", "--type", "ecs:push", "--provision-infra", "--yes"];
  const readOnly = {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: ["iam:Get*", "iam:List*", "ec2:Describe*", "ecs:Describe*", "ecr:Describe*"],
        Resource: "*",
      },
      { Effect: "Allow", Action: ["iam:SimulatePrincipalPolicy", "sts:GetCallerIdentity"], Resource: "*" },
      // Allowed to make the cluster, but an explicit Deny wins for the repository.
      { Effect: "Allow", Action: ["ecs:CreateCluster", "ecs:TagResource", "ecr:*"], Resource: "*" },
      { Effect: "Deny", Action: "ecr:CreateRepository", Resource: "*" },
    ],
  };

  it("a narrow identity is refused before any write, with every missing action and what grants it", async () => {
    sim.proxy.pageSize = 2;
    const r = await runAs("narrow", readOnly, create);
    expect(r.code, r.stderr).toBe(4);
    const line = r.stderr.trim().split("\n").pop() ?? "";
    expect(line).toMatch(
      /^Error: Your AWS ECS identity lacks \d+ permissions this plan needs, so nothing was changed: /,
    );
    for (const action of [
      "iam:CreateRole on arn:aws:iam::123456789012:role/PrefectEcsTaskExecutionRole",
      "iam:CreateUser on arn:aws:iam::123456789012:user/prefect-ecs-user",
      "iam:CreatePolicy on arn:aws:iam::123456789012:policy/prefect-ecs-policy",
      "iam:CreateAccessKey on arn:aws:iam::123456789012:user/prefect-ecs-user",
      "ecr:CreateRepository on arn:aws:ecr:us-east-1:123456789012:repository/prefect-flows",
    ])
      expect(line).toContain(action);
    expect(line).not.toContain("ecs:CreateCluster");
    expect(line).toContain("granted by the policy `wp create POOL --type ecs:push --print-permissions` prints");
    expect(line).toContain("IAMFullAccess");
    expect(sim.proxy.mutations()).toEqual([]);
    // The simulation was asked for and read page by page.
    const asked = sim.proxy.requests.filter((q) => q.action === "SimulatePrincipalPolicy");
    expect(asked.some((q) => q.params.Marker)).toBe(true);
  });

  it("a caller who may not simulate is told once, and the run goes on", async () => {
    const noSimulate = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "ec2:*", Resource: "*" }] };
    const r = await runAs("nosim", noSimulate, create);
    expect(r.code, r.stderr).toBe(0);
    const told = r.stderr.split("\n").filter((l) => l.startsWith("Permissions not checked before the run"));
    expect(told).toEqual([
      "Permissions not checked before the run: your identity may not call iam:SimulatePrincipalPolicy on arn:aws:iam::123456789012:user/nosim.",
    ]);
  });

  it("a caller that is no IAM user or role (moto's default identity) is told once, and the run goes on", async () => {
    const r = await runCli(create, { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      "Permissions not checked before the run: arn:aws:sts::123456789012:user/moto is not an IAM user or role",
    );
    expect(sim.proxy.requests.some((q) => q.action === "SimulatePrincipalPolicy")).toBe(false);
  });

  it("--print-permissions prints the least-privilege policy for the names and region; attached, it passes the preflight", async () => {
    const p = await runCli(
      ["create", "p1", "--type", "ecs:push", "--print-permissions", "--cluster-name", "c1", "--region", "eu-west-1"],
      { env },
    );
    expect(p.code, p.stderr).toBe(0);
    const out = JSON.parse(p.stdout);
    expect(out).toMatchObject({ cloud: "aws", format: "aws-iam-policy" });
    const doc = out.document as {
      Version: string;
      Statement: Array<{ Sid: string; Effect: string; Action: string[]; Resource: string }>;
    };
    expect(doc.Version).toBe("2012-10-17");
    const by = Object.fromEntries(doc.Statement.map((s) => [s.Sid, s]));
    expect(by.EcsCluster?.Resource).toBe("arn:aws:ecs:eu-west-1:123456789012:cluster/c1");
    expect(by.ExecutionRole?.Resource).toBe("arn:aws:iam::123456789012:role/PrefectEcsTaskExecutionRole");
    expect(by.ExecutionRole?.Action).toEqual(
      expect.arrayContaining(["iam:CreateRole", "iam:TagRole", "iam:DeleteRole"]),
    );
    expect(by.NoResourceLevelPermissions?.Action).toContain("ecr:GetAuthorizationToken");
    expect(by.NoResourceLevelPermissions?.Action).not.toContain("iam:CreateRole");
    // "*" only where AWS defines no resource for the action.
    expect(doc.Statement.filter((s) => s.Resource === "*").map((s) => s.Sid)).toEqual(["NoResourceLevelPermissions"]);
    expect(doc.Statement.every((s) => s.Effect === "Allow" && s.Action.every((a) => !a.includes("*")))).toBe(true);

    // The default names in us-east-1, attached to a user: provisioning passes the preflight.
    const d = JSON.parse((await runCli(["create", "p1", "--type", "ecs:push", "--print-permissions"], { env })).stdout);
    const r = await runAs("admin", d.document, create);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("Permissions not checked");
    expect(r.stderr).not.toContain("lacks");
    expect(sim.proxy.requests.some((q) => q.action === "SimulatePrincipalPolicy")).toBe(true);
  });

  it("--print-permissions without credentials names a placeholder account and says so", async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    try {
      const { AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _s, ...bare } = env;
      const p = await runCli(["create", "p1", "--type", "ecs:push", "--print-permissions"], { env: bare });
      expect(p.code, p.stderr).toBe(0);
      const out = JSON.parse(p.stdout);
      expect(JSON.stringify(out.document)).toContain("arn:aws:iam::ACCOUNT_ID:user/prefect-ecs-user");
      expect(out.notes[0]).toContain("placeholder ACCOUNT_ID");
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });
});
