/**
 * The app registration's client secrets as the credentials block holds them. A block holds the secret's
 * text, not its keyId, and Graph keeps only the text's first three characters (`hint`): the block's
 * secret is the app's secret with that hint. Other blocks that hold a secret of the same app (read with
 * their secrets) are never robbed of theirs; one wp cannot read counts as holding every secret.
 * Minting always goes through the engine's CredentialGuard (critical section, journal of the keyId,
 * delete again on a failed block write, orphan recovery).
 */
import type { CredentialSpec } from "../../engine/credential.js";
import { waitUntil } from "../../engine/wait.js";
import { CloudError, UsageError } from "../../errors.js";
import type { PrefectApi } from "../../prefect/api.js";
import { type AciContext, BLOCK_TYPE, MAX_SECRETS } from "./context.js";
import type { GraphApp, PasswordCredential } from "./graph.js";
import { type Env, secretSignsIn } from "./sdk.js";

/** A secret within this many days of its end date is drift: re-mint it. */
export const EXPIRY_WARNING_DAYS = 30;
const DAY = 86_400_000;

/** A client secret this new may not sign in yet: Entra ID replicates new credentials for a few minutes. */
export const NEW_SECRET_MS = 10 * 60_000;

/**
 * Whether a client secret signs in (null) or why not; a secret made within NEW_SECRET_MS that is refused is
 * waited for (a progress line says so) until it signs in or its window passes. `made`: its startDateTime.
 */
export async function signsInOnceReplicated(
  env: Env,
  creds: { tenantId: string; clientId: string; clientSecret: string },
  made: string | undefined,
  o: { note(m: string): void; intervalMs?: number | undefined },
): Promise<string | null> {
  const first = await secretSignsIn(env, creds);
  const age = made ? Date.now() - Date.parse(made) : Number.NaN;
  if (!first || !(age < NEW_SECRET_MS)) return first;
  let last: string = first;
  try {
    return await waitUntil<null>({
      what: `the new client secret of ${creds.clientId} to sign in`,
      why: "Entra ID takes a few minutes to accept a new client secret everywhere",
      timeoutMs: NEW_SECRET_MS - age,
      intervalMs: o.intervalMs ?? 500,
      note: o.note,
      attempt: async () => {
        const r = await secretSignsIn(env, creds);
        if (r) last = r;
        return r ? { done: false, reason: r } : { done: true, value: null };
      },
    });
  } catch {
    return last;
  }
}

export interface ClientSecret {
  id: string;
  secretText: string;
}

export const hintOf = (secret: unknown) =>
  typeof secret === "string" && secret.length >= 3 && !/^\*+$/.test(secret) ? secret.slice(0, 3) : null;

/** The app's secrets the block's secret text matches (by hint). */
export const secretsOfBlock = (creds: PasswordCredential[], secret: unknown) => {
  const hint = hintOf(secret);
  return hint ? creds.filter((c) => c.hint === hint) : [];
};

/** Hints of the secrets blocks other than `except` hold for `appId` (null: one cannot be read, so all are held). */
export async function hintsHeldElsewhere(api: PrefectApi, appId: string, except: string): Promise<Set<string> | null> {
  const out = new Set<string>();
  for (const d of await api.listBlockDocuments(BLOCK_TYPE)) {
    if (d.name === except || d.data?.client_id !== appId) continue;
    const full = d.name ? await api.readBlockDocument(BLOCK_TYPE, d.name, true) : null;
    const hint = hintOf(full?.data?.client_secret);
    if (hint === null) return null;
    out.add(hint);
  }
  return out;
}

/** The display name wp gives the client secrets it makes for `pool`. */
export const secretDisplayName = (pool: string) => `wp: Prefect work pool ${pool}`;

/**
 * Client secrets wp made for this pool that no block holds: what a rotation interrupted while deleting the old
 * secret (or a lost answer to a mint) leaves. None when a block's secret cannot be read (it may hold any).
 */
export async function leftoverSecrets(e: AciContext, app: GraphApp): Promise<PasswordCredential[]> {
  const mine = app.passwordCredentials.filter((c) => c.displayName === secretDisplayName(e.pool));
  if (!mine.length) return [];
  const held = await hintsHeldElsewhere(e.prefect, app.appId, "");
  return held ? mine.filter((c) => !held.has(c.hint)) : [];
}

export function secretSpec(
  e: AciContext,
  tenantId: string,
  app: { id: string; appId: string },
): CredentialSpec<ClientSecret> {
  const graph = async () => (await e.azure()).graph;
  return {
    scope: `azure:${tenantId}:app/${app.appId}`,
    noun: "client secret",
    owner: `app registration ${e.names.app} (${app.appId})`,
    async mint() {
      const g = await graph();
      const displayName = secretDisplayName(e.pool);
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
      const creds = (await (await graph()).getApp(app.id))?.passwordCredentials ?? [];
      const held = new Set<string>();
      for (const d of (await e.prefect.listBlockDocuments(BLOCK_TYPE)).filter((x) => x.data?.client_id === app.appId)) {
        const full = d.name ? await e.prefect.readBlockDocument(BLOCK_TYPE, d.name, true) : null;
        const hint = hintOf(full?.data?.client_secret);
        for (const c of creds) if (hint === null || c.hint === hint) held.add(c.keyId);
      }
      return held;
    },
  };
}

export interface BlockHealth {
  /** What is wrong (the block needs a new secret), or undefined. */
  problem?: string;
  repair?: "provision-infra" | "rotate-credentials";
  /** When healthy: what was checked. */
  ok?: string;
  /** The app's secrets the block holds now. */
  old: PasswordCredential[];
}

const str = (d: Record<string, unknown>, k: string) => (typeof d[k] === "string" && d[k] ? (d[k] as string) : "");

/** The block's secret: on the current app (by hint), signs in as the app, not expiring within 30 days. */
export async function blockHealth(e: AciContext, data: Record<string, unknown>, app: GraphApp | null) {
  const [clientId, tenantId, secret] = [str(data, "client_id"), str(data, "tenant_id"), str(data, "client_secret")];
  const h = (problem: string, repair: BlockHealth["repair"] = "provision-infra", old: PasswordCredential[] = []) =>
    ({ problem, repair, old }) as BlockHealth;
  if (!clientId || !tenantId || !secret) return h("the block lacks client_id, tenant_id or client_secret");
  if (!app) return h(`app registration ${e.names.app} does not exist (a new one needs a new secret)`);
  if (clientId !== app.appId) return h(`the block's client_id ${clientId} is not app registration ${app.appId}`);
  const mine = secretsOfBlock(app.passwordCredentials, secret);
  if (!mine.length)
    return h(
      `the block's secret is not on app registration ${e.names.app} (deleted in the cloud?)`,
      "rotate-credentials",
    );
  const made = mine
    .map((c) => c.startDateTime ?? "")
    .sort()
    .pop();
  const refused = await signsInOnceReplicated(e.docker.env, { tenantId, clientId, clientSecret: secret }, made, {
    note: e.retry.note ?? (() => {}),
    intervalMs: e.retry.baseMs,
  });
  if (refused) return h(`does not sign in: ${refused}`, "rotate-credentials", mine);
  const ends = mine
    .map((c) => (c.endDateTime ? Date.parse(c.endDateTime) : Number.NaN))
    .filter((t) => Number.isFinite(t))
    .sort((x, y) => x - y)[0];
  const endText = ends !== undefined ? new Date(ends).toISOString().slice(0, 10) : undefined;
  if (ends !== undefined && ends - Date.now() < EXPIRY_WARNING_DAYS * DAY)
    return h(
      `${ends < Date.now() ? "expired" : "expires"} ${endText} (within ${EXPIRY_WARNING_DAYS} days)`,
      "rotate-credentials",
      mine,
    );
  return { ok: `signs in as ${clientId}${endText ? `; expires ${endText}` : ""}`, old: mine } as BlockHealth;
}

/** Refused when the app holds MAX_SECRETS secrets besides the block's (a new one would exceed the limit). */
export function checkRoom(app: GraphApp, old: PasswordCredential[]): void {
  const others = app.passwordCredentials.filter((c) => !old.includes(c));
  if (others.length >= MAX_SECRETS)
    throw new UsageError(
      `App registration ${app.displayName} (${app.appId}) holds ${others.length} client secrets besides the block's ` +
        `(${others.map((c) => c.keyId).join(", ")}); wp keeps at most ${MAX_SECRETS} besides the one it replaces.`,
      `Delete an unused secret (az ad app credential delete --id ${app.appId} --key-id …) and run again.`,
    );
}

/**
 * A new secret on `app` into the existing block (client_id and tenant_id set to the app's), checked by
 * signing in (the block is restored and the secret deleted when it does not); then the block's old
 * secrets on the app are deleted unless another block holds one with the same hint.
 */
export async function reMint(
  e: AciContext,
  o: { blockId: string; data: Record<string, unknown>; app: GraphApp; tenantId: string; note(m: string): void },
): Promise<{ newId: string; removed: string[] }> {
  const { app, tenantId, blockId, data } = o;
  const { graph } = await e.azure();
  const old = secretsOfBlock(app.passwordCredentials, data.client_secret);
  // This pool's secrets no block holds (an interrupted rotation's) go with the old one; they never block it.
  const left = (await leftoverSecrets(e, app)).filter((c) => !old.includes(c));
  checkRoom(app, [...old, ...left]);
  const spec = secretSpec(e, tenantId, app);
  await e.guard.recover(spec, o.note);
  const held = await hintsHeldElsewhere(e.prefect, app.appId, e.names.block);
  const hint = hintOf(data.client_secret);
  const retire = [...(held && hint && !held.has(hint) ? old : []), ...left].map((c) => c.keyId);
  // `retire`: journaled with the mint, deleted by the guard once the block holds the new secret, and by the next
  // run after an interruption. The loop below finds them gone (it only makes sure, and names them).
  const newId = await e.guard.mintInto(
    spec,
    async (n) => {
      if (!n.secretText) throw new CloudError("Microsoft Graph returned no secret text.", "NoSecretText");
      const next = { ...data, client_id: app.appId, tenant_id: tenantId, client_secret: n.secretText };
      await e.prefect.updateBlockDocument(blockId, next);
      // Entra ID can take a while to accept a new secret: rotation waits until it works (bounded).
      const problem = await signsInOnceReplicated(
        e.docker.env,
        { tenantId, clientId: app.appId, clientSecret: n.secretText },
        new Date().toISOString(),
        { note: o.note, intervalMs: e.retry.baseMs },
      );
      if (problem) {
        await e.prefect.updateBlockDocument(blockId, data);
        await graph.removePassword(app.id, n.id);
        throw new CloudError(
          `The new client secret ${n.id} does not sign in (${problem}); the block keeps the old one.`,
        );
      }
      return n.id;
    },
    o.note,
    retire,
  );
  const removable = retire.filter((id) => id !== newId);
  for (const id of removable) await graph.removePassword(app.id, id);
  return { newId, removed: removable };
}
