/**
 * Issue 15.13: a run plans, then takes the lock; what another run (on this machine or another, which no wait here
 * shows) did in between must not be missed. Holding the lock, a run always reads everything again. Here the other
 * run is a deprovision that deleted the shared ECS cluster while this run's plan waited for its confirmation.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { resolveAws } from "../../src/clouds/aws/sdk.js";
import type { Prompter } from "../../src/ui/prompts.js";
import { awsWpEnv, removeDefaultVpc, requireMoto, useMoto } from "../helpers/moto.js";
import { runCli } from "../helpers/run-cli.js";

const hasMoto = requireMoto("test/lock/replan.test.ts (a run plans again once it holds the lock)");

describe.skipIf(!hasMoto)("a run plans again once it holds the lock", () => {
  const sim = useMoto();
  let env: Record<string, string>;

  beforeEach(async () => {
    await removeDefaultVpc(sim.moto.url);
    const t = awsWpEnv(sim.moto.url);
    env = t.env;
    return t.cleanup;
  });

  const clusters = async () => {
    const ecs = await (await resolveAws({ env: process.env, endpoint: sim.moto.url })).ecs();
    return (await ecs.describeClusters(["prefect-ecs-cluster"])).filter((c) => c.status === "ACTIVE");
  };

  it("a shared cluster deleted between the plan and the lock is made again, and the run says why", async () => {
    const first = await runCli(["create", "p1", "--type", "ecs:push", "--provision-infra", "--yes"], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(await clusters()).toHaveLength(1);
    // The plan for p2 finds the shared cluster; before the user confirms, another run deletes it.
    const prompter: Prompter = {
      async confirm(message) {
        if (!message.startsWith("Proceed with infrastructure provisioning")) return false;
        const ecs = await (await resolveAws({ env: process.env, endpoint: sim.moto.url })).ecs();
        await ecs.deleteCluster("prefect-ecs-cluster");
        return true;
      },
      select: () => Promise.reject(new Error("unexpected select")),
      text: () => Promise.reject(new Error("unexpected text")),
      secret: () => Promise.reject(new Error("unexpected secret")),
    };
    const second = await runCli(["create", "p2", "--type", "ecs:push", "--provision-infra"], {
      env,
      tty: true,
      prompter,
    });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain("Another run changed what this plan counts on; checked again, it now has to also:");
    expect(second.stderr).toContain("create ECS cluster prefect-ecs-cluster");
    expect(await clusters()).toHaveLength(1);
  });
});
