/**
 * The whole life of an ACI pool (create → status → verify → rotate → deprovision) against the Azure simulator
 * in realistic mode: new service principals, client secrets and role assignments work only after a lag, the
 * resource group's listing still shows what was just deleted, the group's delete is a long-running operation,
 * and every list pages. wp waits (saying what for) where Azure lags, and decides by GET where lists are cached.
 */
import { describe, expect, it } from "vitest";
import { SUB, useAzure } from "../aci/helpers.js";

const TYPE = "azure-container-instance:push";

describe("the life of an ACI pool against the realistic Azure simulator", () => {
  const { ctx, wp } = useAzure({ realistic: true });

  it("create, status, verify, rotate and deprovision all succeed, waiting where Azure lags", async () => {
    // Long enough that the grant is still new when verify runs after status.
    ctx.sim.faults.lags.role = 5000;
    const created = await wp(["create", "life", "--type", TYPE, "--provision-infra", "--yes", "--subscription", SUB]);
    expect(created.code, created.stderr).toBe(0);
    // The service principal of the brand-new app was refused for a while, and wp waited for it.
    expect(created.stderr).toMatch(/Waiting for the service principal of .* \(/);

    // Right after create the new secret may not sign in yet: status waits for it rather than calling it drift.
    const status = await wp(["status", "life", "-o", "json"]);
    expect(status.code, `${status.stdout}\n${status.stderr}`).toBe(0);
    expect(JSON.parse(status.stdout).healthy).toBe(true);

    // The Contributor grant is new: the block's identity is refused until RBAC has it; verify waits, then runs.
    const verify = await wp(["verify", "life"], { env: { WP_VERIFY_POLL_MS: "20" } });
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toContain("Work pool 'life' can run work.");
    expect(verify.stderr).toMatch(/Waiting for .*(role assignment|client secret)/);
    expect(verify.stderr).not.toContain("is not allowed");
    expect(ctx.sim.state.containerGroups).toEqual([]);

    // Rotation waits until the new secret works, then the old one goes.
    const before = ctx.sim.state.applications[0]?.secrets.map((s) => s.keyId) ?? [];
    const rotated = await wp(["rotate-credentials", "life", "--yes"]);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout + rotated.stderr).toMatch(/Waiting for the new client secret of \S+ to sign in/);
    const after = ctx.sim.state.applications[0]?.secrets.map((s) => s.keyId) ?? [];
    expect(after).toHaveLength(1);
    expect(before).not.toContain(after[0]);
    expect((await wp(["status", "life"])).code).toBe(0);

    // The group's listing still shows the registry and identity just deleted: wp reads each by GET and deletes the group.
    const gone = await wp(["deprovision", "life", "--yes"]);
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stderr).not.toContain("still holds");
    const s = ctx.sim.state;
    expect(s.resourceGroups).toEqual([]);
    expect(s.applications).toEqual([]);
    expect(s.registries).toEqual([]);
    expect(s.identities).toEqual([]);
    // Every list paged: some list answered a nextLink that wp followed.
    expect(s.log.some((e) => e.query.$skiptoken !== undefined)).toBe(true);
  });

  it("verify right after create waits for the new client secret to sign in", async () => {
    ctx.sim.faults.lags.secret = 4000;
    const created = await wp(["create", "v", "--type", TYPE, "--provision-infra", "--yes", "--subscription", SUB]);
    expect(created.code, created.stderr).toBe(0);
    const verify = await wp(["verify", "v"], { env: { WP_VERIFY_POLL_MS: "20" } });
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stderr).toMatch(/Waiting for the new client secret of \S+ to sign in/);
    expect(verify.stderr).not.toContain("does not sign in");
  });
});
