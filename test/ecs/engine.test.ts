/** The ECS steps under the real engine: independent chains apply concurrently, `after` order holds. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEcsProvisioner } from "../../src/clouds/aws/index.js";
import { applySteps, planSteps } from "../../src/engine/engine.js";
import type { Step, StepContext } from "../../src/engine/types.js";
import { FakePrefect } from "../helpers/fake-prefect.js";
import { isolateAwsEnv, type Moto, requireMoto, startMoto } from "../helpers/moto.js";

const hasMoto = requireMoto("test/ecs/engine.test.ts (ECS steps under the engine, against moto)");

describe.skipIf(!hasMoto)("ECS steps under the engine", () => {
  let moto: Moto;
  let restoreEnv: () => void;
  let dockerDir: string;
  beforeAll(async () => {
    restoreEnv = isolateAwsEnv();
    moto = await startMoto();
    dockerDir = mkdtempSync(join(tmpdir(), "wp-docker-"));
  }, 60_000);
  afterAll(async () => {
    await moto?.stop();
    restoreEnv?.();
    rmSync(dockerDir, { recursive: true, force: true });
  });

  it("plans, then applies with concurrency 8 respecting `after`", async () => {
    const prefect = new FakePrefect();
    prefect.register();
    const p = createEcsProvisioner({
      poolName: "pool",
      prefect,
      endpoint: moto.url,
      env: { ...process.env, DOCKER_CONFIG: dockerDir, DOCKER_HOST: `unix://${dockerDir}/none.sock` },
    });
    await p.targets();
    const spans = new Map<string, { start: number; end: number }>();
    const steps: Step[] = p.steps().map((s) => ({
      ...s,
      apply: async (ctx, state) => {
        const start = performance.now();
        try {
          return await s.apply(ctx, state);
        } finally {
          spans.set(s.id, { start, end: performance.now() });
        }
      },
    }));
    const ctx: StepContext = { prefect, outputs: new Map(), note: () => {} };
    const states = await planSteps(steps, ctx, 8);
    const outcomes = await applySteps(steps, states, ctx, 8, () => {});
    expect(outcomes.map((o) => [o.id, o.status])).toEqual(
      steps.map((s) => [s.id, s.id === "aws.vpc" ? "exists" : "created"]), // moto's default VPC is used
    );
    const span = (id: string) => spans.get(id) ?? { start: Number.NaN, end: Number.NaN };
    for (const s of steps)
      for (const dep of s.after ?? []) expect(span(s.id).start).toBeGreaterThanOrEqual(span(dep).end);
    // The cluster and the repository do not wait for the IAM chain.
    expect(span("aws.ecs-cluster").start).toBeLessThan(span("aws.execution-role").end);
    expect(span("aws.ecr-repository").start).toBeLessThan(span("aws.execution-role").end);
    expect(() =>
      p.jobTemplate(
        {
          job_configuration: {},
          variables: { properties: { aws_credentials: {}, cluster: {}, vpc_id: {}, execution_role_arn: {} } },
        },
        ctx.outputs,
      ),
    ).not.toThrow();
  });
});
