/**
 * The pool's life after provisioning, provider-independent types: status items, teardown items,
 * rotation results, and what a provider's lifecycle gets and answers (rotation, lock scopes, what
 * an interrupted verify left). Status and teardown are walks over the provider's resources (resource.ts).
 */

import { ApiError } from "../errors.js";
import type { PrefectApi } from "../prefect/api.js";
import type { Env } from "../prefect/settings.js";
import type { BlockDocument, WorkPool } from "../prefect/types.js";
import type { CredentialGuard } from "./credential.js";
import type { StoredRecord } from "./record.js";
import type { Provisioner } from "./types.js";
import type { Leftover, VerifyJournal } from "./verify-journal.js";

/** ok: exists and matches; drift: exists but does not match what the pool needs; missing: gone. */
export type Health = "ok" | "drift" | "missing" | "not checked";

export interface StatusItem {
  resource: string;
  name: string;
  id?: string;
  state: Health;
  /** What is wrong, or what was checked. */
  detail?: string;
  /** The command or action that fixes it. */
  fix?: string;
}

export interface TeardownItem {
  /** Step id of the resource (as in the record), e.g. "aws.iam-user". */
  step: string;
  resource: string;
  name: string;
  id?: string;
  /** delete: wp deletes it; keep: left in place (reason says why); gone: already deleted. */
  action: "delete" | "keep" | "gone";
  reason?: string;
  /** Pools that still use a kept resource wp created: it is handed over to their records. */
  usedBy?: string[];
  /** Performs the deletion (idempotent: "already gone" is success). */
  run?: () => Promise<void>;
}

export interface RotateResult {
  block: string;
  /** The credential now in the block (an id, never a secret). */
  newId: string;
  /** The credential deleted, when there was one. */
  oldId?: string;
  /** How the new credential was checked. */
  checked: string;
}

/** What the generic layer hands to a provider's lifecycle. */
export interface LifecycleInput {
  pool: WorkPool;
  api: PrefectApi;
  /** This pool's record, when one was written. */
  record: StoredRecord | null;
  /** Every other pool on the API, and their records (to keep what they still use). */
  otherPools: WorkPool[];
  otherRecords: StoredRecord[];
  /** The template variable that references the credentials block. */
  blockVariable: string;
  /** The credentials block the template references (null: missing or not referenced). */
  block: BlockDocument | null;
  /** The block is the user's own (`--credentials-block`) and wp made nothing for the pool: fixes are the user's. */
  ownCredentials: boolean;
  flags: Record<string, unknown>;
  env: Env;
  guard: CredentialGuard;
  note(message: string): void;
  /** The names the pool's resources have (record, else template, else defaults). */
  names: Record<string, string>;
  /** The pool's resources, built with those names and the record's settings (read mode). */
  provisioner: Provisioner;
  /** Verify's temporary resources: journaled before they are created (verify-journal.ts). */
  journal: VerifyJournal;
}

export interface Lifecycle {
  /** The credentials block type and the template variable that references it. */
  blockType: string;
  /** Account/region lines for the report (read-only). */
  target(): Promise<string>;
  lockScopes(): Promise<string[]>;
  /** What cannot be known without a record, said plainly (empty when a record exists). */
  unknowns(): string[];
  rotate(): Promise<RotateResult>;
  /**
   * Finishes or undoes what an interrupted mint or rotation of the block's credential left (the credential
   * guard's `recover`, with the spec rotation uses): a new credential no block holds, an old one the block no
   * longer holds. Rotation and provisioning do it first; `wp verify` through this.
   */
  finishCredentials?(): Promise<void>;
  /** Deletes a temporary resource an interrupted `wp verify` left (idempotent: already gone is success). */
  removeLeftover?(leftover: Leftover): Promise<void>;
}

/** A template variable's default. */
export function templateDefault(pool: WorkPool, name: string): unknown {
  const vars = (pool.base_job_template as { variables?: { properties?: Record<string, { default?: unknown }> } })
    ?.variables;
  return vars?.properties?.[name]?.default;
}

/** The block document id a template variable references (`{"$ref": {"block_document_id": …}}`). */
export function blockRefOf(pool: WorkPool, variable: string): string | undefined {
  const v = templateDefault(pool, variable) as { $ref?: { block_document_id?: unknown } } | undefined;
  const id = v?.$ref?.block_document_id;
  return typeof id === "string" && id ? id : undefined;
}

export const stringDefault = (pool: WorkPool, name: string): string | undefined => {
  const v = templateDefault(pool, name);
  return typeof v === "string" && v ? v : undefined;
};

/**
 * What a teardown does with one resource: `gone` when it no longer exists; `keep` when wp did not create
 * it (adopted), another pool still uses it, or `keep` gives a reason; else `delete` with `run`.
 */
export function decideTeardown(
  base: Omit<TeardownItem, "action">,
  exists: boolean,
  created: boolean,
  users: string[],
  run: () => Promise<void>,
  keep?: string,
): TeardownItem {
  if (!exists) return { ...base, action: "gone" };
  if (!created) return { ...base, action: "keep", reason: "adopted: wp did not create it" };
  if (users.length) {
    return { ...base, action: "keep", reason: `still used by ${users.map((u) => `'${u}'`).join(", ")}`, usedBy: users };
  }
  if (keep) return { ...base, action: "keep", reason: keep };
  return { ...base, action: "delete", run };
}

/** A deletion's "already gone" (Prefect answered 404) is success; anything else is thrown. */
export function ignoreNotFound(err: unknown): void {
  if (err instanceof ApiError && err.status === 404) return;
  throw err;
}
