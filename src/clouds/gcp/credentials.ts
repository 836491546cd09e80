/**
 * The credentials block `<pool>-push-pool-credentials` (slug gcp-credentials: `service_account_info`
 * = a JSON key of the service account, `project`), as one resource. Its read is the key's health
 * (key.ts): the key exists on the service account, is enabled, and yields an access token — so
 * `wp status` and provisioning read the same thing. Its apply mints a key into a new block, or, for
 * a block whose key is broken, re-mints into that block; its delete deletes the key, then the block.
 * Rotation (lifecycle.ts) is the same re-mint on demand.
 */

import { orphansNote } from "../../engine/credential.js";
import { credentialStep } from "../../engine/credential-step.js";
import { ignoreNotFound, type RotateResult } from "../../engine/lifecycle-types.js";
import type { Resource } from "../../engine/resource.js";
import type { StepContext, StepResult, StepState } from "../../engine/types.js";
import { CloudError } from "../../errors.js";
import { heldKeys, keyHealth, keyName, keyOf, keySpec, keyUse, replaceKey, type SaKey, tooManyKeys } from "./key.js";
import { BLOCK_TYPE, type GcpContext, MAX_KEYS, serviceAccountEmail } from "./names.js";
import { keyAccepted } from "./waits.js";

export { checkKeyPreconditions, orgPolicyError } from "./key.js";

export function credentialsStep(c: GcpContext): Resource {
  // The key just minted into a new block: provisioning ends only once Google accepts it.
  const last: { minted?: SaKey } = {};
  const take = (): SaKey | undefined => {
    const k = last.minted;
    delete last.minted;
    return k;
  };
  // A new block: the engine's credential step (orphans first, the limit, the guarded mint).
  const create = credentialStep({
    id: "prefect.gcp-credentials",
    blockType: BLOCK_TYPE,
    block: c.names.block,
    after: ["gcp.service-account"],
    guard: c.guard,
    noun: "key",
    createDetail: `new key for service account ${serviceAccountEmail(c)}`,
    limit: MAX_KEYS,
    tooMany: () => tooManyKeys(c),
    use: (ctx) => keyUse(c, ctx.note),
    spec: async (ctx) => keySpec(c, ctx.note),
    blockData: (key) => {
      last.minted = key;
      return { service_account_info: key.info, project: c.project };
    },
  });
  const createAccepted = async (ctx: StepContext, state: StepState): Promise<StepResult> => {
    take();
    const done = await create.apply(ctx, state);
    const minted = take();
    if (minted) {
      const problem = await keyAccepted(minted.info, c.env, { intervalMs: c.retryMs, note: ctx.note });
      if (problem)
        throw new CloudError(
          `Google has not accepted the new key ${minted.id} of ${serviceAccountEmail(c)} yet (${problem}).`,
          "KEY_NOT_ACCEPTED",
          "Run the same command again in a few minutes; it checks the key again and replaces it if it never works.",
        );
    }
    return done;
  };
  return {
    ...create,
    templateVariable: "credentials",
    check: (ctx) => checkBlock(c, ctx, () => create.check(ctx)),
    apply: (ctx, state) => applyBlock(c, ctx, state, () => createAccepted(ctx, state)),
    async delete(ctx, state) {
      const id = state.id;
      if (!id) return;
      const doc = await ctx.prefect.readBlockDocumentById(id, true);
      const key = keyOf(doc?.data);
      // The key goes with its block, unless another block holds the same key file.
      if (key.keyId && key.email && !(await heldKeys(c, id)).has(key.keyId))
        await (await c.gcp()).deleteKey(keyName(c, key.email, key.keyId));
      await ctx.prefect.deleteBlockDocument(id).catch(ignoreNotFound);
    },
  };
}

async function checkBlock(c: GcpContext, ctx: StepContext, created: () => Promise<StepState>): Promise<StepState> {
  const doc = await ctx.prefect.readBlockDocument(BLOCK_TYPE, c.names.block, true);
  if (!doc) {
    if (c.mode === "read") return { action: "create", detail: `new key for service account ${serviceAccountEmail(c)}` };
    return created();
  }
  ctx.outputs.set("blockDocumentId", doc.id);
  const health = await keyHealth(c, doc.data);
  if (!health.ok)
    return { action: "update", id: doc.id, detail: health.detail, ...(health.repair ? { repair: health.repair } : {}) };
  // Keys interrupted runs left (a rotation's old key, a mint whose answer was lost): drift in
  // `wp status`, deleted by provisioning (listed only when the journal names some).
  const orphans = await c.guard.orphans(keySpec(c, ctx.note));
  if (orphans.length)
    return {
      action: "update",
      id: doc.id,
      detail: orphansNote(
        "key",
        orphans.map((o) => o.id),
      ),
    };
  return { action: "exists", id: doc.id, detail: health.detail };
}

async function applyBlock(
  c: GcpContext,
  ctx: StepContext,
  state: StepState,
  create: () => Promise<StepResult>,
): Promise<StepResult> {
  const doc = await ctx.prefect.readBlockDocument(BLOCK_TYPE, c.names.block, true);
  if (!doc) return create();
  ctx.outputs.set("blockDocumentId", doc.id);
  const health = await keyHealth(c, doc.data);
  if (health.ok) return create();
  // The block's key is gone, disabled or refused: a new key into the same block.
  ctx.note(`The key in block ${c.names.block} does not work (${health.detail}); minting a new one into it...`);
  await replaceKey(c, { id: doc.id, data: (doc.data ?? {}) as Record<string, unknown> }, ctx.note);
  return { action: state.action === "create" ? "create" : "update", id: doc.id };
}

/** What interrupted runs left of the block's service account's keys (the guard's recover, as rotation does it first). */
export async function finishKeys(c: GcpContext, block: { id: string } | null, note: (m: string) => void) {
  if (!c.guard.pending("gcp:")) return;
  const full = block ? await c.prefect.readBlockDocumentById(block.id, true) : null;
  const email = keyOf((full?.data ?? {}) as Record<string, unknown>).email ?? serviceAccountEmail(c);
  await c.guard.recover(keySpec(c, note, email), note);
}

/** `wp rotate-credentials`: a new key into the pool's block, the old one deleted. */
export async function rotateKey(c: GcpContext, block: { id: string; name?: string | null }, note: (m: string) => void) {
  const full = await c.prefect.readBlockDocumentById(block.id, true);
  const data = { ...((full?.data ?? {}) as Record<string, unknown>) };
  const r = await replaceKey(c, { id: block.id, data }, note);
  const result: RotateResult = {
    block: block.name ?? block.id,
    newId: r.newId,
    ...(r.oldId ? { oldId: r.oldId } : {}),
    checked: `an access token was issued for ${r.email} with the new key ${r.newId}`,
  };
  return result;
}
