/**
 * The credentials step: an access key for the IAM user, stored in the Prefect block
 * `<pool>-aws-credentials`. The key is minted only when the block is missing, through the engine's
 * CredentialGuard (critical section, journal, delete on a failed block write), and a key that an
 * interrupted run left without a block is deleted first. AWS allows two keys per user; the
 * preflight and the plan refuse before anything is created when a third would be needed (and a
 * key added meanwhile makes AWS refuse CreateAccessKey, reported the same way).
 */

import type { CredentialSpec } from "../../engine/credential.js";
import { credentialStep } from "../../engine/credential-step.js";
import { settled } from "../../engine/settled.js";
import type { Step } from "../../engine/types.js";
import { UsageError } from "../../errors.js";
import { shellQuote } from "../../ui/io.js";
import { BLOCK_TYPE, type EcsContext, MAX_ACCESS_KEYS } from "./names.js";
import { awsErrorCode } from "./sdk.js";

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

export function credentialsStep(e: EcsContext): Step {
  return credentialStep({
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
    spec: async () => keySpec(e, await accountOf(e)),
    blockData: async (key) => ({
      aws_access_key_id: key.id,
      aws_secret_access_key: key.secretAccessKey,
      region_name: (await e.aws()).region,
    }),
  });
}
