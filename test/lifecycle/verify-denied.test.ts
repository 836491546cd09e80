/**
 * `wp verify` names the IAM action the block's identity lacks. moto enforces IAM only when started
 * with INITIAL_NO_AUTH_ACTION_COUNT, so this suite runs its own moto_server: the first three calls
 * (unauthenticated) make an admin user and key; everything after is checked against IAM policies.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveAws } from "../../src/clouds/aws/sdk.js";
import { awsWpEnv, isolateAwsEnv, requireMoto } from "../helpers/moto.js";
import { runCli } from "../helpers/run-cli.js";

const hasMoto = requireMoto("test/lifecycle/verify-denied.test.ts (wp verify against moto with IAM enforced)");

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe.skipIf(!hasMoto)("wp verify with IAM enforced (moto)", () => {
  let child: ChildProcess | undefined;
  let url = "";
  let restore: (() => void) | undefined;
  let admin = { accessKeyId: "", secretAccessKey: "" };

  beforeAll(async () => {
    restore = isolateAwsEnv();
    const port = await freePort();
    child = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
      env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: "true", INITIAL_NO_AUTH_ACTION_COUNT: "3" },
      stdio: "ignore",
    });
    url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${url}/moto-api/`)).status < 500) break;
      } catch {
        if (i > 200) throw new Error("moto_server did not start");
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    const { IAMClient, CreateUserCommand, AttachUserPolicyCommand, CreateAccessKeyCommand } = await import(
      "@aws-sdk/client-iam"
    );
    const iam = new IAMClient({ region: "us-east-1", endpoint: url });
    await iam.send(new CreateUserCommand({ UserName: "admin" }));
    await iam.send(
      new AttachUserPolicyCommand({ UserName: "admin", PolicyArn: "arn:aws:iam::aws:policy/AdministratorAccess" }),
    );
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "admin" }))).AccessKey;
    admin = { accessKeyId: key?.AccessKeyId ?? "", secretAccessKey: key?.SecretAccessKey ?? "" };
    // The SDK's default chain reads the process environment (restored by isolateAwsEnv's undo).
    process.env.AWS_ACCESS_KEY_ID = admin.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = admin.secretAccessKey;
  }, 60_000);

  afterAll(() => {
    // Only the moto_server this suite started, by its own handle.
    child?.kill();
    restore?.();
  });

  it("passes with Prefect's policy; without ecs:RunTask it names the action and leaves nothing behind", async () => {
    const t = awsWpEnv(url, {
      AWS_ACCESS_KEY_ID: admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
      WP_VERIFY_POLL_MS: "10",
    });
    const env = t.env;
    const wp = (argv: string[]) => runCli(argv, { env });
    try {
      const created = await wp(["create", "v", "--type", "ecs:push", "--provision-infra", "--yes"]);
      expect(created.code, created.stderr).toBe(0);
      const ok = await wp(["verify", "v"]);
      expect(ok.code, ok.stderr).toBe(0);

      const session = await resolveAws({ env: { ...env }, credentials: admin });
      const iam = await session.iam();
      const policy = (await iam.listLocalPolicies()).find((p) => p.PolicyName === "prefect-ecs-policy");
      const arn = policy?.Arn ?? "";
      const doc = JSON.parse(await iam.getPolicyDocument(arn, policy?.DefaultVersionId ?? "v1"));
      doc.Statement[0].Action = doc.Statement[0].Action.filter((a: string) => a !== "ecs:RunTask");
      await iam.createPolicyVersion(arn, JSON.stringify(doc));

      const denied = await wp(["verify", "v", "-o", "json"]);
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain("is not allowed ecs:RunTask");
      expect(denied.stderr).toContain("wp provision-infra v");
      const st = await wp(["status", "v", "-o", "json"]);
      const item = JSON.parse(st.stdout).resources.find((r: { resource: string }) => r.resource === "IAM policy");
      expect(item.detail).toContain("ecs:RunTask");
      // The task definition registered before the refusal was deregistered.
      const { ECSClient, ListTaskDefinitionsCommand } = await import("@aws-sdk/client-ecs");
      const active = await new ECSClient({ region: "us-east-1", endpoint: url, credentials: admin }).send(
        new ListTaskDefinitionsCommand({ status: "ACTIVE" }),
      );
      expect(active.taskDefinitionArns ?? []).toEqual([]);
    } finally {
      t.cleanup();
    }
  });
});
