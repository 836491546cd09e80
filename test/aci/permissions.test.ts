/**
 * `wp create … --type azure-container-instance:push --print-permissions`: one JSON document with the directory
 * role / Graph permission and a custom Azure role whose actions are exactly what wp calls. Checked against what
 * wp does: every ARM call of a whole create → status → rotate → deprovision against the simulator is one of the
 * role's actions.
 */
import { describe, expect, it } from "vitest";
import { allows } from "../../src/clouds/azure/arm.js";
import { SUB, useAzure } from "./helpers.js";

const TYPE = "azure-container-instance:push";
const CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const ACRPULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d";

/** The ARM action a request of wp's needs (undefined: none of the role's business, e.g. Graph or polling). */
function actionOf(method: string, path: string): string | undefined {
  const p = path.toLowerCase();
  const verb = method === "GET" ? "read" : method === "DELETE" ? "delete" : "write";
  if (!p.startsWith("/subscriptions/")) return undefined;
  let m = /^\/subscriptions\/[^/]+\/providers\/([^/]+)(\/register)?$/.exec(p);
  if (m) return m[2] ? `${m[1]}/register/action` : "Microsoft.Resources/subscriptions/providers/read";
  if (/\/providers\/microsoft\.containerregistry\/checknameavailability$/.test(p))
    return "Microsoft.ContainerRegistry/checkNameAvailability/read";
  m = /\/providers\/microsoft\.authorization\/(roleassignments|roledefinitions|permissions)/.exec(p);
  if (m) return `Microsoft.Authorization/${m[1]}/${verb}`;
  if (/^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/resources$/.test(p))
    return "Microsoft.Resources/subscriptions/resourceGroups/resources/read";
  m = /\/providers\/(microsoft\.[a-z]+)\/([a-z]+)(\/[^/]+)?$/.exec(p);
  if (m) return `${m[1]}/${m[2]}/${verb}`;
  if (/^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+$/.test(p))
    return `Microsoft.Resources/subscriptions/resourceGroups/${verb}`;
  if (/^\/subscriptions\/[^/]+$/.test(p)) return undefined;
  throw new Error(`no action known for ${method} ${path}`);
}

describe("--print-permissions for ACI", () => {
  const { ctx, wp } = useAzure();

  it("prints the directory grant and a custom role scoped to the subscription, writing nothing", async () => {
    const r = await wp([
      "create",
      "p",
      "--type",
      TYPE,
      "--print-permissions",
      "--subscription",
      SUB,
      "--resource-group",
      "rg-p",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(ctx.sim.mutations()).toEqual([]);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ cloud: "azure", format: "azure-role-assignments" });
    const d = doc.document;
    expect(d).toMatchObject({ subscription: SUB, resourceGroup: "rg-p" });
    expect(d.directory.forUsers.role).toBe("Application Developer");
    expect(d.directory.forServicePrincipals.graphApplicationPermission).toBe("Application.ReadWrite.OwnedBy");
    expect(d.customRole.AssignableScopes).toEqual([`/subscriptions/${SUB}`]);
    expect(d.customRole.Actions).not.toContain("*");
    expect(d.roleAssignments[0].scope).toBe(`/subscriptions/${SUB}`);
    expect(d.roleAssignments[0].condition).toContain(CONTRIBUTOR);
    expect(d.roleAssignments[0].condition).toContain(ACRPULL);
    expect(d.grantsMade.map((g: { scope: string }) => g.scope)[0]).toBe(`/subscriptions/${SUB}/resourceGroups/rg-p`);
  });

  it("the subscription named by display name is resolved to its id", async () => {
    const r = await wp(["create", "p", "--type", TYPE, "--print-permissions", "--subscription", "Sim Subscription"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).document.subscription).toBe(SUB);
  });

  it("covers every ARM action a whole life of a pool makes with the caller's identity", async () => {
    const printed = await wp(["create", "p", "--type", TYPE, "--print-permissions", "--subscription", SUB]);
    const actions: string[] = JSON.parse(printed.stdout).document.customRole.Actions;
    ctx.sim.clearLog();
    for (const argv of [
      ["create", "p", "--type", TYPE, "--provision-infra", "--yes", "--subscription", SUB],
      ["status", "p"],
      ["rotate-credentials", "p", "--yes"],
      ["deprovision", "p", "--yes"],
    ]) {
      const r = await wp(argv);
      expect(r.code, `${argv.join(" ")}: ${r.stderr}`).toBe(0);
    }
    const used = new Set(
      ctx.sim.state.log.map((e) => actionOf(e.method, e.path)).filter((a): a is string => a !== undefined),
    );
    expect(used.size).toBeGreaterThan(10);
    const missing = [...used].filter((a) => !allows([{ actions, notActions: [] }], a));
    expect(missing).toEqual([]);
  });
});
