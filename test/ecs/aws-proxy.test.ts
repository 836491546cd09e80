/** The proxy between the SDK and moto answers as AWS documents while it is eventually consistent and busy. */
import { describe, expect, it } from "vitest";
import { useAwsProxy } from "../helpers/aws-proxy.js";
import { requireMoto } from "../helpers/moto.js";

const hasMoto = requireMoto("test/ecs/aws-proxy.test.ts (the AWS eventual-consistency proxy in front of moto)");

const creds = { accessKeyId: "testing", secretAccessKey: "testing" };

describe.skipIf(!hasMoto)("the AWS proxy in front of moto", () => {
  const sim = useAwsProxy();
  const iamClient = async (credentials = creds) => {
    const m = await import("@aws-sdk/client-iam");
    return { m, c: new m.IAMClient({ region: "us-east-1", endpoint: sim.proxy.url, credentials, maxAttempts: 1 }) };
  };
  const code = (p: Promise<unknown>) =>
    p.then(
      () => "ok",
      (e: { name?: string }) => e.name,
    );

  it("a new access key is refused with InvalidClientTokenId for a while, then works", async () => {
    sim.proxy.lags.keyMs = 600_000;
    const { m, c } = await iamClient();
    await c.send(new m.CreateUserCommand({ UserName: "u" }));
    const key = (await c.send(new m.CreateAccessKeyCommand({ UserName: "u" }))).AccessKey;
    const sts = await import("@aws-sdk/client-sts");
    const as = new sts.STSClient({
      region: "us-east-1",
      endpoint: sim.proxy.url,
      maxAttempts: 1,
      credentials: { accessKeyId: key?.AccessKeyId ?? "", secretAccessKey: key?.SecretAccessKey ?? "" },
    });
    expect(await code(as.send(new sts.GetCallerIdentityCommand({})))).toBe("InvalidClientTokenId");
    sim.proxy.lags.keyMs = 0; // as if the lag had passed
    expect((await as.send(new sts.GetCallerIdentityCommand({}))).Arn).toBe("arn:aws:iam::123456789012:user/u");
  });

  it("IAM answers NoSuchEntity right after a create (read-after-write), then shows the entity", async () => {
    sim.proxy.lags.entityMs = 600_000;
    const { m, c } = await iamClient();
    await c.send(new m.CreateUserCommand({ UserName: "u" }));
    expect(await code(c.send(new m.GetUserCommand({ UserName: "u" })))).toMatch(/^NoSuchEntity/);
    expect(await code(c.send(new m.CreateAccessKeyCommand({ UserName: "u" })))).toMatch(/^NoSuchEntity/);
    sim.proxy.lags.entityMs = 0; // as if the lag had passed
    expect((await c.send(new m.GetUserCommand({ UserName: "u" }))).User?.UserName).toBe("u");
  });

  it("ECS cannot assume a new role for a while (ClientException on RunTask)", async () => {
    sim.proxy.lags.roleMs = 600_000;
    const { m, c } = await iamClient();
    const trust = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
    const role = (await c.send(new m.CreateRoleCommand({ RoleName: "r", AssumeRolePolicyDocument: trust }))).Role;
    const ecs = await import("@aws-sdk/client-ecs");
    const e = new ecs.ECSClient({ region: "us-east-1", endpoint: sim.proxy.url, credentials: creds, maxAttempts: 1 });
    await e.send(new ecs.CreateClusterCommand({ clusterName: "c" }));
    await e.send(
      new ecs.RegisterTaskDefinitionCommand({
        family: "f",
        executionRoleArn: role?.Arn,
        containerDefinitions: [{ name: "x", image: "busybox", memory: 128 }],
      }),
    );
    const err = await e.send(new ecs.RunTaskCommand({ cluster: "c", taskDefinition: "f" })).catch((x: Error) => x);
    expect((err as Error).name).toBe("ClientException");
    expect((err as Error).message).toContain("ECS was unable to assume the role");
  });

  it("throttles on request, and pages IAM lists and EC2 describes", async () => {
    const { m, c } = await iamClient();
    sim.proxy.throttle = (r) => r.action === "ListUsers";
    expect(await code(c.send(new m.ListUsersCommand({})))).toBe("Throttling");
    sim.proxy.throttle = undefined;
    sim.proxy.pageSize = 1;
    await c.send(new m.CreateUserCommand({ UserName: "u" }));
    await c.send(new m.CreateAccessKeyCommand({ UserName: "u" }));
    await c.send(new m.CreateAccessKeyCommand({ UserName: "u" }));
    const first = await c.send(new m.ListAccessKeysCommand({ UserName: "u" }));
    expect(first.AccessKeyMetadata).toHaveLength(1);
    expect(first.IsTruncated).toBe(true);
    const second = await c.send(new m.ListAccessKeysCommand({ UserName: "u", Marker: first.Marker }));
    expect(second.AccessKeyMetadata).toHaveLength(1);
    expect(second.IsTruncated).toBe(false);
    expect(second.AccessKeyMetadata?.[0]?.AccessKeyId).not.toBe(first.AccessKeyMetadata?.[0]?.AccessKeyId);
    const ec2 = await import("@aws-sdk/client-ec2");
    const e = new ec2.EC2Client({ region: "us-east-1", endpoint: sim.proxy.url, credentials: creds });
    await e.send(new ec2.CreateVpcCommand({ CidrBlock: "10.1.0.0/16" }));
    const vpcs = await e.send(new ec2.DescribeVpcsCommand({}));
    expect(vpcs.Vpcs).toHaveLength(1);
    expect(vpcs.NextToken).toBeTruthy();
    expect(sim.proxy.injected).toContainEqual({ action: "ListUsers", code: "Throttling" });
  });

  it("answers iam:SimulatePrincipalPolicy from the user's policies, and refuses a caller not allowed to simulate", async () => {
    const { m, c } = await iamClient();
    await c.send(new m.CreateUserCommand({ UserName: "narrow" }));
    const doc = {
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: ["iam:Get*", "iam:SimulatePrincipalPolicy"], Resource: "*" },
        { Effect: "Deny", Action: "iam:GetRole", Resource: "*" },
      ],
    };
    await c.send(
      new m.PutUserPolicyCommand({ UserName: "narrow", PolicyName: "p", PolicyDocument: JSON.stringify(doc) }),
    );
    const key = (await c.send(new m.CreateAccessKeyCommand({ UserName: "narrow" }))).AccessKey;
    const { c: as } = await iamClient({
      accessKeyId: key?.AccessKeyId ?? "",
      secretAccessKey: key?.SecretAccessKey ?? "",
    });
    const out = await as.send(
      new m.SimulatePrincipalPolicyCommand({
        PolicySourceArn: "arn:aws:iam::123456789012:user/narrow",
        ActionNames: ["iam:GetUser", "iam:GetRole", "iam:CreateUser"],
      }),
    );
    expect(out.EvaluationResults?.map((r) => [r.EvalActionName, r.EvalDecision])).toEqual([
      ["iam:GetUser", "allowed"],
      ["iam:GetRole", "explicitDeny"],
      ["iam:CreateUser", "implicitDeny"],
    ]);
    await c.send(new m.DeleteUserPolicyCommand({ UserName: "narrow", PolicyName: "p" }));
    const refused = as.send(
      new m.SimulatePrincipalPolicyCommand({
        PolicySourceArn: "arn:aws:iam::123456789012:user/narrow",
        ActionNames: ["iam:GetUser"],
      }),
    );
    expect(await code(refused)).toBe("AccessDenied");
  });
});
