/**
 * The provisioning record: what wp created or adopted for a work pool, kept in Prefect next to the
 * pool (a block document of wp's own block type `wp-provisioning-record`), so a teammate's machine
 * or a CI job sees the same inventory. Written after every provisioning run's apply (also a failed
 * one: what was created is recorded, so `wp deprovision` can remove it), read by `wp status`,
 * `wp deprovision` and `wp rotate-credentials`.
 *
 * Why a block document rather than a key in the pool's base_job_template: Prefect's template
 * validation would accept an extra top-level key, but the template is replaced whole by
 * `prefect work-pool update --base-job-template` and by the UI's template editor, and it is deleted
 * with the pool; a record must survive both, and a re-run of a teardown after the pool is gone.
 */
import { createHash } from "node:crypto";
import type { PrefectApi } from "../prefect/api.js";
import { registerBlockType } from "../prefect/block-catalog.js";
import { blockKind, createBlock } from "../prefect/blocks.js";
import type { BlockDocument } from "../prefect/types.js";
import { RECORD_BLOCK_TYPE } from "../prefect/wp-blocks.js";
import type { StepOutcome } from "./engine.js";

export { RECORD_BLOCK_TYPE };

export interface RecordResource {
  /** The provisioning step, e.g. "aws.iam-user". */
  step: string;
  /** Resource kind, e.g. "IAM user". */
  kind: string;
  name: string;
  /** id/ARN. */
  id?: string;
  /** true: wp created it for this pool (or took it over from a pool deprovisioned before); false: adopted. */
  created: boolean;
}

export interface ProvisioningRecord {
  work_pool: string;
  pool_type: string;
  provider: string;
  /** Account/project and region the resources live in. */
  context: Record<string, string>;
  /** The resource names the pool was provisioned with (the provider's name keys): later commands use these. */
  names: Record<string, string>;
  resources: RecordResource[];
  updated: string;
}

/** Steps that are not resources of the pool: the block type (shared by everything), the pool itself, local Docker config. */
const NOT_RECORDED = (step: string) =>
  step === "prefect.block-type" || step === "prefect.work-pool" || step.startsWith("docker.");

/** Outputs worth keeping (ids and names only; outputs never hold secrets, but only these are written). */
const CONTEXT_KEYS = ["accountId", "region", "project", "vpcId", "clusterName", "executionRoleArn", "repositoryUri"];

export interface RunToRecord {
  pool: string;
  type: string;
  provider: string;
  outcomes: StepOutcome[];
  outputs: Map<string, unknown>;
  /** The names the run used. */
  names?: Record<string, string>;
  /** Further output keys to keep in the context (the provider's recorded settings). */
  contextKeys?: string[];
}

/** The record's block name: a valid block name derived from the pool, with a hash when the pool name had to change. */
export function recordName(pool: string): string {
  const base = pool
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 200);
  const hash = base === pool ? "" : `-${createHash("sha256").update(pool).digest("hex").slice(0, 8)}`;
  return `wp-record-${base || "pool"}${hash}`;
}

function parse(doc: BlockDocument): ProvisioningRecord | null {
  const d = (doc.data ?? {}) as Partial<ProvisioningRecord>;
  if (typeof d.work_pool !== "string" || !Array.isArray(d.resources)) return null;
  return {
    work_pool: d.work_pool,
    pool_type: typeof d.pool_type === "string" ? d.pool_type : "",
    provider: typeof d.provider === "string" ? d.provider : "",
    context: typeof d.context === "object" && d.context !== null ? d.context : {},
    names: stringsOf(d.names),
    resources: d.resources.filter((r): r is RecordResource => typeof r?.step === "string"),
    updated: typeof d.updated === "string" ? d.updated : "",
  };
}

function stringsOf(v: unknown): Record<string, string> {
  if (typeof v !== "object" || v === null) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string"));
}

export interface StoredRecord {
  id: string;
  record: ProvisioningRecord;
}

/** This pool's record, or null (none written, or wp's block type is not registered on this server). */
export async function readRecord(api: PrefectApi, pool: string): Promise<StoredRecord | null> {
  if (!(await api.readBlockType(RECORD_BLOCK_TYPE))) return null;
  const doc = await api.readBlockDocument(RECORD_BLOCK_TYPE, recordName(pool));
  const record = doc ? parse(doc) : null;
  return doc && record && record.work_pool === pool ? { id: doc.id, record } : null;
}

/** Every pool's record on this Prefect API. */
export async function listRecords(api: PrefectApi): Promise<StoredRecord[]> {
  if (!(await api.readBlockType(RECORD_BLOCK_TYPE))) return [];
  const docs = await api.listBlockDocuments(RECORD_BLOCK_TYPE);
  return docs.flatMap((d) => {
    const record = parse(d);
    return record ? [{ id: d.id, record }] : [];
  });
}

/** Merges a run's outcomes into the previous record: created stays created; new resources come in as created or adopted. */
export function mergeRecord(previous: ProvisioningRecord | null, o: RunToRecord): ProvisioningRecord {
  const byStep = new Map((previous?.resources ?? []).map((r) => [r.step, r]));
  for (const out of o.outcomes) {
    if (NOT_RECORDED(out.id) || out.status === "failed" || out.status === "skipped") continue;
    const before = byStep.get(out.id);
    byStep.set(out.id, {
      step: out.id,
      kind: out.resource,
      name: out.name,
      ...(out.resourceId ? { id: out.resourceId } : before?.id ? { id: before.id } : {}),
      created: out.status === "created" || (before?.created === true && before.id === (out.resourceId ?? before.id)),
    });
  }
  const context: Record<string, string> = { ...(previous?.context ?? {}) };
  for (const k of new Set([...CONTEXT_KEYS, ...(o.contextKeys ?? [])])) {
    const v = o.outputs.get(k);
    if (typeof v === "string" && v) context[k] = v;
  }
  return {
    work_pool: o.pool,
    pool_type: o.type,
    provider: o.provider,
    context,
    names: { ...(previous?.names ?? {}), ...o.names },
    resources: [...byStep.values()],
    updated: new Date().toISOString(),
  };
}

/** Writes (creates or replaces) the pool's record, registering wp's block type when the server lacks it. */
export async function writeRecord(api: PrefectApi, record: ProvisioningRecord, existingId?: string): Promise<string> {
  const data = record as unknown as Record<string, unknown>;
  if (existingId) {
    await api.updateBlockDocument(existingId, data);
    return existingId;
  }
  if (!(await api.readBlockType(RECORD_BLOCK_TYPE))) await registerBlockType(api, RECORD_BLOCK_TYPE);
  const kind = await blockKind(api, RECORD_BLOCK_TYPE);
  return (await createBlock(api, kind, recordName(record.work_pool), data)).id;
}

/** Records a provisioning run: merged with the previous record; nothing is written when nothing was recorded. */
export async function recordRun(api: PrefectApi, o: RunToRecord): Promise<ProvisioningRecord | null> {
  const previous = await readRecord(api, o.pool);
  const record = mergeRecord(previous?.record ?? null, o);
  if (record.resources.length === 0) return null;
  await writeRecord(api, record, previous?.id);
  return record;
}
