/**
 * The credentials block `<pool>-push-pool-credentials` (client_id, tenant_id, client_secret) with the
 * app registration's client secret it holds, as one resource. Read: the block exists, its client_id is
 * the app's, its secret is on the app (by hint), signs in as the app and does not expire within 30
 * days; anything else is drift that `apply` repairs by minting a new secret into the block (secret.ts).
 * A missing block is minted through the CredentialGuard, refused before anything is created when the
 * app already has MAX_SECRETS secrets (orphans of interrupted runs do not count: they go first).
 * Delete: the block's secret (unless another block holds one with its hint), then the block.
 */
import { orphansNote } from "../../engine/credential.js";
import { ignoreNotFound } from "../../engine/lifecycle-types.js";
import type { Resource } from "../../engine/resource.js";
import { settled } from "../../engine/settled.js";
import type { StepContext, StepState } from "../../engine/types.js";
import { CloudError, UsageError } from "../../errors.js";
import { blockKind, createBlock } from "../../prefect/blocks.js";
import { type AciContext, BLOCK_TYPE, findApp, MAX_SECRETS, requireOutput } from "./context.js";
import type { GraphApp } from "./graph.js";
import {
  blockHealth,
  checkRoom,
  hintOf,
  hintsHeldElsewhere,
  leftoverSecrets,
  reMint,
  secretSpec,
  secretsOfBlock,
} from "./secret.js";

function tooManySecrets(e: AciContext, appId: string): UsageError {
  return new UsageError(
    `App registration ${e.names.app} (${appId}) already has ${MAX_SECRETS} client secrets, and the Prefect block ` +
      `${e.names.block} that would hold a new one does not exist.`,
    `Delete an unused secret (az ad app credential delete --id ${appId} --key-id …, or in the portal under ` +
      "Certificates & secrets), or pass --app-name to use another app registration, then run again.",
  );
}

async function secretUse(e: AciContext, tenantId: string, app: { id: string; appId: string }) {
  const spec = secretSpec(e, tenantId, app);
  const [creds, orphans] = await settled([spec.list(), e.guard.orphans(spec)]);
  return { usable: creds.length - orphans.length, orphans: orphans.map((o) => o.id) };
}

/** Read-only preflight: refuses when a secret is needed but the app already has the maximum. */
export async function checkSecretQuota(e: AciContext): Promise<void> {
  if (await e.prefect.readBlockDocument(BLOCK_TYPE, e.names.block)) return;
  const app = await findApp(e);
  if (!app) return;
  const tenant = (await e.azure()).subscription.tenantId;
  if ((await secretUse(e, tenant, app)).usable >= MAX_SECRETS) throw tooManySecrets(e, app.appId);
}

const tenantOf = async (e: AciContext) => (await e.azure()).subscription.tenantId;

/** The read: a missing block, a block that needs a new secret, orphans to delete, or a healthy block. */
async function checkBlock(e: AciContext, ctx: StepContext): Promise<StepState> {
  const [doc, app, tenantId] = await settled([
    ctx.prefect.readBlockDocument(BLOCK_TYPE, e.names.block, true),
    findApp(e),
    tenantOf(e),
  ]);
  const use = app && e.mode === "provision" ? await secretUse(e, tenantId, app) : { usable: 0, orphans: [] };
  const extra = use.orphans.length ? `; ${orphansNote("client secret", use.orphans)}` : "";
  if (!doc) {
    if (app && use.usable >= MAX_SECRETS && e.mode === "provision") throw tooManySecrets(e, app.appId);
    return { action: "create", detail: `new client secret for app registration ${e.names.app}${extra}` };
  }
  ctx.outputs.set("blockDocumentId", doc.id);
  const health = await blockHealth(e, (doc.data ?? {}) as Record<string, unknown>, app);
  if (health.problem) {
    // A new secret must fit beside the app's others: refused before anything is written.
    if (app && e.mode === "provision") checkRoom(app, health.old);
    return {
      action: "update",
      id: doc.id,
      detail: `${health.problem}: a new client secret${extra}`,
      ...(health.repair ? { repair: health.repair } : {}),
    };
  }
  if (use.orphans.length) return { action: "update", id: doc.id, detail: orphansNote("client secret", use.orphans) };
  const left = app ? await leftoverSecrets(e, app) : [];
  if (left.length)
    return {
      action: "update",
      id: doc.id,
      detail:
        `client secret${left.length === 1 ? "" : "s"} ${left.map((c) => c.keyId).join(", ")} of this pool ` +
        "held by no block (left by an interrupted rotation): delete",
      repair: "rotate-credentials",
    };
  return { action: "exists", id: doc.id, ...(health.ok ? { detail: health.ok } : {}) };
}

/** The app as it is now (apply's read: never cached). */
async function currentApp(e: AciContext, ctx: StepContext): Promise<GraphApp> {
  const id = requireOutput(ctx.outputs, "appObjectId");
  const app = await (await e.azure()).graph.getApp(id);
  // A new app Graph has not replicated yet: it has no secrets.
  return app ?? { id, appId: requireOutput(ctx.outputs, "appId"), displayName: e.names.app, passwordCredentials: [] };
}

export function credentialsStep(e: AciContext): Resource {
  return {
    id: "prefect.aci-credentials",
    resource: "Credentials block",
    name: e.names.block,
    target: "prefect",
    after: ["azure.app-registration"],
    templateVariable: "aci_credentials",
    check: (ctx) => checkBlock(e, ctx),
    async apply(ctx) {
      const tenantId = await tenantOf(e);
      const app = await currentApp(e, ctx);
      const [recovered, existing, kind] = await settled([
        e.guard.recover(secretSpec(e, tenantId, app), ctx.note),
        ctx.prefect.readBlockDocument(BLOCK_TYPE, e.names.block, true),
        // Resolved before the mint: a missing block type must not leave a credential behind.
        blockKind(ctx.prefect, BLOCK_TYPE),
      ]);
      if (existing) {
        ctx.outputs.set("blockDocumentId", existing.id);
        const data = (existing.data ?? {}) as Record<string, unknown>;
        if (!(await blockHealth(e, data, app)).problem) {
          // Secrets of this pool no block holds (an interrupted rotation's) go.
          const left = await leftoverSecrets(e, app);
          for (const c of left) await (await e.azure()).graph.removePassword(app.id, c.keyId);
          return { action: recovered > 0 || left.length ? "update" : "exists", id: existing.id };
        }
        await reMint(e, { blockId: existing.id, data, app, tenantId, note: ctx.note });
        return { action: "update", id: existing.id };
      }
      // Checked again under the lock (after the orphans went): a secret added since the plan must not make a third.
      if ((await currentApp(e, ctx)).passwordCredentials.length >= MAX_SECRETS) throw tooManySecrets(e, app.appId);
      const doc = await e.guard.mintInto(
        secretSpec(e, tenantId, app),
        async (secret) => {
          if (!secret.secretText) throw new CloudError("Microsoft Graph returned no secret text.", "NoSecretText");
          const data = { client_id: app.appId, tenant_id: tenantId, client_secret: secret.secretText };
          return createBlock(ctx.prefect, kind, e.names.block, data);
        },
        ctx.note,
      );
      ctx.outputs.set("blockDocumentId", doc.id);
      return { action: "create", id: doc.id };
    },
    async delete(ctx, state) {
      if (!state.id) return;
      const doc = await ctx.prefect.readBlockDocumentById(state.id, true);
      const data = (doc?.data ?? {}) as Record<string, unknown>;
      const app = await findApp(e);
      if (app && data.client_id === app.appId) {
        const held = await hintsHeldElsewhere(ctx.prefect, app.appId, e.names.block);
        const hint = hintOf(data.client_secret);
        if (held && hint && !held.has(hint)) {
          const { graph } = await e.azure();
          for (const c of secretsOfBlock(app.passwordCredentials, data.client_secret))
            await graph.removePassword(app.id, c.keyId);
        }
      }
      await ctx.prefect.deleteBlockDocument(state.id).catch(ignoreNotFound);
    },
  };
}
