/**
 * Issue 15 point 4: a user may register apps through a directory role held via a group (a transitive role
 * assignment). The preflight reads the user's transitive memberships, so such a user is not refused; one
 * without the role, in a tenant where users may not register apps, still is (before any write).
 */
import { describe, expect, it } from "vitest";
import { SUB, useAzure } from "./helpers.js";

const TYPE = "azure-container-instance:push";
const APPLICATION_ADMINISTRATOR = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
const argv = ["create", "p", "--type", TYPE, "--provision-infra", "--dry-run", "--subscription", SUB];

describe("the Azure preflight and directory roles held through a group", () => {
  describe("with Application Administrator through a group", () => {
    const { ctx, wp } = useAzure({
      delegatedUser: true,
      allowedToCreateApps: false,
      directoryRolesViaGroup: [APPLICATION_ADMINISTRATOR],
    });
    it("is not refused", async () => {
      const r = await wp(argv);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("App registration");
      expect(ctx.sim.state.log.some((e) => /transitiveMemberOf$/i.test(e.path))).toBe(true);
    });
  });

  describe("without it", () => {
    const { ctx, wp } = useAzure({ delegatedUser: true, allowedToCreateApps: false });
    it("is refused before any write, naming the roles", async () => {
      const r = await wp(argv);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("users may not register apps in this tenant");
      expect(ctx.sim.mutations()).toEqual([]);
    });
  });
});
