/**
 * The credentials block, one resource: an access key of the IAM user in the Prefect block
 * `<pool>-aws-credentials`. Read: the block exists and its key is on the user, Active, and
 * authenticates as the user (credentials-key.ts); a block whose key fails that is drifted, and
 * `provision-infra` re-mints into the block (as `rotate-credentials` does). A missing block gets a
 * key minted straight into it through the CredentialGuard (engine credential-step.ts); AWS allows
 * two keys per user, so the preflight and the plan refuse before anything is created when a third
 * would be needed. Deleted with its key (unless another block holds it).
 */

import { orphansNote } from "../../engine/credential.js";
import { credentialStep } from "../../engine/credential-step.js";
import { blockRefOf, ignoreNotFound } from "../../engine/lifecycle-types.js";
import type { Resource } from "../../engine/resource.js";
import { settled } from "../../engine/settled.js";
import type { StepContext, StepState } from "../../engine/types.js";
import { UsageError } from "../../errors.js";
import { shellQuote } from "../../ui/io.js";
import { blockKey, keySpec, readKey, remintIntoBlock, roomForKey } from "./credentials-key.js";
import { keysHeldElsewhere, userKeys } from "./key-holders.js";
import { BLOCK_TYPE, type EcsContext, gone, MAX_ACCESS_KEYS, NO_SUCH } from "./names.js";

async function accountOf(e: EcsContext): Promise<string> {
  return (await (await e.aws()).identity()).accountId;
}

/**
 * Keys the user holds, not counting the orphans of interrupted runs (those are deleted first).
 * The count is read only when it matters (`count`: the block is missing, so a key would be made).
 */
async function keyUse(e: EcsContext, count = true): Promise<{ usable: number; orphans: string[] }> {
  const spec = keySpec(e, await accountOf(e), () => tooManyKeys(e));
  const [keys, orphans] = await settled([count ? userKeys(e) : [], e.guard.orphans(spec)]);
  return { usable: keys.length - orphans.length, orphans: orphans.map((o) => o.id) };
}

export function tooManyKeys(e: EcsContext): UsageError {
  return new UsageError(
    `IAM user ${e.names.iamUser} already has ${MAX_ACCESS_KEYS} access keys (the AWS limit), and the Prefect block ` +
      `${e.names.block} that would hold a new one does not exist.`,
    `Delete an unused key (aws iam delete-access-key --user-name ${shellQuote(e.names.iamUser)} --access-key-id …), ` +
      "or pass --iam-user-name to use another user, then run again.",
  );
}

/**
 * Read-only preflight: refuses before anything is created when a key would be needed but the
 * user already has the maximum.
 */
export async function checkKeyQuota(e: EcsContext): Promise<void> {
  if (await e.prefect.readBlockDocument(BLOCK_TYPE, e.names.block)) return;
  if ((await keyUse(e)).usable >= MAX_ACCESS_KEYS) throw tooManyKeys(e);
}

/** Read mode, block missing: what the pool's template says about it (the block it points at, or none). */
async function missingBlock(e: EcsContext, ctx: StepContext): Promise<StepState> {
  const pool = await ctx.prefect.readWorkPool(e.pool);
  const ref = pool ? blockRefOf(pool, "aws_credentials") : undefined;
  if (!pool) return { action: "create", detail: `new access key for IAM user ${e.names.iamUser}` };
  if (!ref) return { action: "create", detail: "the template's aws_credentials references no block" };
  const detail = `the template's aws_credentials points at block ${ref}, which does not exist`;
  return { action: "create", detail, id: ref };
}

/** Read mode (status): keys interrupted runs left on the user, which the next provision-infra or rotation deletes. */
async function leftovers(e: EcsContext): Promise<StepState> {
  const { orphans } = await keyUse(e, false);
  if (orphans.length === 0) return { action: "exists" };
  return { action: "update", detail: orphansNote("access key", orphans), repair: "provision-infra" };
}

export function credentialsStep(e: EcsContext): Resource {
  const base = credentialStep({
    id: "prefect.aws-credentials",
    blockType: BLOCK_TYPE,
    block: e.names.block,
    // The key belongs to the user; it does not wait for the user's policy (the work pool, written in
    // a later phase, waits for both).
    after: ["aws.iam-user"],
    guard: e.guard,
    noun: "access key",
    createDetail: `new access key for IAM user ${e.names.iamUser}`,
    limit: MAX_ACCESS_KEYS,
    tooMany: () => tooManyKeys(e),
    use: (_ctx, blockMissing) => keyUse(e, blockMissing),
    spec: async (ctx) => keySpec(e, await accountOf(e), () => tooManyKeys(e), ctx.note),
    blockData: async (key) => ({
      aws_access_key_id: key.id,
      aws_secret_access_key: key.secretAccessKey,
      region_name: (await e.aws()).region,
    }),
  });
  /** The block's key failed the read: the apply re-mints into the block. */
  const broken = new Set<string>();
  return {
    ...base,
    templateVariable: "aws_credentials",
    async check(ctx) {
      if (e.mode === "read") {
        const doc = await ctx.prefect.readBlockDocument(BLOCK_TYPE, e.names.block);
        if (!doc) return missingBlock(e, ctx);
        ctx.outputs.set("blockDocumentId", doc.id);
      }
      const state = e.mode === "read" ? await leftovers(e) : await base.check(ctx);
      const id = ctx.outputs.get("blockDocumentId");
      if (state.action === "create" || typeof id !== "string") return state;
      const key = await readKey(e, id, ctx.note, ctx);
      broken.delete(id);
      // A leftover key (an interrupted mint or rotation) is drift; any run for the pool deletes it.
      if (!key.problem && state.action === "update") return { ...state, id };
      if (!key.problem) return { ...state, id, ...(key.detail ? { detail: key.detail } : {}) };
      broken.add(id);
      // Provisioning refuses before anything is created when the user has no room for the new key.
      if (e.mode === "provision" && key.repair === "rotate-credentials")
        await roomForKey(e, (await blockKey(e.prefect, id)).keyId);
      const orphans = state.action === "update" && state.detail ? `; ${state.detail}` : "";
      return { action: "update", id, detail: `${key.problem}${orphans}`, repair: key.repair };
    },
    async apply(ctx, state) {
      if (!state.id || !broken.has(state.id)) return base.apply(ctx, state);
      const r = await remintIntoBlock(e, state.id, ctx.note, () => tooManyKeys(e));
      ctx.outputs.set("blockDocumentId", state.id);
      ctx.note(`Block ${e.names.block} now holds access key ${r.newId}${r.oldId ? `; deleted ${r.oldId}` : ""}.`);
      return { action: "update", id: state.id };
    },
    async delete(ctx, state) {
      if (!state.id) return;
      const keyId = (await ctx.prefect.readBlockDocumentById(state.id))?.data?.aws_access_key_id;
      const [keys, held] = await Promise.all([userKeys(e), keysHeldElsewhere(e)]);
      if (typeof keyId === "string" && keys.some((k) => k.AccessKeyId === keyId) && !held.has(keyId)) {
        const iam = await (await e.aws()).iam();
        await iam.deleteAccessKey(e.names.iamUser, keyId).catch(gone(NO_SUCH));
      }
      await ctx.prefect.deleteBlockDocument(state.id).catch(ignoreNotFound);
    },
  };
}
