/**
 * wp against AWS's documented eventual consistency and throttling (injected by the proxy in front of
 * moto): provisioning tolerates NoSuchEntity right after a create and throttling; verify and status
 * right after create wait for the new key and role instead of reporting the first refusal; rotation
 * waits until the new key works; every list is read to its last page.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { connect } from "../../src/prefect/client.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { useAwsProxy } from "../helpers/aws-proxy.js";
import { awsWpEnv, requireMoto } from "../helpers/moto.js";
import { runCli } from "../helpers/run-cli.js";

const hasMoto = requireMoto("test/ecs/propagation.test.ts (ECS provisioning with AWS's eventual consistency)");

describe.skipIf(!hasMoto)("ECS pools while AWS is eventually consistent", { timeout: 180_000 }, () => {
  const sim = useAwsProxy();
  let env: Record<string, string>;
  beforeEach(() => {
    const t = awsWpEnv(sim.proxy.url);
    env = { ...t.env, WP_VERIFY_POLL_MS: "10" };
    return t.cleanup;
  });
  const wp = (argv: string[]) => runCli(argv, { env });
  const create = async (pool: string) => {
    const r = await wp(["create", pool, "--type", "ecs:push", "--provision-infra", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    return r;
  };
  const blockKey = async (pool: string) => {
    const api = await connect(await loadSettings(env), { env });
    try {
      const doc = await api.readBlockDocument("aws-credentials", `${pool}-aws-credentials`, true);
      return String((doc?.data as Record<string, unknown> | undefined)?.aws_access_key_id ?? "");
    } finally {
      api.close();
    }
  };
  const injected = (code: string) => sim.proxy.injected.filter((i) => i.code === code).map((i) => i.action);

  it("provisioning waits out IAM's NoSuchEntity right after its creates, saying what and why", async () => {
    sim.proxy.lags.entityMs = 2500;
    const r = await create("p1");
    // The role's policies, the policy's attachment and the new user's key all met a NoSuchEntity first.
    expect(injected("NoSuchEntity")).toEqual(
      expect.arrayContaining(["AttachRolePolicy", "PutRolePolicy", "AttachUserPolicy", "CreateAccessKey"]),
    );
    expect(r.stderr).toMatch(
      /Waiting for IAM to show IAM role PrefectEcsTaskExecutionRole \(IAM is eventually consistent/,
    );
    expect(r.stderr).toMatch(/Waiting for IAM to show IAM policy prefect-ecs-policy and user prefect-ecs-user/);
  });

  it("throttled calls are retried with backoff, and the run says so", async () => {
    const seen = new Map<string, number>();
    const throttled = ["CreateRole", "DescribeVpcs", "CreateCluster", "ListAccessKeys", "GetCallerIdentity"];
    sim.proxy.throttle = (r) => {
      const n = (seen.get(r.action) ?? 0) + 1;
      seen.set(r.action, n);
      return throttled.includes(r.action) && n <= 2;
    };
    const r = await create("p1");
    expect(injected("Throttling")).toEqual(expect.arrayContaining(["CreateRole", "ListAccessKeys"]));
    expect(injected("RequestLimitExceeded")).toContain("DescribeVpcs");
    expect(injected("ThrottlingException")).toContain("CreateCluster");
    expect(r.stderr).toMatch(/AWS iam:CreateRole: throttled \(Throttling\); trying again in/);
  });

  it("429 and 503 on a call that may be repeated are retried; a 503 on a create is not repeated blindly", async () => {
    let n = 0;
    sim.proxy.throttle = (r) =>
      r.action === "DescribeClusters" && n++ < 2
        ? "TooManyRequestsException"
        : r.action === "DescribeRepositories" && n++ < 4
          ? "ServiceUnavailable"
          : r.action === "CreateCluster"
            ? "ServiceUnavailable"
            : false;
    const failed = await wp(["create", "p1", "--type", "ecs:push", "--provision-infra", "--yes"]);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/AWS ecs:DescribeClusters: throttled \(TooManyRequestsException\); trying again in/);
    expect(failed.stderr).toMatch(/AWS ecr:DescribeRepositories: answered ServiceUnavailable; trying again in/);
    // The create's outcome is unknown after a 503: asked once, then reported; the re-run converges.
    expect(sim.proxy.requests.filter((q) => q.action === "CreateCluster")).toHaveLength(1);
    sim.proxy.throttle = undefined;
    await create("p1");
  });

  it("verify right after create waits for the new key to work and for ECS to assume the new role", async () => {
    await create("p1");
    // As if create had just ended: the key and the role are brand new to AWS.
    sim.proxy.lags.keyMs = 600_000;
    sim.proxy.lags.roleMs = 600_000;
    const key = await blockKey("p1");
    // Each lag ends 800 ms after AWS first refused (whatever the machine's speed).
    const started = Date.now();
    const ending = setInterval(() => {
      if (injected("InvalidClientTokenId").length) setTimeout(() => Object.assign(sim.proxy.lags, { keyMs: 0 }), 800);
      if (injected("ClientException").length) setTimeout(() => Object.assign(sim.proxy.lags, { roleMs: 0 }), 800);
    }, 50);
    const v = await wp(["verify", "p1"]).finally(() => clearInterval(ending));
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain("Work pool 'p1' can run work.");
    expect(v.stderr).toContain(`Waiting for the block's access key ${key} to work`);
    expect(v.stderr).toContain("Waiting for ECS to be able to assume the execution role arn:aws:iam::");
    expect(injected("InvalidClientTokenId")).toContain("GetCallerIdentity");
    expect(injected("ClientException")).toContain("RunTask");
    expect(Date.now() - started).toBeGreaterThan(1600);
  });

  it("status right after create waits for the new key instead of calling it drift", async () => {
    await create("p1");
    sim.proxy.lags.keyMs = 600_000;
    setTimeout(() => {
      sim.proxy.lags.keyMs = 0;
    }, 1000);
    const s = await wp(["status", "p1"]);
    expect(s.code, s.stdout).toBe(0);
    expect(s.stdout).toContain("Healthy.");
    expect(s.stderr).toMatch(/Waiting for the new access key \S+ to work/);
  });

  it("rotation waits until the new key works before it deletes the old one", async () => {
    await create("p1");
    const old = await blockKey("p1");
    sim.proxy.lags.keyMs = 2500;
    const r = await wp(["rotate-credentials", "p1", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    const now = await blockKey("p1");
    expect(now).not.toBe(old);
    expect(r.stderr).toContain(`Waiting for the new access key ${now} to work`);
    expect(injected("InvalidClientTokenId")).toContain("GetCallerIdentity");
    // The old key was deleted only after the new one answered: the last GetCallerIdentity precedes DeleteAccessKey.
    const actions = sim.proxy.requests.map((q) => q.action);
    expect(actions.lastIndexOf("DeleteAccessKey")).toBeGreaterThan(actions.lastIndexOf("GetCallerIdentity"));
    expect((await wp(["status", "p1"])).code).toBe(0);
  });

  it("every list is read to its last page (one item per page)", async () => {
    const m = await import("@aws-sdk/client-iam");
    const iam = new m.IAMClient({ region: "us-east-1", endpoint: sim.moto.url });
    const doc = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }],
    });
    for (const n of ["a", "b", "z"]) await iam.send(new m.CreatePolicyCommand({ PolicyName: n, PolicyDocument: doc }));
    sim.proxy.pageSize = 1;
    await create("p1");
    const s = await wp(["status", "p1", "-o", "json"]);
    expect(s.code, s.stdout).toBe(0);
    expect((await wp(["verify", "p1"])).code).toBe(0);
    const d = await wp(["deprovision", "p1", "--yes", "-o", "json"]);
    expect(d.code, d.stderr).toBe(0);
    const deleted = JSON.parse(d.stdout).results.map((x: { resource: string }) => x.resource);
    expect(deleted).toEqual(expect.arrayContaining(["IAM policy", "IAM user", "IAM role"]));
    // Lists of more than one item were read page by page (the policy's tags, the role's policies, the VPCs).
    const followed = new Set(
      sim.proxy.requests.filter((q) => q.params.Marker || q.params.NextToken).map((q) => q.action),
    );
    expect([...followed]).toEqual(expect.arrayContaining(["ListPolicyTags", "ListPolicies", "DescribeSubnets"]));
  });
});
