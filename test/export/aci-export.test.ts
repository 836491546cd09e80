/**
 * Issue 17 point 2 on Azure Container Instances, against the Azure simulator: two pools sharing the
 * resource group, app registration, registry and identity export as Terraform that parses, matches
 * the azurerm/azuread/prefect schemas, imports exactly what the records name (shared resources
 * once, ARM ids with the `resourceGroups` segment azurerm parses, the app by its object id looked up
 * from its client id) and holds no client secret.
 */
import { describe, expect, it } from "vitest";
import { SUB, useAzure } from "../aci/helpers.js";
import {
  blockSecrets,
  body,
  checkAgainstRecords,
  checkImports,
  checkNoSecrets,
  checkSchemas,
  exportPools,
  recordsOf,
} from "./helpers.js";

const TYPE = "azure-container-instance:push";

describe("wp export terraform: ACI", () => {
  const { ctx, wp } = useAzure();

  it("two pools: parses, matches the schemas, imports what the records name once, no secret", async () => {
    for (const pool of ["a1", "a2"]) {
      const r = await wp(["create", pool, "--type", TYPE, "--provision-infra", "--yes", "--subscription", SUB]);
      expect(r.code, r.stderr).toBe(0);
    }
    const x = await exportPools(ctx.env, ["a1", "a2"]);
    try {
      // First: no file holds a secret the clouds minted.
      const secrets = [];
      for (const p of ["a1", "a2"]) {
        const data = await blockSecrets(ctx.env, "azure-container-instance-credentials", `${p}-push-pool-credentials`);
        secrets.push(String(data.client_secret));
      }
      checkNoSecrets(x.files, secrets);
      checkSchemas(x.hcl);
      const blocks = checkImports(x.hcl, x.json);
      const records = await recordsOf(ctx.env, ["a1", "a2"]);
      checkAgainstRecords(x.json, records);

      const count = (type: string) => blocks.filter((b) => b.to.startsWith(`${type}.`)).length;
      expect(count("azurerm_resource_group")).toBe(1);
      expect(count("azuread_application")).toBe(1);
      expect(count("azuread_service_principal")).toBe(1);
      // Each pool gets a registry of its own (a suffix per pool); the identity pulls from both.
      expect(count("azurerm_container_registry")).toBe(2);
      expect(count("azurerm_user_assigned_identity")).toBe(1);
      expect(count("azurerm_role_assignment")).toBe(3);
      expect(count("prefect_block")).toBe(2);
      expect(count("prefect_work_pool")).toBe(2);

      // Every ARM id as azurerm parses it; the record's own ids otherwise unchanged.
      for (const b of blocks.filter((b) => b.to.startsWith("azurerm_"))) expect(b.id).not.toContain("/resourcegroups/");
      const identity = records[0]?.resources.find((r) => r.step === "azure.identity");
      expect(blocks.find((b) => b.to.startsWith("azurerm_user_assigned_identity."))?.id.toLowerCase()).toBe(
        identity?.id?.toLowerCase(),
      );
      // The app imports by its object id, found from the client id the record holds.
      const app = records[0]?.resources.find((r) => r.step === "azure.app-registration");
      const lookup = x.hcl.data as Record<string, Record<string, Array<Record<string, unknown>>>>;
      const found = Object.values(lookup.azuread_application ?? {})[0]?.[0];
      expect(found?.client_id).toBe(app?.id);
      expect(blocks.find((b) => b.to.startsWith("azuread_application."))?.id).toMatch(
        /^\/applications\/\$\{data\.azuread_application\.[a-z0-9_]+\.object_id\}$/,
      );
      // AcrPull's principal is the identity's, by reference; Contributor's the service principal's.
      const acrpull = x.json.resources.find((r) => r.step === "azure.acrpull-role")?.address ?? "";
      expect(body(x.hcl, acrpull).principal_id).toMatch(
        /^\$\{azurerm_user_assigned_identity\.[a-z0-9_]+\.principal_id\}$/,
      );
      expect(x.json.notManaged.map((n) => n.kind).sort()).toEqual([
        "Client secret",
        "Client secret",
        "Resource providers",
        "Resource providers",
      ]);
      expect(x.files.get("versions.tf")).toContain(`subscription_id = "${SUB}"`);

      expect(x.json.variables.sort()).toEqual([
        "a1_push_pool_credentials_client_secret",
        "a2_push_pool_credentials_client_secret",
      ]);
    } finally {
      x.cleanup();
    }
  });
});
