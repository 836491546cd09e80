/**
 * The whole life of an ECS push pool — create → status → verify → rotate → status → deprovision —
 * against moto through the proxy in realistic mode: IAM's read-after-write lag, new keys refused for
 * a while, a new role ECS cannot assume yet, throttling, and one-item pages.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { TEST_LAGS, useAwsProxy } from "../helpers/aws-proxy.js";
import { awsWpEnv, requireMoto } from "../helpers/moto.js";
import { runCli } from "../helpers/run-cli.js";

const hasMoto = requireMoto("test/lifecycle/ecs-realistic.test.ts (the life of an ECS pool with AWS's lags)");

describe.skipIf(!hasMoto)("the life of an ECS push pool while AWS lags", () => {
  const sim = useAwsProxy(TEST_LAGS);
  let env: Record<string, string>;
  beforeEach(() => {
    const t = awsWpEnv(sim.proxy.url);
    env = { ...t.env, WP_VERIFY_POLL_MS: "10" };
    return t.cleanup;
  });
  const wp = (argv: string[]) => runCli(argv, { env });

  it("create → status → verify → rotate → status → deprovision, with lags, throttling and paging on", {
    timeout: 300_000,
  }, async () => {
    sim.proxy.pageSize = 1;
    let n = 0;
    sim.proxy.throttle = () => ++n % 17 === 0;

    const c = await wp(["create", "life", "--type", "ecs:push", "--provision-infra", "--yes"]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toContain("Waiting for IAM to show");

    const s1 = await wp(["status", "life"]);
    expect(s1.code, s1.stdout + s1.stderr).toBe(0);
    expect(s1.stdout).toContain("Healthy.");

    // As if right after create: the key and the role are new to AWS again.
    Object.assign(sim.proxy.lags, { keyMs: 600_000, roleMs: 600_000 });
    const ending = setInterval(() => {
      const seen = (code: string) => sim.proxy.injected.some((i) => i.code === code);
      if (seen("InvalidClientTokenId")) setTimeout(() => Object.assign(sim.proxy.lags, { keyMs: 0 }), 500);
      if (seen("ClientException")) setTimeout(() => Object.assign(sim.proxy.lags, { roleMs: 0 }), 500);
    }, 50);
    const v = await wp(["verify", "life"]).finally(() => clearInterval(ending));
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain("Work pool 'life' can run work.");
    expect(v.stderr).toContain("Waiting for the block's access key");
    expect(v.stderr).toContain("Waiting for ECS to be able to assume the execution role");

    sim.proxy.lags.keyMs = TEST_LAGS.keyMs;
    const r = await wp(["rotate-credentials", "life", "--yes", "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const rotated = JSON.parse(r.stdout);
    expect(rotated.oldId).toBeTruthy();

    const s2 = await wp(["status", "life"]);
    expect(s2.code, s2.stdout + s2.stderr).toBe(0);

    const d = await wp(["deprovision", "life", "--yes"]);
    expect(d.code, d.stderr).toBe(0);
    const m = await import("@aws-sdk/client-iam");
    const iam = new m.IAMClient({ region: "us-east-1", endpoint: sim.moto.url });
    const gone = (p: Promise<unknown>) =>
      p.then(
        () => "exists",
        (e: Error) => e.name,
      );
    expect(await gone(iam.send(new m.GetUserCommand({ UserName: "prefect-ecs-user" })))).toMatch(/^NoSuchEntity/);
    expect(await gone(iam.send(new m.GetRoleCommand({ RoleName: "PrefectEcsTaskExecutionRole" })))).toMatch(
      /^NoSuchEntity/,
    );
    expect(JSON.parse((await wp(["ls", "-o", "json"])).stdout)).toEqual([]);
    // The lags and throttling were really met on the way.
    const codes = new Set(sim.proxy.injected.map((i) => i.code));
    expect([...codes]).toEqual(expect.arrayContaining(["NoSuchEntity", "InvalidClientTokenId", "ClientException"]));
    expect(sim.proxy.injected.some((i) => /Throttl|RequestLimitExceeded/.test(i.code))).toBe(true);
  });
});
