/**
 * The credentials step: an access key for the IAM user, stored in the Prefect block
 * `<pool>-aws-credentials`. The key is created only when the block is missing, right before the
 * block is written, and deleted again if that write fails. AWS allows two keys per user; the
 * preflight and the plan refuse before anything is created when a third would be needed (and a key
 * added meanwhile makes AWS refuse CreateAccessKey, reported the same way).
 */
import { awsErrorCode } from "../../clouds/aws.js";
import { UsageError } from "../../errors.js";
import { blockKind, createBlock } from "../../prefect/blocks.js";
import type { Step } from "../types.js";
import { BLOCK_TYPE, type EcsContext, MAX_ACCESS_KEYS, settled } from "./names.js";

/** Number of access keys the user has (0 when the user does not exist yet). */
async function keyCount(e: EcsContext): Promise<number> {
  const iam = await (await e.aws()).iam();
  try {
    return (await iam.listAccessKeys(e.names.iamUser)).length;
  } catch (err) {
    if (["NoSuchEntity", "NoSuchEntityException"].includes(awsErrorCode(err) ?? "")) return 0;
    throw err;
  }
}

function tooManyKeys(e: EcsContext): UsageError {
  return new UsageError(
    `IAM user ${e.names.iamUser} already has ${MAX_ACCESS_KEYS} access keys (the AWS limit), and the Prefect block ` +
      `${e.names.block} that would hold a new one does not exist.`,
    `Delete an unused key (aws iam delete-access-key --user-name ${e.names.iamUser} --access-key-id …), ` +
      "or pass --iam-user-name to use another user, then run again.",
  );
}

/**
 * Read-only preflight: refuses before anything is created when a key would be needed but the
 * user already has the maximum.
 */
export async function checkKeyQuota(e: EcsContext): Promise<void> {
  if (await e.prefect.readBlockDocument(BLOCK_TYPE, e.names.block)) return;
  if ((await keyCount(e)) >= MAX_ACCESS_KEYS) throw tooManyKeys(e);
}

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
      if (doc) {
        ctx.outputs.set("blockDocumentId", doc.id);
        return { action: "exists", id: doc.id };
      }
      if ((await keyCount(e)) >= MAX_ACCESS_KEYS) throw tooManyKeys(e);
      return { action: "create", detail: `new access key for IAM user ${e.names.iamUser}` };
    },
    async apply(ctx) {
      const [existing, kind] = await settled([
        ctx.prefect.readBlockDocument(BLOCK_TYPE, block),
        // Resolved before the key: a missing type must not leave a key behind.
        blockKind(ctx.prefect, BLOCK_TYPE),
      ]);
      if (existing) {
        ctx.outputs.set("blockDocumentId", existing.id);
        return { action: "exists", id: existing.id };
      }

      const session = await e.aws();
      const iam = await session.iam();
      // The preflight and the plan counted the keys; a key added since makes AWS refuse a third.
      const key = await iam.createAccessKey(e.names.iamUser).catch((err: unknown) => {
        throw awsErrorCode(err) === "LimitExceeded" ? tooManyKeys(e) : err;
      });
      ctx.note(`Created access key ${key.accessKeyId} for IAM user ${e.names.iamUser}.`);
      try {
        const doc = await createBlock(ctx.prefect, kind, block, {
          aws_access_key_id: key.accessKeyId,
          aws_secret_access_key: key.secretAccessKey,
          region_name: session.region,
        });
        ctx.outputs.set("blockDocumentId", doc.id);
        return { action: "create", id: doc.id };
      } catch (err) {
        // The secret exists only in this process now; a key nobody can read is a liability.
        await iam.deleteAccessKey(e.names.iamUser, key.accessKeyId).then(
          () => ctx.note(`Deleted access key ${key.accessKeyId} again because the block could not be written.`),
          () => ctx.note(`Could not delete access key ${key.accessKeyId}; delete it in the IAM console.`),
        );
        throw err;
      }
    },
  };
}
