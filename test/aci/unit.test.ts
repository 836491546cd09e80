/** Pure parts of the ACI provisioner: name rules, locations, role-assignment names, ARM wildcards, the subscription choice, the template. */
import { describe, expect, it } from "vitest";
import { allows } from "../../src/clouds/azure/arm.js";
import { assignmentName } from "../../src/clouds/azure/context.js";
import { aciJobTemplate, pickSubscription } from "../../src/clouds/azure/index.js";
import { AZURE_NAME_RULES, checkLocation } from "../../src/clouds/azure/provider.js";
import { tokenClaims } from "../../src/clouds/azure/sdk.js";
import { registryName } from "../../src/clouds/azure/steps.js";
import { checkName } from "../../src/engine/provider.js";
import { UsageError } from "../../src/errors.js";
import { bundledWorkerMetadata, defaultTemplateFor, flattenWorkerTypes } from "../../src/prefect/worker-types.js";

const ok = (rule: keyof typeof AZURE_NAME_RULES, v: string) => () => checkName("x", "--x", v, AZURE_NAME_RULES[rule]);

describe("Azure name rules", () => {
  it("accept Azure's valid names and refuse the others with the rule", () => {
    expect(ok("resourceGroup", "prefect-aci-push-pool-rg")).not.toThrow();
    expect(ok("resourceGroup", "a(b)_c.d-e")).not.toThrow();
    expect(ok("resourceGroup", "x".repeat(90))).not.toThrow();
    expect(ok("resourceGroup", "x".repeat(91))).toThrow(/1–90 characters/);
    expect(ok("resourceGroup", "ends.")).toThrow(/must not end with a period/);
    expect(ok("resourceGroup", "no spaces")).toThrow(UsageError);
    expect(ok("registry", "prefect1712345678ab3x")).not.toThrow();
    expect(ok("registry", "abcd")).toThrow(/5–50/);
    expect(ok("registry", "with-dash")).toThrow(/letters and digits/);
    expect(ok("registryPrefix", "p".repeat(36))).not.toThrow();
    expect(ok("registryPrefix", "p".repeat(37))).toThrow(/1–36/);
    expect(ok("identity", "prefect-acr-identity")).not.toThrow();
    expect(ok("identity", "ab")).toThrow(/3–128/);
    expect(ok("identity", "_x1")).toThrow(/starting with a letter or digit/);
    expect(ok("appDisplayName", "prefect-aci-push-pool-app")).not.toThrow();
    expect(ok("appDisplayName", " padded")).toThrow(/space/);
  });

  it("a generated registry name is the prefix, unix seconds and 4 random characters, valid for Azure", () => {
    const name = registryName("prefect", 1_712_345_678_000);
    expect(name).toMatch(/^prefect1712345678[a-z0-9]{4}$/);
    expect(ok("registry", registryName("p".repeat(36)))).not.toThrow();
  });

  it("locations are checked against Azure's regions, any case or spacing", () => {
    expect(checkLocation("East US")).toBe("eastus");
    expect(checkLocation("westeurope")).toBe("westeurope");
    expect(() => checkLocation("mars")).toThrow(/not a known Azure region/);
  });
});

describe("role assignments and permissions", () => {
  it("assignment names are GUIDs derived from scope (any case), role and principal", () => {
    const a = assignmentName("/subscriptions/s/resourceGroups/RG", "role", "p");
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(assignmentName("/subscriptions/s/resourcegroups/rg", "role", "p")).toBe(a);
    expect(assignmentName("/subscriptions/s/resourceGroups/RG", "role", "q")).not.toBe(a);
  });

  it("ARM wildcards: Contributor may not write role assignments, Owner and User Access Administrator may", () => {
    const contributor = {
      actions: ["*"],
      notActions: [
        "Microsoft.Authorization/*/Delete",
        "Microsoft.Authorization/*/Write",
        "Microsoft.Authorization/elevateAccess/Action",
      ],
    };
    const write = "Microsoft.Authorization/roleAssignments/write";
    expect(allows([contributor], write)).toBe(false);
    expect(allows([contributor], "Microsoft.Resources/subscriptions/resourceGroups/write")).toBe(true);
    expect(allows([contributor, { actions: ["Microsoft.Authorization/*"], notActions: [] }], write)).toBe(true);
    expect(allows([{ actions: ["*/read"], notActions: [] }], write)).toBe(false);
    expect(allows([], write)).toBe(false);
  });

  it("token claims are read from a JWT; anything else gives none", () => {
    const jwt = `e30.${Buffer.from(JSON.stringify({ oid: "o", roles: ["r"] })).toString("base64url")}.sig`;
    expect(tokenClaims(jwt)).toEqual({ oid: "o", roles: ["r"] });
    expect(tokenClaims("opaque-token")).toEqual({});
  });
});

describe("choosing the subscription", () => {
  const subs = [
    { id: "11111111-0000-0000-0000-000000000000", name: "Dev", tenantId: "t", state: "Enabled" },
    { id: "22222222-0000-0000-0000-000000000000", name: "Prod", tenantId: "t", state: "Enabled" },
    { id: "33333333-0000-0000-0000-000000000000", name: "Old", tenantId: "t", state: "Disabled" },
  ];
  it("by id or name (any case); several without a terminal is exit 2 listing the usable ones", async () => {
    expect((await pickSubscription(subs, "prod", { interactive: false })).id).toBe(subs[1]!.id);
    expect((await pickSubscription(subs, subs[0]!.id.toUpperCase(), { interactive: false })).name).toBe("Dev");
    const err = await pickSubscription(subs, undefined, { interactive: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).hint).toContain("Dev (11111111-0000-0000-0000-000000000000)");
    expect((err as UsageError).hint).not.toContain("Old");
    expect((await pickSubscription(subs.slice(1), undefined, { interactive: false })).name).toBe("Prod");
    await expect(pickSubscription([], undefined, { interactive: false })).rejects.toThrow(
      /No Azure subscriptions found/,
    );
  });
});

describe("the job template", () => {
  it("gets the five values for both ACI types, and refuses when an output is missing", () => {
    const types = flattenWorkerTypes(bundledWorkerMetadata());
    const outputs = new Map<string, unknown>([
      ["blockDocumentId", "b1"],
      ["subscriptionId", "s1"],
      ["resourceGroupName", "rg"],
      ["loginServer", "r.azurecr.io"],
      [
        "identityId",
        "/subscriptions/s1/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i",
      ],
    ]);
    for (const type of ["azure-container-instance:push", "azure-container-instance"]) {
      const base = defaultTemplateFor(types, type);
      expect(base, type).not.toBeNull();
      const t = aciJobTemplate(base ?? {}, outputs) as {
        variables: { properties: Record<string, { default?: unknown }> };
      };
      const p = t.variables.properties;
      expect(p.aci_credentials?.default).toEqual({ $ref: { block_document_id: "b1" } });
      expect(p.resource_group_name?.default).toBe("rg");
      expect(p.subscription_id?.default).toBe("s1");
      expect(p.image_registry?.default).toEqual({ registry_url: "r.azurecr.io", identity: outputs.get("identityId") });
      expect(p.identities?.default).toEqual([outputs.get("identityId")]);
    }
    outputs.delete("identityId");
    expect(() => aciJobTemplate({}, outputs)).toThrow(/identityId/);
  });
});
