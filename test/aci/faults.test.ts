/**
 * Azure's documented failures, switched on by name in the simulator (test/sim/azure/realism.mjs), and what wp
 * makes of each: a failed container group stops `wp verify` at once with its reason; a policy denial or a tenant
 * app management policy is one plain line naming the policy and the way out; a registry create that ends Failed
 * stops the run; throttling is retried; a resource group being deleted is waited for.
 */
import { describe, expect, it } from "vitest";
import { SUB, useAzure } from "./helpers.js";

const TYPE = "azure-container-instance:push";
const create = ["create", "p", "--type", TYPE, "--provision-infra", "--yes", "--subscription", SUB];
/** wp's error: the lines after its last "Error:" (one line with its way out). */
const errorLines = (stderr: string) => stderr.slice(stderr.lastIndexOf("Error:")).trim().split("\n");

describe("Azure's failures, by name", () => {
  const { ctx, wp } = useAzure();

  it("a container group that fails to provision stops verify at once, with Azure's reason", async () => {
    const made = await wp(create);
    expect(made.code, made.stderr).toBe(0);
    ctx.sim.faults.on("containerGroupFailed");
    const started = Date.now();
    const v = await wp(["verify", "p", "-o", "json", "--timeout", "30"], { env: { WP_VERIFY_POLL_MS: "20" } });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(v.code).not.toBe(0);
    const report = JSON.parse(v.stdout);
    expect(report).toMatchObject({ ok: false, exitCode: null, lastStatus: "Failed" });
    expect(report.stoppedReason).toBe(
      "the container group failed to provision: FailedMount: Output: mount error(2): Permission denied",
    );
    expect(v.stderr).not.toContain("--timeout");
    // Deleted all the same.
    expect(ctx.sim.state.containerGroups).toEqual([]);
  });

  it("an Azure Policy denial is one line naming the policy assignment and the way out", async () => {
    ctx.sim.faults.on("policyDenied");
    const r = await wp(create);
    expect(r.code).not.toBe(0);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("Azure Policy 'Allowed resource types'");
    expect(lines[0]).toContain("policyAssignments/1111aa2222bb3333cc4444dd");
    expect(lines[0]).toMatch(/exemption/);
  });

  for (const kind of ["passwordAddition", "passwordLifetime"] as const) {
    it(`a tenant app management policy (${kind}) refusing the client secret is one line with the way out`, async () => {
      ctx.sim.faults.on(kind);
      const r = await wp(create);
      expect(r.code).not.toBe(0);
      const lines = errorLines(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain("app management policy 538f1913-366a-440a-95a0-e195cb55b282");
      expect(lines[0]).toContain(kind === "passwordAddition" ? "blocks new client secrets" : "caps");
      // Nothing was minted: no secret on the app, no block.
      expect(ctx.sim.state.applications[0]?.secrets ?? []).toEqual([]);
    });
  }

  it("a registry create that ends Failed stops the run with the reason", async () => {
    ctx.sim.faults.on("registryCreateFailed");
    const r = await wp(create);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Container registry prefect\w+: .*Failed.*InternalServerError|InternalServerError/);
    expect(ctx.sim.state.registries[0]?.properties.provisioningState).toBe("Failed");
  });

  it("throttling (429/503 with Retry-After) is retried: the whole create succeeds", async () => {
    ctx.sim.faults.on("throttle");
    const r = await wp(create);
    expect(r.code, r.stderr).toBe(0);
    expect(ctx.sim.state.log.filter((e) => e.status === 429 || e.status === 503).length).toBeGreaterThan(0);
  }, 60_000);

  it("a resource group being deleted is waited for, then created again", async () => {
    ctx.sim.faults.lags.groupDelete = 5000;
    const first = await wp(create);
    expect(first.code, first.stderr).toBe(0);
    // Another actor deletes the group (and everything in it) while wp plans.
    ctx.sim.faults.on("resourceGroupBeingDeleted");
    ctx.sim.faults.off("resourceGroupBeingDeleted");
    const again = await wp(["create", "q", "--type", TYPE, "--provision-infra", "--yes", "--subscription", SUB]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout + again.stderr).toMatch(
      /Resource group\s+prefect-aci-push-pool-rg\s+\(being deleted; wp waits/,
    );
    expect(again.stderr).toMatch(/Waiting for resource group prefect-aci-push-pool-rg to finish being deleted/);
    expect(ctx.sim.state.resourceGroups.map((g) => g.properties.provisioningState)).toEqual(["Succeeded"]);
  });
});
