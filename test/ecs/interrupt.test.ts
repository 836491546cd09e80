/**
 * The credential critical section under signals, and two runs at once, with the built CLI
 * (`node bin/wp.js`, so bin.ts's signal handling is what runs) against moto and the embedded API.
 * After every interruption a plain re-run must leave exactly one access key, held by the block.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { resolveAws } from "../../src/clouds/aws/sdk.js";
import { blockKind, createBlock } from "../../src/prefect/blocks.js";
import { connect } from "../../src/prefect/client.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { awsWpEnv, removeDefaultVpc, requireMoto, useMoto } from "../helpers/moto.js";
import { requireBuilt, wpProcess } from "../helpers/wp-process.js";

const hasMoto = requireMoto("test/ecs/interrupt.test.ts (signals in the credential step, concurrent runs)");

describe.skipIf(!hasMoto)("credentials survive interruption; concurrent runs converge", () => {
  const sim = useMoto();
  beforeAll(() => {
    // `npm test` builds first; these tests run the built CLI.
    requireBuilt();
  });
  let env: Record<string, string> & { WP_HOME: string };

  beforeEach(async () => {
    const t = awsWpEnv(sim.moto.url, {
      PATH: process.env.PATH ?? "",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    });
    env = t.env;
    return t.cleanup;
  });

  const create = (pool: string, extra: Record<string, string> = {}) =>
    wpProcess(["create", pool, "--type", "ecs:push", "--provision-infra", "--yes"], { ...env, ...extra });

  async function keysAndBlock(pool: string) {
    const iam = await (await resolveAws({ env: process.env, endpoint: sim.moto.url })).iam();
    const keys = (await iam.listAccessKeys("prefect-ecs-user")).map((k) => k.AccessKeyId);
    const api = await connect(await loadSettings(env), { env });
    try {
      const block = await api.readBlockDocument("aws-credentials", `${pool}-aws-credentials`);
      return { keys, held: (block?.data as { aws_access_key_id?: string } | undefined)?.aws_access_key_id };
    } finally {
      api.close();
    }
  }

  async function rerunConverges(pool: string) {
    const again = create(pool);
    const { code } = await again.exit;
    expect(code, again.stderr()).toBe(0);
    const { keys, held } = await keysAndBlock(pool);
    expect(keys).toHaveLength(1);
    expect(held).toBe(keys[0]);
    // The journal is settled: nothing is left pending.
    expect(existsSync(join(env.WP_HOME, "pending")) ? readdirSync(join(env.WP_HOME, "pending")) : []).toEqual([]);
    return again;
  }

  const POINTS = ["before-mint", "after-mint", "after-journal", "after-block"] as const;

  for (const point of POINTS) {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      it(`${signal} at ${point}: the run finishes the credential step, exits ${signal === "SIGINT" ? 130 : 143}`, async () => {
        await removeDefaultVpc(sim.moto.url);
        const run = create("p1", { WP_TEST_PAUSE_AT: point });
        await run.waitFor(`wp-test: paused at ${point}`);
        run.child.kill(signal);
        const { code } = await run.exit;
        expect(code, run.stderr()).toBe(signal === "SIGINT" ? 130 : 143);
        expect(run.stderr()).toContain("finishing the credential step first");
        // The section was completed: the block holds the one key already.
        const { keys, held } = await keysAndBlock("p1");
        expect(keys).toHaveLength(1);
        expect(held).toBe(keys[0]);
        await rerunConverges("p1");
      });
    }

    it(`SIGKILL at ${point}: the next run deletes the orphan and leaves one key, held by the block`, async () => {
      await removeDefaultVpc(sim.moto.url);
      const run = create("p1", { WP_TEST_PAUSE_AT: point });
      await run.waitFor(`wp-test: paused at ${point}`);
      run.child.kill("SIGKILL");
      expect((await run.exit).signal).toBe("SIGKILL");
      const before = await keysAndBlock("p1");
      expect(before.keys).toHaveLength(point === "before-mint" ? 0 : 1);
      const again = await rerunConverges("p1");
      if (point === "after-mint" || point === "after-journal") {
        expect(again.stderr()).toContain(`Deleted access key ${before.keys[0]} of IAM user prefect-ecs-user`);
        expect((await keysAndBlock("p1")).keys).not.toContain(before.keys[0]);
      } else {
        // A key the block holds is never deleted.
        expect(again.stderr()).not.toContain("Deleted access key");
      }
    });
  }

  it("an interrupted create leaves a record of what it made: status points at it, deprovision deletes it all", async () => {
    await removeDefaultVpc(sim.moto.url);
    const run = create("p1", { WP_TEST_PAUSE_AT: "after-block" });
    await run.waitFor("wp-test: paused at after-block");
    // The steps that do not wait for the credentials block finish meanwhile.
    await new Promise((r) => setTimeout(r, 1500));
    run.child.kill("SIGINT");
    expect((await run.exit).code, run.stderr()).toBe(130);
    expect(run.stderr()).toContain("run the same command again to finish what it started");
    const status = wpProcess(["status", "p1"], env);
    expect((await status.exit).code).toBe(1);
    expect(status.stderr()).toContain("its provisioning record names");
    const gone = wpProcess(["deprovision", "p1", "--yes"], env);
    expect((await gone.exit).code, gone.stderr()).toBe(0);
    expect(gone.stderr() + gone.stdout()).not.toContain("adopted");
    const { keys, held } = await keysAndBlock("p1").catch(() => ({ keys: [], held: undefined }));
    expect(keys).toEqual([]);
    expect(held).toBeUndefined();
    const aws = await resolveAws({ env: process.env, endpoint: sim.moto.url });
    expect(await (await aws.iam()).getUser("prefect-ecs-user")).toBeNull();
  });

  it("a key that another pool's block holds is never taken for an orphan", async () => {
    // Killed before its key's id was recorded: the next run looks at the user's keys created since.
    const run = create("p1", { WP_TEST_PAUSE_AT: "before-mint" });
    await run.waitFor("wp-test: paused at before-mint");
    run.child.kill("SIGKILL");
    await run.exit;
    // Meanwhile another machine's run for pool p2 made a key on the shared user and stored it.
    const iam = await (await resolveAws({ env: process.env, endpoint: sim.moto.url })).iam();
    const other = await iam.createAccessKey("prefect-ecs-user");
    const api = await connect(await loadSettings(env), { env });
    try {
      const kind = await blockKind(api, "aws-credentials");
      await createBlock(api, kind, "p2-aws-credentials", {
        aws_access_key_id: other.accessKeyId,
        aws_secret_access_key: other.secretAccessKey,
      });
    } finally {
      api.close();
    }
    const again = create("p1");
    expect((await again.exit).code, again.stderr()).toBe(0);
    const { keys, held } = await keysAndBlock("p1");
    expect(keys).toContain(other.accessKeyId);
    expect(keys).toHaveLength(2);
    expect(held).not.toBe(other.accessKeyId);
    expect(again.stderr()).not.toContain("Deleted access key");
  });

  it("two runs for pools sharing resources at once end with one of everything", async () => {
    await removeDefaultVpc(sim.moto.url);
    const [a, b] = [create("p1"), create("p2")];
    const [ra, rb] = await Promise.all([a.exit, b.exit]);
    expect(ra.code, a.stderr()).toBe(0);
    expect(rb.code, b.stderr()).toBe(0);
    await expectOneStack(2);
  });

  it("a run that finds the account locked waits for it (naming its pid), then checks again", async () => {
    await removeDefaultVpc(sim.moto.url);
    // p1 holds the lock, paused inside its credential step; its VPC may or may not be made yet.
    const first = create("p1", { WP_TEST_PAUSE_AT: "after-journal" });
    await first.waitFor("wp-test: paused at after-journal");
    const second = create("p2");
    await second.waitFor(`Waiting for another wp run (pid ${first.child.pid}) that is provisioning AWS account`);
    // Ctrl-C on p1: it completes its key and block, starts nothing new, exits 130; p2 goes on.
    first.child.kill("SIGINT");
    expect((await first.exit).code, first.stderr()).toBe(130);
    expect((await second.exit).code, second.stderr()).toBe(0);
    const p1 = create("p1");
    expect((await p1.exit).code, p1.stderr()).toBe(0);
    await expectOneStack(2);
  });

  async function expectOneStack(keys: number) {
    const session = await resolveAws({ env: process.env, endpoint: sim.moto.url });
    const ec2 = await session.ec2();
    const vpcs = await ec2.describeVpcs([{ Name: "tag:Name", Values: ["prefect-ecs-vpc"] }]);
    expect(vpcs).toHaveLength(1);
    const vpcId = vpcs[0]?.VpcId ?? "";
    expect(await ec2.describeInternetGateways([{ Name: "attachment.vpc-id", Values: [vpcId] }])).toHaveLength(1);
    expect(await ec2.describeSubnets([{ Name: "vpc-id", Values: [vpcId] }])).toHaveLength(3);
    expect(
      await ec2.describeSecurityGroups([{ Name: "group-name", Values: ["prefect-ecs-security-group"] }]),
    ).toHaveLength(1);
    const ecs = await session.ecs();
    expect(await ecs.describeClusters(["prefect-ecs-cluster"])).toHaveLength(1);
    // One key per pool's block, both on the shared user; every lock released.
    const iam = await session.iam();
    expect(await iam.listAccessKeys("prefect-ecs-user")).toHaveLength(keys);
    expect(readdirSync(join(env.WP_HOME, "locks"))).toEqual([]);
  }

  it("a lock left by a killed run is taken over without waiting", async () => {
    await removeDefaultVpc(sim.moto.url);
    const run = create("p1", { WP_TEST_PAUSE_AT: "after-block" });
    await run.waitFor("wp-test: paused at after-block");
    run.child.kill("SIGKILL");
    await run.exit;
    expect(readdirSync(join(env.WP_HOME, "locks")).length).toBeGreaterThan(0);
    const again = await rerunConverges("p1");
    expect(again.stderr()).not.toContain("Waiting for another wp run");
  });
});
