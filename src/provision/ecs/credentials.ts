/**
 * The credentials step: an access key for the IAM user, stored in the Prefect block
 * `<pool>-aws-credentials`. The key is minted only when the block is missing, through the engine's
 * CredentialGuard (critical section, journal, delete on a failed block write), and a key that an
 * interrupted run left without a block is deleted first. AWS allows two keys per user; the
 * preflight and the plan refuse before anything is created when a third would be needed (and a
 * key added meanwhile makes AWS refuse CreateAccessKey, reported the same way).
 */
import { awsErrorCode } from "../../clouds/aws.js";
import { UsageError } from "../../errors.js";
import { blockKind, createBlock } from "../../prefect/blocks.js";
import { shellQuote } from "../../ui/io.js";
import { type CredentialSpec, orphansNote } from "../credential.js";
import type { Step, StepContext } from "../types.js";
import { BLOCK_TYPE, type EcsContext, MAX_ACCESS_KEYS, settled } from "./names.js";

const NO_SUCH = ["NoSuchEntity", "NoSuchEntityException"];

interface AccessKey {
  id: string;
  secretAccessKey: string;
}

/** The user's access keys as the guard sees them; the ids that Prefect's AWS blocks hold are never deleted. */
function keySpec(e: EcsContext, accountId: string): CredentialSpec<AccessKey> {
  const user = e.names.iamUser;
  const iam = async () => (await e.aws()).iam();
  return {
    scope: `aws:${accountId}:iam-user/${user}`,
    noun: "access key",
    owner: `IAM user ${user}`,
    async mint() {
      const key = await (await iam()).createAccessKey(user).catch((err: unknown) => {
        throw awsErrorCode(err) === "LimitExceeded" ? tooManyKeys(e) : err;
      });
      return { id: key.accessKeyId, secretAccessKey: key.secretAccessKey };
    },
    async revoke(id) {
      await (await iam()).deleteAccessKey(user, id).catch((err: unknown) => {
        if (!NO_SUCH.includes(awsErrorCode(err) ?? "")) throw err;
      });
    },
    async list() {
      return (await listKeys(e)).map((k) => ({ id: k.AccessKeyId ?? "", created: k.CreateDate }));
    },
    async held() {
      const docs = await e.prefect.listBlockDocuments(BLOCK_TYPE);
      return new Set(docs.map((d) => d.data?.aws_access_key_id).filter((id): id is string => typeof id === "string"));
    },
  };
}

async function listKeys(e: EcsContext) {
  try {
    return await (await (await e.aws()).iam()).listAccessKeys(e.names.iamUser);
  } catch (err) {
    if (NO_SUCH.includes(awsErrorCode(err) ?? "")) return [];
    throw err;
  }
}

async function accountOf(e: EcsContext): Promise<string> {
  return (await (await e.aws()).identity()).accountId;
}

/**
 * Keys the user holds, not counting the orphans of interrupted runs (those are deleted first).
 * The count is read only when it matters (`count`: the block is missing, so a key would be made).
 */
async function keyUse(e: EcsContext, count = true): Promise<{ usable: number; orphans: string[] }> {
  const spec = keySpec(e, await accountOf(e));
  const [keys, orphans] = await settled([count ? listKeys(e) : [], e.guard.orphans(spec)]);
  return { usable: keys.length - orphans.length, orphans: orphans.map((o) => o.id) };
}

function tooManyKeys(e: EcsContext): UsageError {
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

const orphanNote = (ids: string[]) => orphansNote("access key", ids);

export function credentialsStep(e: EcsContext): Step {
  const block = e.names.block;
  return {
    id: "prefect.aws-credentials",
    resource: "Credentials block",
    name: block,
    target: "prefect",
    // The key belongs to the user; it does not wait for the user's policy (the work pool, written in
    // a later phase, waits for both).
    after: ["aws.iam-user"],
    async check(ctx) {
      const doc = await ctx.prefect.readBlockDocument(BLOCK_TYPE, block);
      const use = await keyUse(e, !doc);
      if (doc) {
        ctx.outputs.set("blockDocumentId", doc.id);
        if (use.orphans.length) return { action: "update", detail: orphanNote(use.orphans), id: doc.id };
        return { action: "exists", id: doc.id };
      }
      if (use.usable >= MAX_ACCESS_KEYS) throw tooManyKeys(e);
      const extra = use.orphans.length ? `; ${orphanNote(use.orphans)}` : "";
      return { action: "create", detail: `new access key for IAM user ${e.names.iamUser}${extra}` };
    },
    async apply(ctx: StepContext) {
      const spec = keySpec(e, await accountOf(e));
      const [recovered, existing, kind] = await settled([
        e.guard.recover(spec, ctx.note),
        ctx.prefect.readBlockDocument(BLOCK_TYPE, block),
        // Resolved before the key: a missing type must not leave a key behind.
        blockKind(ctx.prefect, BLOCK_TYPE),
      ]);
      if (existing) {
        ctx.outputs.set("blockDocumentId", existing.id);
        return { action: recovered > 0 ? "update" : "exists", id: existing.id };
      }
      const region = (await e.aws()).region;
      const doc = await e.guard.mintInto(
        spec,
        (key) =>
          createBlock(ctx.prefect, kind, block, {
            aws_access_key_id: key.id,
            aws_secret_access_key: key.secretAccessKey,
            region_name: region,
          }),
        ctx.note,
      );
      ctx.outputs.set("blockDocumentId", doc.id);
      return { action: "create", id: doc.id };
    },
  };
}
