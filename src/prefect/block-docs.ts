/**
 * The block documents `wp block` manages: the credentials types push pools use and the storage types `storage
 * configure` writes, addressed as Prefect addresses them (`type/name`), and which pools reference a document.
 */
import { UsageError, WpError } from "../errors.js";
import { pyRepr } from "../ui/io.js";
import type { PrefectApi } from "./api.js";
import { registerBlockType } from "./block-catalog.js";
import { type BlockKind, blockKind } from "./blocks.js";
import { blockIdsIn } from "./job-variables.js";
import type { BlockDocument, WorkPool } from "./types.js";

export const CREDENTIAL_TYPES = [
  "aws-credentials",
  "azure-container-instance-credentials",
  "gcp-credentials",
  "modal-credentials",
  "coiled-credentials",
] as const;
export const STORAGE_TYPES = [
  "s3-bucket",
  "gcs-bucket",
  "azure-blob-storage-container",
  "azure-blob-storage-credentials",
] as const;
export const BLOCK_TYPES: readonly string[] = [...CREDENTIAL_TYPES, ...STORAGE_TYPES];

/** A block type wp manages, or a UsageError listing them. */
export function checkBlockType(type: string | undefined): string {
  const t = (type ?? "").trim();
  if (!BLOCK_TYPES.includes(t)) {
    throw new UsageError(`wp does not manage block type ${pyRepr(t)}.`, `Choose from ${BLOCK_TYPES.join(", ")}.`);
  }
  return t;
}

/** Prefect's block document names: lowercase letters, digits and dashes. */
export function checkBlockName(name: string | undefined, flag = "block name"): string {
  const n = name ?? "";
  if (!/^[a-z0-9-]+$/.test(n) || n.length > 255) {
    throw new UsageError(
      `${flag} ${pyRepr(n)} is not valid: it may contain only lowercase letters, digits and dashes.`,
      "Pass a name such as my-aws-keys.",
    );
  }
  return n;
}

/** `type/name` (Prefect's block slug) → [type, name]. */
export function parseSlug(slug: string | undefined): [string, string] {
  const s = slug ?? "";
  const i = s.indexOf("/");
  if (i <= 0 || i === s.length - 1) {
    throw new UsageError(`${pyRepr(s)} is not a block slug.`, "Pass TYPE/NAME, e.g. aws-credentials/my-keys.");
  }
  return [checkBlockType(s.slice(0, i)), s.slice(i + 1)];
}

/** The block type (registered from wp's bundled copy when the server lacks it) and its newest schema. */
export async function ensureBlockKind(api: PrefectApi, slug: string): Promise<BlockKind> {
  if (!(await api.readBlockType(slug))) await registerBlockType(api, slug);
  return blockKind(api, slug);
}

export interface BlockRow {
  slug: string;
  type: string;
  name: string;
  id: string;
  document: BlockDocument;
}

/** Every named document of the managed types (secrets obfuscated by the server), by type then name. */
export async function listManagedBlocks(api: PrefectApi): Promise<BlockRow[]> {
  const rows: BlockRow[] = [];
  for (const type of BLOCK_TYPES) {
    if (!(await api.readBlockType(type))) continue;
    for (const d of await api.listBlockDocuments(type)) {
      if (d.is_anonymous || !d.name) continue;
      rows.push({ slug: `${type}/${d.name}`, type, name: d.name, id: d.id, document: d });
    }
  }
  return rows.sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
}

/** A named document, or a WpError (exit 1, as Prefect's "not found") naming how to list them. */
export async function requireBlock(api: PrefectApi, type: string, name: string): Promise<BlockDocument> {
  const doc = (await api.readBlockType(type)) ? await api.readBlockDocument(type, name) : null;
  if (!doc) throw new WpError(`Block ${pyRepr(`${type}/${name}`)} not found.`, "Run `wp block ls` to list blocks.");
  return doc;
}

/** The pools whose base job template references the document, or whose storage uses it as the result store. */
export async function poolsUsingBlock(api: PrefectApi, id: string): Promise<WorkPool[]> {
  const pools = await api.listWorkPools();
  return pools.filter(
    (p) => blockIdsIn(p.base_job_template).has(id) || p.storage_configuration?.default_result_storage_block_id === id,
  );
}
