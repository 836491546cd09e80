/**
 * The service-account key a credentials block holds: minting through the engine's CredentialGuard
 * (critical section, journal, deleted again if the block cannot be written; orphans of interrupted
 * runs deleted first), Google's limit of 10 keys per service account and the organisation policy
 * that forbids keys (refused before anything is created wherever they can be read), and the key's
 * health as the block's own identity sees it: it exists on the service account, is enabled, and
 * yields an access token.
 */

import type { CredentialSpec } from "../../engine/credential.js";
import { CloudError, UsageError } from "../../errors.js";
import { BLOCK_TYPE, type GcpContext, MAX_KEYS, serviceAccountEmail } from "./names.js";
import { serviceAccountToken } from "./run-api.js";
import { GcpError, gcpCode, KEY_CONSTRAINT, MANAGED_KEY_CONSTRAINT } from "./sdk.js";
import { keyAccepted, SERVICE_ACCOUNT_WAIT, settle } from "./waits.js";

export interface SaKey {
  id: string;
  /** The decoded key file (the secret; never logged). */
  info: Record<string, unknown>;
}

export const keyIdOf = (name: string | null | undefined) => (name ?? "").split("/").pop() ?? "";

export const keyName = (c: GcpContext, email: string, id: string) =>
  `projects/${c.project}/serviceAccounts/${email}/keys/${id}`;

/** The one-line refusal when an organisation policy (`constraint`, legacy or managed) forbids keys. */
export function orgPolicyError(c: GcpContext, constraint = KEY_CONSTRAINT): CloudError {
  const email = serviceAccountEmail(c);
  return new CloudError(
    `Your organisation policy ${constraint.replace("constraints/", "")} forbids service-account keys in project ` +
      `${c.project}, so wp cannot create the key that the Prefect block ${c.names.block} would hold.`,
    "ORG_POLICY_KEYS_FORBIDDEN",
    `Alternatives: ask an organisation policy administrator to exempt project ${c.project} from ${constraint}, ` +
      "then run the same command again (finished steps are kept); or create the pool without --provision-infra and " +
      `run a worker on Google Cloud as ${email} (it needs no key); or create the block ${c.names.block} yourself ` +
      "with other credentials and run again.",
  );
}

export function tooManyKeys(c: GcpContext, email = serviceAccountEmail(c)): UsageError {
  return new UsageError(
    `Service account ${email} already has ${MAX_KEYS} keys (Google's limit), and the Prefect block ` +
      `${c.names.block} needs a new one.`,
    "Delete an unused key (in the console: IAM > Service accounts > Keys), or pass --service-account-name to use " +
      "another service account, then run again.",
  );
}

/** The key constraint a refused keys.create names in its PreconditionFailure (legacy or managed), if any. */
function forbiddingConstraint(err: unknown): string | undefined {
  if (!(err instanceof GcpError) || err.code !== "FAILED_PRECONDITION") return undefined;
  const named = err.violations.find((v) => v.endsWith(KEY_CONSTRAINT_ID) || v.endsWith(MANAGED_KEY_CONSTRAINT));
  return named ?? (/Key creation is not allowed/i.test(err.message) ? KEY_CONSTRAINT : undefined);
}

const KEY_CONSTRAINT_ID = KEY_CONSTRAINT.replace("constraints/", "");

export function keySpec(
  c: GcpContext,
  note: (m: string) => void,
  email = serviceAccountEmail(c),
): CredentialSpec<SaKey> {
  return {
    scope: `gcp:${c.project}:service-account/${email}`,
    noun: "service-account key",
    owner: `service account ${email}`,
    async mint() {
      const gcp = await c.gcp();
      // A service account made moments ago may not be visible to keys.create yet.
      const key = await settle(
        () => gcp.createKey(email),
        (err) => (gcpCode(err) === "NOT_FOUND" ? "not found yet" : null),
        {
          what: `service account ${email} to become visible to keys`,
          ...SERVICE_ACCOUNT_WAIT,
          intervalMs: c.retryMs,
          note,
        },
      ).catch((err: unknown) => {
        const constraint = forbiddingConstraint(err);
        if (constraint) throw orgPolicyError(c, constraint);
        const limit = err instanceof Error && /maximum|limit|10 keys/i.test(err.message);
        if (gcpCode(err) === "FAILED_PRECONDITION" && limit) throw tooManyKeys(c, email);
        throw err;
      });
      if (!key.privateKeyData) throw new CloudError(`Google returned no private key data for ${email}.`);
      const info = JSON.parse(Buffer.from(key.privateKeyData, "base64").toString("utf8")) as Record<string, unknown>;
      const id = typeof info.private_key_id === "string" ? info.private_key_id : keyIdOf(key.name);
      return { id, info };
    },
    async revoke(id) {
      await (await c.gcp()).deleteKey(keyName(c, email, id));
    },
    async list() {
      const keys = await (await c.gcp()).listKeys(email);
      return keys.map((k) => ({
        id: keyIdOf(k.name),
        created: k.validAfterTime ? new Date(k.validAfterTime) : undefined,
      }));
    },
    held: () => heldKeys(c),
  };
}

/** Ids of the keys Prefect GCP blocks hold, but for the block whose id is `except`. */
export async function heldKeys(c: GcpContext, except?: string): Promise<Set<string>> {
  // service_account_info is secret: the list obfuscates it, so each block is read with secrets.
  const ids = new Set<string>();
  for (const d of await c.prefect.listBlockDocuments(BLOCK_TYPE)) {
    if (!d.name || d.id === except) continue;
    const id = keyOf((await c.prefect.readBlockDocument(BLOCK_TYPE, d.name, true))?.data).keyId;
    if (id) ids.add(id);
  }
  return ids;
}

/** Keys the service account holds, not counting the orphans of interrupted runs (deleted first). */
export async function keyUse(c: GcpContext, note: (m: string) => void): Promise<{ usable: number; orphans: string[] }> {
  const spec = keySpec(c, note);
  const [keys, orphans] = await Promise.all([spec.list(), c.guard.orphans(spec)]);
  return { usable: keys.length - orphans.length, orphans: orphans.map((o) => o.id) };
}

/**
 * Read-only preflight, when a key will be needed: the organisation policy (when the caller may
 * read it) and the key limit, before anything is created.
 */
export async function checkKeyPreconditions(c: GcpContext): Promise<void> {
  if (await c.prefect.readBlockDocument(BLOCK_TYPE, c.names.block)) return;
  const gcp = await c.gcp();
  const [forbidden, use] = await Promise.all([gcp.keyCreationForbidden(), keyUse(c, () => {})]);
  if (forbidden) throw orgPolicyError(c, forbidden);
  if (use.usable >= MAX_KEYS) throw tooManyKeys(c);
}

/** The key a block's data holds: its id and service account (never the private key), and the key file. */
export function keyOf(data: unknown): { keyId?: string; email?: string; info?: Record<string, unknown> } {
  const info = (data as { service_account_info?: Record<string, unknown> } | undefined)?.service_account_info;
  const keyId = typeof info?.private_key_id === "string" ? info.private_key_id : undefined;
  const email = typeof info?.client_email === "string" ? info.client_email : undefined;
  return { ...(keyId ? { keyId } : {}), ...(email ? { email } : {}), ...(info ? { info } : {}) };
}

export interface KeyHealth {
  ok: boolean;
  detail: string;
  /** The command that repairs it: a new key (rotation), or the service account first (provisioning). */
  repair?: "provision-infra" | "rotate-credentials";
}

/** Whether the block's key works: on the service account, enabled, and Google issues a token for it. */
export async function keyHealth(c: GcpContext, data: unknown): Promise<KeyHealth> {
  const key = keyOf(data);
  const rotate = "rotate-credentials" as const;
  if (!key.keyId || !key.email || !key.info) return { ok: false, detail: "the block holds no key", repair: rotate };
  const keys = await (await c.gcp()).findKeys(key.email);
  if (keys === null)
    return { ok: false, detail: `service account ${key.email} does not exist`, repair: "provision-infra" };
  const found = keys.find((k) => keyIdOf(k.name) === key.keyId);
  if (!found)
    return { ok: false, detail: `key ${key.keyId} not found on ${key.email} (deleted in the cloud?)`, repair: rotate };
  if (found.disabled) return { ok: false, detail: `key ${key.keyId} is disabled`, repair: rotate };
  // As the block's own identity: a token for the key.
  const refused = await serviceAccountToken(key.info, c.env).then(
    () => null,
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
  if (refused) return { ok: false, detail: refused, repair: rotate };
  return { ok: true, detail: `key ${key.keyId} exists and enabled on ${key.email}; it authenticates` };
}

/**
 * Mints a new key of `email` into the existing block `blockId` (its other fields kept), through the
 * guard; the new key must authenticate before it stays, else the block gets its old data back and
 * the new key is deleted. Then the block's old key, when the service account still lists it, is
 * deleted. Returns the new key's id and the old one deleted.
 */
export async function replaceKey(
  c: GcpContext,
  block: { id: string; data: Record<string, unknown> },
  note: (m: string) => void,
): Promise<{ newId: string; oldId?: string; email: string }> {
  const old = keyOf(block.data);
  const email = old.email ?? serviceAccountEmail(c);
  const gcp = await c.gcp();
  const spec = keySpec(c, note, email);
  await c.guard.recover(spec, note);
  const [keys, heldElsewhere] = await Promise.all([gcp.listKeys(email), heldKeys(c, block.id)]);
  const oldListed = Boolean(old.keyId) && keys.some((k) => keyIdOf(k.name) === old.keyId);
  if (keys.length >= MAX_KEYS) throw tooManyKeys(c, email);
  // A key another block holds too (the same key file stored twice) is that block's as well: kept.
  const retire = old.keyId && oldListed && !heldElsewhere.has(old.keyId) ? [old.keyId] : [];
  if (old.keyId && heldElsewhere.has(old.keyId)) note(`Kept the old key ${old.keyId}: another Prefect block holds it.`);
  const newId = await c.guard.mintInto(
    spec,
    async (k) => {
      await c.prefect.updateBlockDocument(block.id, {
        ...block.data,
        service_account_info: k.info,
        project: c.project,
      });
      const problem = await keyAccepted(k.info, c.env, { intervalMs: c.retryMs, note });
      if (problem) {
        await c.prefect.updateBlockDocument(block.id, block.data);
        await gcp.deleteKey(keyName(c, email, k.id));
        throw new CloudError(`The new key ${k.id} does not authenticate (${problem}); the block keeps the old key.`);
      }
      return k.id;
    },
    note,
    // The old key is journaled with the mint and deleted once the block holds the new one; a run
    // stopped in between leaves it to the next run for this pool (and `wp status` names it).
    retire,
  );
  const gone = retire[0] && !(await gcp.listKeys(email)).some((k) => keyIdOf(k.name) === retire[0]);
  return { newId, email, ...(gone && retire[0] ? { oldId: retire[0] } : {}) };
}
