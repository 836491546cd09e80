/**
 * The credentials step: a JSON key of the service account, stored in the Prefect block
 * `<pool>-push-pool-credentials` (slug gcp-credentials: `service_account_info` = the key file,
 * `project`). The key is minted only when the block is missing, through the engine's
 * CredentialGuard (critical section, journal, deleted again if the block cannot be written); keys
 * that interrupted runs left without a block are deleted first. Google's limit of 10 keys per
 * service account, and the organisation policy that forbids keys, are refused before anything is
 * created wherever they can be read.
 */

import type { CredentialSpec } from "../../engine/credential.js";
import { credentialStep } from "../../engine/credential-step.js";
import type { Step } from "../../engine/types.js";
import { CloudError, UsageError } from "../../errors.js";
import { BLOCK_TYPE, type GcpContext, MAX_KEYS, retrying, serviceAccountEmail } from "./names.js";
import { GcpError, gcpCode, KEY_CONSTRAINT } from "./sdk.js";

interface SaKey {
  id: string;
  /** The decoded key file (the secret; never logged). */
  info: Record<string, unknown>;
}

const keyId = (name: string | null | undefined) => (name ?? "").split("/").pop() ?? "";

export function orgPolicyError(c: GcpContext): CloudError {
  const email = serviceAccountEmail(c);
  return new CloudError(
    `Your organisation policy ${KEY_CONSTRAINT.replace("constraints/", "")} forbids service-account keys in project ` +
      `${c.project}, so wp cannot create the key that the Prefect block ${c.names.block} would hold.`,
    "ORG_POLICY_KEYS_FORBIDDEN",
    `Alternatives: ask an organisation policy administrator to exempt project ${c.project} from ${KEY_CONSTRAINT}, ` +
      "then run the same command again (finished steps are kept); or create the pool without --provision-infra and " +
      `run a worker on Google Cloud as ${email} (it needs no key); or create the block ${c.names.block} yourself ` +
      "with other credentials and run again.",
  );
}

function tooManyKeys(c: GcpContext): UsageError {
  const email = serviceAccountEmail(c);
  return new UsageError(
    `Service account ${email} already has ${MAX_KEYS} keys (Google's limit), and the Prefect block ` +
      `${c.names.block} that would hold a new one does not exist.`,
    "Delete an unused key (in the console: IAM > Service accounts > Keys), or pass --service-account-name to use " +
      "another service account, then run again.",
  );
}

function isOrgPolicy(err: unknown): boolean {
  return (
    err instanceof GcpError &&
    (err.violations.includes(KEY_CONSTRAINT) || /Key creation is not allowed/i.test(err.message))
  );
}

function keySpec(c: GcpContext, note: (m: string) => void): CredentialSpec<SaKey> {
  const email = serviceAccountEmail(c);
  const keyName = (id: string) => `projects/${c.project}/serviceAccounts/${email}/keys/${id}`;
  return {
    scope: `gcp:${c.project}:service-account/${email}`,
    noun: "service-account key",
    owner: `service account ${email}`,
    async mint() {
      const gcp = await c.gcp();
      // A service account made moments ago may not be visible to keys.create yet.
      const key = await retrying(
        () => gcp.createKey(email),
        (err) => (gcpCode(err) === "NOT_FOUND" ? `Service account ${email} is not visible yet` : null),
        note,
        { delayMs: c.retryMs, attempts: 6 },
      ).catch((err: unknown) => {
        if (isOrgPolicy(err)) throw orgPolicyError(c);
        if (
          gcpCode(err) === "FAILED_PRECONDITION" &&
          err instanceof Error &&
          /maximum|limit|10 keys/i.test(err.message)
        )
          throw tooManyKeys(c);
        throw err;
      });
      if (!key.privateKeyData) throw new CloudError(`Google returned no private key data for ${email}.`);
      const info = JSON.parse(Buffer.from(key.privateKeyData, "base64").toString("utf8")) as Record<string, unknown>;
      const id = typeof info.private_key_id === "string" ? info.private_key_id : keyId(key.name);
      return { id, info };
    },
    async revoke(id) {
      await (await c.gcp()).deleteKey(keyName(id));
    },
    async list() {
      const keys = await (await c.gcp()).listKeys(email);
      return keys.map((k) => ({
        id: keyId(k.name),
        created: k.validAfterTime ? new Date(k.validAfterTime) : undefined,
      }));
    },
    async held() {
      // service_account_info is secret: the list obfuscates it, so each block is read with secrets.
      const docs = await c.prefect.listBlockDocuments(BLOCK_TYPE);
      const ids = new Set<string>();
      for (const d of docs) {
        if (!d.name) continue;
        const full = await c.prefect.readBlockDocument(BLOCK_TYPE, d.name, true);
        const info = (full?.data as { service_account_info?: { private_key_id?: unknown } } | undefined)
          ?.service_account_info;
        if (typeof info?.private_key_id === "string") ids.add(info.private_key_id);
      }
      return ids;
    },
  };
}

/** Keys the service account holds, not counting the orphans of interrupted runs (deleted first). */
async function keyUse(c: GcpContext, note: (m: string) => void): Promise<{ usable: number; orphans: string[] }> {
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
  if (forbidden) throw orgPolicyError(c);
  if (use.usable >= MAX_KEYS) throw tooManyKeys(c);
}

export function credentialsStep(c: GcpContext): Step {
  return credentialStep({
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
    blockData: (key) => ({ service_account_info: key.info, project: c.project }),
  });
}
