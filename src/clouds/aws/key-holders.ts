/**
 * Access keys of the pool's IAM user that other Prefect AWS blocks hold (key ids are not secret),
 * and the pools that reference those blocks: the user (and its policy) stay while they do, and such
 * a key is never deleted.
 */
import { blockRefOf } from "../../engine/lifecycle-types.js";
import type { TeardownContext } from "../../engine/resource.js";
import { BLOCK_TYPE, type EcsContext, NO_SUCH } from "./names.js";
import { awsErrorCode } from "./sdk.js";

/** Key id → id of another block (not the pool's own, `e.names.block`) holding it. */
export async function keysHeldElsewhere(e: EcsContext): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  for (const d of await e.prefect.listBlockDocuments(BLOCK_TYPE)) {
    const id = (d.data as Record<string, unknown> | undefined)?.aws_access_key_id;
    if (d.name !== e.names.block && typeof id === "string") held.set(id, d.id);
  }
  return held;
}

/** The user's access keys; none when the user does not exist. */
export async function userKeys(e: EcsContext) {
  try {
    return await (await (await e.aws()).iam()).listAccessKeys(e.names.iamUser);
  } catch (err) {
    if (NO_SUCH.includes(awsErrorCode(err) ?? "")) return [];
    throw err;
  }
}

/** Who holds one of the user's keys besides this pool: the pools referencing those blocks (or the block itself). */
export async function keyHolders(e: EcsContext, ctx: TeardownContext): Promise<string[]> {
  const [held, keys] = await Promise.all([keysHeldElsewhere(e), userKeys(e)]);
  const out = new Set<string>();
  for (const k of keys) {
    const doc = k.AccessKeyId ? held.get(k.AccessKeyId) : undefined;
    if (doc) out.add(ctx.otherPools.find((p) => blockRefOf(p, "aws_credentials") === doc)?.name ?? `block ${doc}`);
  }
  return [...out];
}
