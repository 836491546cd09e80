/**
 * The ACI provisioner's steps driven directly (no CLI) against the simulator and an in-memory Prefect:
 * a failure injected at every mutating request (before it takes effect, and after it took effect with
 * the answer lost), then a re-run, converges to exactly one of everything; a failed block write deletes
 * the new secret; orphans of interrupted runs are found by the secret's hint, never a held one.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAciProvisioner } from "../../src/clouds/azure/index.js";
import { CredentialGuard } from "../../src/engine/credential.js";
import type { Provisioner, StepContext, StepResult, StepState } from "../../src/engine/types.js";
import { UsageError } from "../../src/errors.js";
import { FakePrefect } from "../helpers/fake-prefect.js";
import { type AzureSim, startAzureSim } from "../sim/azure/server.mjs";
import { inventory, ONE_OF_EVERYTHING } from "./helpers.js";

const BLOCK = "azure-container-instance-credentials";

async function runSteps(p: Provisioner, prefect: FakePrefect, o: { planOnly?: boolean } = {}) {
  const ctx: StepContext = { prefect, outputs: new Map(), note: () => {} };
  const states = new Map<string, StepState>();
  const results = new Map<string, StepResult>();
  for (const step of p.steps()) {
    const state = await step.check(ctx);
    states.set(step.id, state);
    if (o.planOnly || state.action === "exists") continue;
    results.set(step.id, await step.apply(ctx, state));
  }
  return { states, results, outputs: ctx.outputs };
}

describe("ACI provisioner recovery against the simulator", () => {
  let sim: AzureSim;
  let home: string;
  let prefect: FakePrefect;
  beforeAll(async () => {
    sim = await startAzureSim();
  });
  afterAll(async () => {
    await sim.close();
    rmSync(sim.cert.dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await reset();
    return () => rmSync(home, { recursive: true, force: true });
  });

  async function reset() {
    await sim.close({ keepCertificate: true });
    sim = await startAzureSim({ cert: sim.cert, port: sim.port });
    home = mkdtempSync(join(tmpdir(), "wp-aci-"));
    prefect = new FakePrefect();
    prefect.register(BLOCK, "Azure Container Instance Credentials");
  }

  const provisioner = (pool = "p") =>
    createAciProvisioner({
      poolName: pool,
      prefect,
      env: { ...sim.env, HOME: home, DOCKER_CONFIG: join(home, "docker"), DOCKER_HOST: `unix://${home}/none.sock` },
      guard: new CredentialGuard({ home: join(home, "wp") }),
      retry: { baseMs: 5 },
    });

  it("refuses in the preflight and the plan when the app has two secrets and the block is missing", async () => {
    await runSteps(provisioner("a"), prefect);
    sim.state.applications[0]!.secrets.push({ ...sim.state.applications[0]!.secrets[0]!, keyId: "k2", hint: "zzz" });
    sim.clearLog();
    const p = provisioner("b");
    const err = await p.targets().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toContain("already has 2 client secrets");
    await expect(runSteps(p, prefect, { planOnly: true })).rejects.toBeInstanceOf(UsageError);
    expect(sim.mutations()).toEqual([]);
  });

  it("deletes the new secret when the block cannot be written; the next run makes exactly one", async () => {
    prefect.failNextBlockWrite = new Error("Prefect said no");
    await expect(runSteps(provisioner(), prefect)).rejects.toThrow("Prefect said no");
    expect(inventory(sim).secrets).toBe(0);
    expect(sim.state.log.some((e) => e.path.endsWith("/removePassword") && e.status === 204)).toBe(true);
    expect(prefect.documents).toHaveLength(0);
    const run = await runSteps(provisioner(), prefect);
    expect(run.results.get("prefect.aci-credentials")?.action).toBe("create");
    expect(inventory(sim).secrets).toBe(1);
  });

  it("a secret whose hint matches a block's secret is held; another pool's secret is never taken for an orphan", async () => {
    await runSteps(provisioner("a"), prefect);
    const app = sim.state.applications[0]!;
    // Only the infrastructure is left: pool a's secret and block are gone.
    app.secrets.length = 0;
    prefect.documents.length = 0;
    // A journal entry of a run killed before it recorded an id, and a secret made since by another pool.
    mkdirSync(join(home, "wp", "pending"), { recursive: true });
    writeFileSync(
      join(home, "wp", "pending", "x.json"),
      JSON.stringify({
        scope: `azure:${sim.state.tenantId}:app/${app.appId}`,
        started: new Date(Date.now() - 1000).toISOString(),
        pid: 2 ** 22 + 7,
        host: hostname(),
      }),
    );
    // An orphan without a block was added after the entry began.
    app.secrets.push({
      keyId: "aaaaaaaa-0000-4000-8000-000000000001",
      displayName: "wp: Prefect work pool b",
      hint: "QQQ",
      startDateTime: new Date().toISOString(),
      endDateTime: new Date(Date.now() + 1e9).toISOString(),
      secretText: "QQQ-orphan-secret-text",
    });
    // Another pool's run (elsewhere) made a secret after the entry began too, and its block holds it.
    app.secrets.push({
      keyId: "cccccccc-0000-4000-8000-000000000003",
      displayName: "wp: Prefect work pool c",
      hint: "CCC",
      startDateTime: new Date().toISOString(),
      endDateTime: new Date(Date.now() + 1e9).toISOString(),
      secretText: "CCC-held-by-pool-c",
    });
    const kind = { type: prefect.blockTypes.get(BLOCK)!, schema: prefect.schemas[0]! };
    await prefect.createBlockDocument({
      name: "c-push-pool-credentials",
      data: { client_id: app.appId, tenant_id: sim.state.tenantId, client_secret: "CCC-held-by-pool-c" },
      block_type_id: kind.type.id,
      block_schema_id: kind.schema.id,
      is_anonymous: false,
    });
    const p = provisioner("b");
    const plan = await runSteps(p, prefect, { planOnly: true });
    expect(plan.states.get("prefect.aci-credentials")?.detail).toContain(
      "delete client secret aaaaaaaa-0000-4000-8000-000000000001 left by an interrupted run",
    );
    await runSteps(p, prefect);
    const keys = app.secrets.map((s) => s.keyId);
    expect(keys).not.toContain("aaaaaaaa-0000-4000-8000-000000000001");
    expect(keys).toContain("cccccccc-0000-4000-8000-000000000003");
    // Pool c's and pool b's new one, which b's block holds.
    expect(keys).toHaveLength(2);
    const blockB = prefect.documents.find((d) => d.name === "b-push-pool-credentials");
    expect(app.secrets.map((s) => s.secretText)).toContain((blockB!.data as { client_secret: string }).client_secret);
    // The journal is settled.
    expect(readdirSync(join(home, "wp", "pending"))).toEqual([]);
  });

  it("a failure at any mutating request (before or after it took effect), then a re-run, converges to exactly one of everything", async () => {
    // The mutating requests of a clean run, in order.
    await runSteps(provisioner(), prefect);
    const kinds = sim.mutations().map((m) => `${m.method} ${m.path.replace(/[0-9a-f-]{36}|prefect\d{10}\w{4}/g, "*")}`);
    expect(kinds.length).toBeGreaterThanOrEqual(8);
    for (const mode of ["before", "after"] as const) {
      for (let k = 0; k < kinds.length; k++) {
        await reset();
        let seen = 0;
        const label = `failure ${mode} mutation ${k} (${kinds[k]})`;
        sim.faults.fail = (r) => {
          const mutating =
            r.method === "PUT" || (r.method === "POST" && !/token|checkNameAvailability|exchange/i.test(r.path));
          if (!mutating || seen++ !== k) return undefined;
          return { status: 400, code: "InjectedFailure", message: label };
        };
        if (mode === "after") {
          // The request takes effect; only its answer is replaced by the error.
          const fail = sim.faults.fail;
          sim.faults.fail = undefined;
          sim.faults.failAfter = fail;
        }
        const failed = await runSteps(provisioner(), prefect).then(
          () => "completed",
          (e: unknown) => String(e),
        );
        expect(failed, label).toMatch(/InjectedFailure|failure (before|after) mutation/);
        sim.faults.fail = undefined;
        sim.faults.failAfter = undefined;
        await runSteps(provisioner(), prefect);
        const again = await runSteps(provisioner(), prefect, { planOnly: true });
        const pending = [...again.states.entries()].filter(([, s]) => s.action !== "exists");
        expect(pending, label).toEqual([]);
        const inv = inventory(sim);
        expect(inv, label).toMatchObject(ONE_OF_EVERYTHING);
        expect(inv.registries, label).toHaveLength(1);
        expect(inv.roleAssignments, label).toHaveLength(2);
        expect(prefect.documents, label).toHaveLength(1);
        const secret = (prefect.documents[0]!.data as { client_secret: string }).client_secret;
        expect(
          sim.state.applications[0]?.secrets.map((s) => s.secretText),
          label,
        ).toEqual([secret]);
      }
    }
  }, 240_000);
});
