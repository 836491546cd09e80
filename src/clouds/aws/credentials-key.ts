/**
 * The access key a credentials block holds: the one read of it (on the user, Active, and
 * authenticating as the user, checked with the key itself), and the one re-mint into the block
 * (through the CredentialGuard; the new key is checked by authenticating with it, and the old key
 * deleted), which both `provision-infra` (repairing the block) and `rotate-credentials` run.
 */

import type { CredentialSpec } from "../../engine/credential.js";
import type { StepContext } from "../../engine/types.js";
import { type Attempt, waitUntil } from "../../engine/wait.js";
import { CloudError, UsageError, WpError } from "../../errors.js";
import type { PrefectApi } from "../../prefect/api.js";
import { shellQuote, wpCommand } from "../../ui/io.js";
import { readUser } from "./iam.js";
import { keysHeldElsewhere } from "./key-holders.js";
import { BLOCK_TYPE, type EcsContext, gone, MAX_ACCESS_KEYS, NO_SUCH } from "./names.js";
import { afterCreate, IAM_CONSISTENCY, isNew, KEY_NOT_YET, KEY_WAIT_MS } from "./propagation.js";
import { awsErrorCode, type Identity, resolveAws } from "./sdk.js";

export interface AccessKey {
  id: string;
  secretAccessKey: string;
}

/** The key id and secret the block holds (the secret stays in memory). */
export async function blockKey(prefect: PrefectApi, blockId: string) {
  const full = await prefect.readBlockDocumentById(blockId, true);
  const data = { ...((full?.data ?? {}) as Record<string, unknown>) };
  const str = (k: string) => (typeof data[k] === "string" && data[k] ? String(data[k]) : undefined);
  return { data, keyId: str("aws_access_key_id"), secret: str("aws_secret_access_key") };
}

/**
 * null when the key authenticates as `userArn`; else what is wrong. With `wait`, a key AWS still
 * refuses as unknown (InvalidClientTokenId: new keys take a few seconds to work everywhere) is tried
 * again until it works or `wait.ms` passes.
 */
export async function authenticatesAs(
  e: EcsContext,
  key: AccessKey,
  userArn: string,
  wait?: { note: (m: string) => void; ms: number; signal?: AbortSignal | undefined },
): Promise<string | null> {
  const s = await e.aws();
  try {
    const as = await resolveAws({
      region: s.region,
      env: e.env,
      endpoint: e.endpoint,
      credentials: { accessKeyId: key.id, secretAccessKey: key.secretAccessKey },
    });
    const who = await waitUntil({
      what: `the new access key ${key.id} to work`,
      why: "AWS refuses a new access key (InvalidClientTokenId) for a few seconds after it is made",
      timeoutMs: wait?.ms ?? 0,
      note: wait?.note ?? (() => {}),
      signal: wait?.signal,
      hint: `AWS still refuses it; see ${IAM_CONSISTENCY}.`,
      async attempt(): Promise<Attempt<Identity>> {
        try {
          return { done: true, value: await as.identity() };
        } catch (err) {
          if (wait && KEY_NOT_YET.has(awsErrorCode(err) ?? "")) return { done: false, reason: awsErrorCode(err) ?? "" };
          throw err;
        }
      },
    });
    return who.arn === userArn ? null : `authenticates as ${who.arn}, not as ${userArn}`;
  } catch (err) {
    return `does not authenticate (${err instanceof Error ? err.message : String(err)})`;
  }
}

export interface KeyState {
  /** What is wrong with the block's key; undefined when it works. */
  problem?: string;
  /** The command that repairs it: rotation needs the user. */
  repair: "provision-infra" | "rotate-credentials";
  /** What was checked, when it works. */
  detail?: string;
}

/**
 * The block's key: held, on the user, Active, and authenticating as the user. A key made in the last
 * minutes that AWS still refuses as unknown is waited for (`note`: the progress line), not reported.
 */
export async function readKey(
  e: EcsContext,
  blockId: string,
  note?: (m: string) => void,
  ctx?: StepContext,
): Promise<KeyState> {
  const user = e.names.iamUser;
  const iam = await (await e.aws()).iam();
  const [key, found] = await Promise.all([blockKey(e.prefect, blockId), readUser(e, ctx)]);
  const repair = found?.Arn ? "rotate-credentials" : "provision-infra";
  if (!key.keyId || !key.secret) return { problem: "the block holds no access key", repair };
  if (!found?.Arn) return { problem: `IAM user ${user} does not exist`, repair };
  const listed = (await iam.listAccessKeys(user)).find((k) => k.AccessKeyId === key.keyId);
  if (!listed)
    return { problem: `access key ${key.keyId} not found on IAM user ${user} (deleted in the cloud?)`, repair };
  if (listed.Status !== "Active") return { problem: `access key ${key.keyId} is ${listed.Status}`, repair };
  const wait = note && isNew(listed.CreateDate) ? { note, ms: KEY_WAIT_MS } : undefined;
  const problem = await authenticatesAs(e, { id: key.keyId, secretAccessKey: key.secret }, found.Arn, wait);
  if (problem) return { problem: `access key ${key.keyId} ${problem}`, repair };
  return { repair, detail: `access key ${key.keyId} active; sts:GetCallerIdentity as ${found.Arn}` };
}

/** The user's access keys as the guard sees them; the ids that Prefect's AWS blocks hold are never deleted. */
export function keySpec(
  e: EcsContext,
  accountId: string,
  tooMany: () => Error,
  note: (m: string) => void = () => {},
): CredentialSpec<AccessKey> {
  const user = e.names.iamUser;
  const iam = async () => (await e.aws()).iam();
  return {
    scope: `aws:${accountId}:iam-user/${user}`,
    noun: "access key",
    owner: `IAM user ${user}`,
    async mint() {
      const api = await iam();
      // A user made moments ago can still be NoSuchEntity to IAM (then no key was made: safe to repeat).
      const key = await afterCreate(`IAM user ${user}`, note, () => api.createAccessKey(user)).catch((err: unknown) => {
        throw awsErrorCode(err) === "LimitExceeded" ? tooMany() : err;
      });
      return { id: key.accessKeyId, secretAccessKey: key.secretAccessKey };
    },
    revoke: async (id) => (await iam()).deleteAccessKey(user, id).catch(gone(NO_SUCH)),
    async list() {
      const keys = await (await iam()).listAccessKeys(user).catch((err: unknown) => {
        gone(NO_SUCH)(err);
        return [];
      });
      return keys.map((k) => ({ id: k.AccessKeyId ?? "", created: k.CreateDate }));
    },
    async held() {
      const docs = await e.prefect.listBlockDocuments(BLOCK_TYPE);
      return new Set(docs.map((d) => d.data?.aws_access_key_id).filter((id): id is string => typeof id === "string"));
    },
  };
}

/** AWS allows two keys: a new one needs room besides the user's other keys (the block's own is deleted after). */
function refuseAtLimit(user: string, oldId: string | undefined, others: string[], oldOnUser: boolean): void {
  if (others.length < MAX_ACCESS_KEYS && !(oldOnUser && others.length + 1 >= MAX_ACCESS_KEYS)) return;
  throw new UsageError(
    `IAM user ${user} holds ${others.length === 1 ? "access key" : "access keys"} ${others.join(", ")} ` +
      `besides the block's${oldOnUser ? ` (${oldId})` : ""}; AWS allows ${MAX_ACCESS_KEYS}, so a new key cannot be made ` +
      "before the old one is deleted.",
    `Delete the unused key (aws iam delete-access-key --user-name ${shellQuote(user)} --access-key-id …) and run again.`,
  );
}

/** Throws when the user has no room for a new key besides the block's `oldId`; returns whether `oldId` is on the user. */
export async function roomForKey(e: EcsContext, oldId: string | undefined): Promise<boolean> {
  const keys = await (await (await e.aws()).iam()).listAccessKeys(e.names.iamUser).catch((err: unknown) => {
    gone(NO_SUCH)(err);
    return [];
  });
  const others = keys.filter((k) => k.AccessKeyId !== oldId).map((k) => k.AccessKeyId ?? "");
  const oldOnUser = keys.length !== others.length;
  refuseAtLimit(e.names.iamUser, oldId, others, oldOnUser);
  return oldOnUser;
}

export interface Reminted {
  newId: string;
  oldId?: string;
  checked: string;
}

/**
 * A new key for the user, written into the existing block (its other fields kept) and checked by
 * authenticating with it; a key that does not authenticate is revoked and the block gets its old
 * data back. The block's old key is deleted when it is on the user (and no other block holds it).
 */
export async function remintIntoBlock(
  e: EcsContext,
  blockId: string,
  note: (m: string) => void,
  tooMany: () => Error,
): Promise<Reminted> {
  const s = await e.aws();
  const iam = await s.iam();
  const user = e.names.iamUser;
  const { data, keyId: oldId } = await blockKey(e.prefect, blockId);
  const found = await iam.getUser(user);
  const userArn = found?.Arn;
  if (!userArn)
    throw new WpError(`IAM user ${user} does not exist.`, `Run \`${wpCommand("provision-infra", e.pool)}\` first.`);
  const spec = keySpec(e, (await s.identity()).accountId, tooMany, note);
  // What interrupted runs left (a key minted without its block, an old key not yet deleted) goes
  // first, so that it never counts against AWS's two keys.
  await e.guard.recover(spec, note);
  const [oldOnUser, held] = await Promise.all([roomForKey(e, oldId), keysHeldElsewhere(e)]);
  // The block's old key is retired by the guard: journaled with the mint, deleted once the block holds
  // the new key (which by then works), or by the next run if this one is stopped in between.
  const retire = oldId && oldOnUser && !held.has(oldId) ? [oldId] : [];
  const newId = await e.guard.mintInto(
    spec,
    async (k) => {
      await e.prefect.updateBlockDocument(blockId, {
        ...data,
        aws_access_key_id: k.id,
        aws_secret_access_key: k.secretAccessKey,
        region_name: typeof data.region_name === "string" && data.region_name ? data.region_name : s.region,
      });
      // The old key stays until the new one works (AWS refuses a new key for a few seconds).
      const problem = await authenticatesAs(e, k, userArn, { note, ms: KEY_WAIT_MS });
      if (problem) {
        await e.prefect.updateBlockDocument(blockId, data);
        throw new CloudError(`The new access key ${k.id} ${problem}; the block keeps the old key.`);
      }
      return k.id;
    },
    note,
    retire,
  );
  return {
    newId,
    ...(retire[0] ? { oldId: retire[0] } : {}),
    checked: `sts:GetCallerIdentity with the new key answered ${userArn}`,
  };
}
