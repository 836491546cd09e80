/**
 * The ACI pool's life after provisioning. Status and teardown are the engine's walk over the
 * resources (steps.ts, registry.ts, credentials.ts); what is left here: the report's target, the
 * locks, what cannot be known without a record, client-secret rotation (the credentials block's own
 * re-mint, secret.ts) and the removal of a container group an interrupted `wp verify` left.
 */
import type { Lifecycle, LifecycleInput, RotateResult } from "../../engine/lifecycle-types.js";
import type { Leftover } from "../../engine/verify-journal.js";
import { WpError } from "../../errors.js";
import { wpCommand } from "../../ui/io.js";
import { BLOCK_TYPE, findApp, MANAGER, TAG_MANAGER, TAG_POOL } from "./context.js";
import type { AciProvisioner } from "./index.js";
import { reMint, secretSpec } from "./secret.js";
import { deleteContainerGroup } from "./verify.js";

export function aciLifecycle(input: LifecycleInput): Lifecycle {
  const { pool, record } = input;
  const e = (input.provisioner as AciProvisioner).aci;
  const fix = wpCommand("provision-infra", pool.name);
  return {
    blockType: BLOCK_TYPE,
    async target() {
      const { subscription } = await e.azure();
      return `Azure subscription ${subscription.name} (${subscription.id}), resource group ${e.names.resourceGroup}`;
    },
    async lockScopes() {
      const { subscription } = await e.azure();
      return [`Azure subscription ${subscription.id}`, `Entra ID tenant ${subscription.tenantId}`];
    },
    unknowns() {
      if (record) return [];
      return [
        "No provisioning record: the resource group, registry and identity count as wp's for this pool only when " +
          `tagged ${TAG_POOL}=${pool.name} and ${TAG_MANAGER}=${MANAGER}; the app registration, its service principal ` +
          "and the role assignments carry no such tags and count as adopted (never deleted).",
      ];
    },
    async rotate(): Promise<RotateResult> {
      const block = input.block;
      if (!block) throw new WpError(`Work pool '${pool.name}' references no ACI credentials block.`, `Run \`${fix}\`.`);
      const full = await input.api.readBlockDocumentById(block.id, true);
      const data = { ...((full?.data ?? {}) as Record<string, unknown>) };
      const app = await findApp(e);
      if (!app)
        throw new WpError(
          `The app registration of work pool '${pool.name}' (${e.names.app}) does not exist.`,
          `Run \`${fix}\` first.`,
        );
      const tenantId =
        (typeof data.tenant_id === "string" && data.tenant_id) || (await e.azure()).subscription.tenantId;
      const { newId, removed } = await reMint(e, { blockId: block.id, data, app, tenantId, note: input.note });
      return {
        block: block.name ?? block.id,
        newId,
        ...(removed.length ? { oldId: removed.join(", ") } : {}),
        checked: `an Entra ID token was issued for ${app.appId} with the new secret`,
      };
    },
    async finishCredentials() {
      if (!e.guard.pending("azure:")) return;
      const app = await findApp(e);
      if (!app) return;
      const data = (input.block?.data ?? {}) as Record<string, unknown>;
      const tenantId =
        (typeof data.tenant_id === "string" && data.tenant_id) || (await e.azure()).subscription.tenantId;
      await e.guard.recover(secretSpec(e, tenantId, app), input.note);
    },
    removeLeftover: (leftover: Leftover) => deleteContainerGroup(e, leftover),
  };
}
