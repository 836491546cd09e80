/**
 * Issue 17 point 3: two machines (two `wp` processes, each with its own WP_HOME, so their lock files never meet)
 * against one `wp server` and one AWS account (moto) answering CreateVpc and CreateCluster slowly. The lock they
 * share is the lease in the Prefect API: two pools that share the network, cluster and IAM user end with one of each
 * and one key per pool; a holder killed with -9 stops renewing, and the other run goes on once its lease lapses.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { resolveAws } from "../../src/clouds/aws/sdk.js";
import { LEASE_SECONDS, REPOSSESS_SECONDS } from "../../src/engine/lease-lock.js";
import { connect } from "../../src/prefect/client.js";
import { startServer } from "../../src/prefect/embedded/http.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { awsWpEnv, removeDefaultVpc, requireMoto, useMoto } from "../helpers/moto.js";
import { makeHome } from "../helpers/run-cli.js";
import { requireBuilt, wpProcess } from "../helpers/wp-process.js";
import { type SlowAws, startSlowAws } from "./slow-aws.js";

const hasMoto = requireMoto("test/lock/two-machines.test.ts (two machines, one wp server, moto)");
const SLOW = { CreateVpc: 3000, CreateCluster: 3000 };

describe.skipIf(!hasMoto)("two machines, one Prefect API, one AWS account", () => {
  const sim = useMoto();
  let server: Awaited<ReturnType<typeof startServer>>;
  let slow: SlowAws;
  const serverHome = makeHome();
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    requireBuilt();
    server = await startServer({ home: serverHome.env.WP_HOME, host: "127.0.0.1", port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    serverHome.cleanup();
    for (const c of cleanups) c();
  });
  beforeEach(async () => {
    await removeDefaultVpc(sim.moto.url);
    slow = await startSlowAws(sim.moto.url, SLOW);
    return () => slow.close();
  });

  /** A machine: its own WP_HOME, the shared Prefect server, the slow AWS. */
  function machine() {
    const t = awsWpEnv(slow.url, {
      PATH: process.env.PATH ?? "",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      PREFECT_API_URL: server.url,
    });
    cleanups.push(t.cleanup);
    return {
      env: t.env,
      create: (pool: string) => wpProcess(["create", pool, "--type", "ecs:push", "--provision-infra", "--yes"], t.env),
    };
  }

  async function expectOneOfEverything(pools: string[]) {
    const session = await resolveAws({ env: process.env, endpoint: sim.moto.url });
    const ec2 = await session.ec2();
    expect(await ec2.describeVpcs([{ Name: "tag:Name", Values: ["prefect-ecs-vpc"] }])).toHaveLength(1);
    const ecs = await session.ecs();
    const clusters = await ecs.describeClusters(["prefect-ecs-cluster"]);
    expect(clusters.filter((c) => c.status === "ACTIVE")).toHaveLength(1);
    const iam = await session.iam();
    const keys = (await iam.listAccessKeys("prefect-ecs-user")).map((k) => k.AccessKeyId).sort();
    const env = { ...serverHome.env, PREFECT_API_URL: server.url };
    const api = await connect(await loadSettings(env), { env });
    const held: string[] = [];
    for (const p of pools) {
      const block = await api.readBlockDocument("aws-credentials", `${p}-aws-credentials`, true);
      held.push(String((block?.data as { aws_access_key_id?: string } | undefined)?.aws_access_key_id));
    }
    // One key per pool, each held by its pool's block.
    expect(keys).toEqual(held.sort());
    // Every lease given back: the workspace's lock is free.
    const free = await api.leases?.increment(["wp-lock-prefect-workspace"], LEASE_SECONDS);
    expect(free).not.toBe("locked");
    if (free && free !== "locked") await api.leases?.decrement(free.leaseId);
  }

  it("two creates at once for pools sharing infrastructure: one waits, told who holds the lock, and one of everything results", async () => {
    const [a, b] = [machine(), machine()];
    const [ra, rb] = [a.create("p1"), b.create("p2")];
    const [ea, eb] = await Promise.all([ra.exit, rb.exit]);
    expect(ea.code, ra.stderr()).toBe(0);
    expect(eb.code, rb.stderr()).toBe(0);
    const waited = [ra, rb].filter((r) => r.stderr().includes("Waiting for another wp run (pid "));
    expect(waited).toHaveLength(1);
    const other = waited[0] === ra ? rb : ra;
    expect(waited[0]?.stderr()).toMatch(
      new RegExp(
        `Waiting for another wp run \\(pid ${other.child.pid} on [^,]+, since \\d\\d:\\d\\d:\\d\\d UTC\\) that is provisioning .*; its lease lapses at \\d\\d:\\d\\d:\\d\\d UTC unless that run renews it\\.\\.\\.`,
      ),
    );
    expect(slow.actions.filter((x) => x === "CreateVpc")).toHaveLength(1);
    expect(slow.actions.filter((x) => x === "CreateCluster")).toHaveLength(1);
    await expectOneOfEverything(["p1", "p2"]);
  }, 180_000);

  it("the holder killed with -9: the other run goes on once the lease lapses, within the TTL plus its own time", async () => {
    const [a, b] = [machine(), machine()];
    // AWS so slow that k1 still holds the lock when k2 has planned and waits (the VPC lands after k1 is gone).
    slow.delays.CreateVpc = 25_000;
    // Pools of their own: the server keeps the first test's pools (moto starts afresh).
    const first = a.create("k1");
    // p1 holds the lock while AWS is slow to make its VPC.
    for (let i = 0; !slow.actions.includes("CreateVpc"); i++) {
      if (i > 900) throw new Error(`k1 never asked for a VPC:\n${first.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const second = b.create("k2");
    await second.waitFor(`Waiting for another wp run (pid ${first.child.pid} on `);
    const killedAt = Date.now();
    first.child.kill("SIGKILL");
    await first.exit;
    const done = await second.exit;
    const took = Date.now() - killedAt;
    expect(done.code, second.stderr()).toBe(0);
    console.info(`two machines: k2 finished ${Math.round(took / 1000)} s after k1 was killed with -9`);
    // The lease lapses at most 60 s after its last renewal, the slot is freed within 15 s; p2's own run is the rest.
    expect(took).toBeGreaterThan(20_000);
    expect(took).toBeLessThan((LEASE_SECONDS + REPOSSESS_SECONDS) * 1000 + 60_000);
    // Machine A runs k1 again: it finishes what the killed run began, and one of everything results.
    const again = a.create("k1");
    expect((await again.exit).code, again.stderr()).toBe(0);
    await expectOneOfEverything(["k1", "k2"]);
  }, 300_000);
});
