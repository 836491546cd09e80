/**
 * The client secret of the app registration, stored in the Prefect block `<pool>-push-pool-credentials`
 * (client_id, tenant_id, client_secret). Minted only when the block is missing, through the engine's
 * CredentialGuard (critical section, journal of the secret's keyId, delete again on a failed block
 * write, orphan recovery), and refused before anything is created when the app already has
 * MAX_SECRETS secrets (orphans of interrupted runs do not count: they are deleted first).
 *
 * Which secrets are "held" by Prefect: a block holds the secret's text, not its keyId, and Graph keeps
 * only the text's first three characters (`hint`). So for every `azure-container-instance-credentials`
 * block whose client_id is this app's, wp reads the block with its secrets and takes the app's secrets
 * whose hint is the block secret's first three characters. A block secret wp cannot read counts as
 * holding every secret of the app. Both err on the side of keeping: a hint shared by an orphan and a
 * held secret keeps the orphan (it is reported, never deleted); a held secret is never deleted.
 */

import type { CredentialSpec } from "../../engine/credential.js";
import { credentialStep } from "../../engine/credential-step.js";
import { settled } from "../../engine/settled.js";
import type { Step, StepContext } from "../../engine/types.js";
import { CloudError, UsageError } from "../../errors.js";
import { type AciContext, BLOCK_TYPE, findApp, MAX_SECRETS, requireOutput } from "./context.js";

interface ClientSecret {
  id: string;
  secretText: string;
}

function secretSpec(e: AciContext, tenantId: string, app: { id: string; appId: string }): CredentialSpec<ClientSecret> {
  const graph = async () => (await e.azure()).graph;
  return {
    scope: `azure:${tenantId}:app/${app.appId}`,
    noun: "client secret",
    owner: `app registration ${e.names.app} (${app.appId})`,
    async mint() {
      const g = await graph();
      const displayName = `wp: Prefect work pool ${e.pool}`;
      const before = new Set((await g.getApp(app.id))?.passwordCredentials.map((p) => p.keyId) ?? []);
      try {
        const s = await g.addPassword(app.id, displayName);
        return { id: s.keyId, secretText: s.secretText };
      } catch (err) {
        // The answer may have been lost after Graph made the secret: nobody has its text, so it goes.
        const after = (await g.getApp(app.id).catch(() => null))?.passwordCredentials ?? [];
        for (const p of after) {
          if (!before.has(p.keyId) && p.displayName === displayName)
            await g.removePassword(app.id, p.keyId).catch(() => {});
        }
        throw err;
      }
    },
    async revoke(id) {
      await (await graph()).removePassword(app.id, id);
    },
    async list() {
      const current = await (await graph()).getApp(app.id);
      return (current?.passwordCredentials ?? []).map((p) => ({
        id: p.keyId,
        created: p.startDateTime ? new Date(p.startDateTime) : undefined,
      }));
    },
    async held() {
      const current = await (await graph()).getApp(app.id);
      const creds = current?.passwordCredentials ?? [];
      const docs = (await e.prefect.listBlockDocuments(BLOCK_TYPE)).filter((d) => d.data?.client_id === app.appId);
      const held = new Set<string>();
      for (const d of docs) {
        const full = d.name ? await e.prefect.readBlockDocument(BLOCK_TYPE, d.name, true) : null;
        const secret = full?.data?.client_secret;
        const hint =
          typeof secret === "string" && secret.length >= 3 && !/^\*+$/.test(secret) ? secret.slice(0, 3) : null;
        for (const c of creds) if (hint === null || c.hint === hint) held.add(c.keyId);
      }
      return held;
    },
  };
}

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

export function credentialsStep(e: AciContext): Step {
  const app = (ctx: StepContext) => ({
    id: requireOutput(ctx.outputs, "appObjectId"),
    appId: requireOutput(ctx.outputs, "appId"),
  });
  const tenant = async () => (await e.azure()).subscription.tenantId;
  /** The app's client id the plan found (for the limit's message). */
  let planned: string | null = null;
  return credentialStep({
    id: "prefect.aci-credentials",
    blockType: BLOCK_TYPE,
    block: e.names.block,
    after: ["azure.app-registration"],
    guard: e.guard,
    noun: "client secret",
    createDetail: `new client secret for app registration ${e.names.app}`,
    limit: MAX_SECRETS,
    // Only reached when the app exists (with no app, nothing counts against the limit).
    tooMany: () => tooManySecrets(e, planned ?? ""),
    use: async () => {
      const [found, tenantId] = await settled([findApp(e), tenant()]);
      planned = found?.appId ?? null;
      return found ? secretUse(e, tenantId, found) : { usable: 0, orphans: [] };
    },
    spec: async (ctx) => secretSpec(e, await tenant(), app(ctx)),
    // Checked again under the lock: a secret added since the plan must not make a third.
    async beforeMint(ctx) {
      const current = await (await e.azure()).graph.getApp(app(ctx).id);
      if ((current?.passwordCredentials.length ?? 0) >= MAX_SECRETS) throw tooManySecrets(e, app(ctx).appId);
    },
    blockData: async (secret, ctx) => {
      if (!secret.secretText) throw new CloudError("Microsoft Graph returned no secret text.", "NoSecretText");
      return { client_id: app(ctx).appId, tenant_id: await tenant(), client_secret: secret.secretText };
    },
  });
}
