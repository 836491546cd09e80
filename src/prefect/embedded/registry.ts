/**
 * Registers the bundled block catalog the first time a store is opened, and again whenever the bundled files change
 * (a newer wp), in the order a Prefect server registers at start (`run_block_auto_registration`): the block types
 * Prefect defines in its own code, its protected system blocks first (data/prefect-own-block-types.json: the genuine
 * 3.4.25 server's answers), then `collection_blocks_data.json`, plus wp's own credential types missing from both
 * (data/block-types.json: Modal, Coiled). Existing types and schemas are left as they are. One transaction; the files are read and parsed only when their size or modification time differs from the
 * ones stored (a start with nothing new costs two `stat`s), and the checksums stored upstream are used as they are
 * (test/embedded/checksum.test.ts recomputes every one).
 */
import { readFileSync, statSync } from "node:fs";
import { bundledBlockTypes } from "../block-catalog.js";
import { insertSchema, insertType, schemaByChecksum, typeBySlug } from "./catalog.js";
import type { Store } from "./store.js";
import { isObject, type Json } from "./validate.js";

const META_KEY = "bundled_block_catalog";
const COLLECTION = new URL("../../../data/collection_blocks_data.json", import.meta.url);
const WP_TYPES = new URL("../../../data/block-types.json", import.meta.url);
const PREFECT_OWN = new URL("../../../data/prefect-own-block-types.json", import.meta.url);

interface CatalogEntry {
  slug: string;
  is_protected?: boolean;
  block_schema: { checksum: string; fields: Json; capabilities: string[]; version: string };
}

/**
 * Prefect's own block types with their schemas, the protected ones first (`_install_protected_system_blocks`, then
 * `_register_registry_blocks` in Prefect's `server/models/block_registration.py`).
 */
function prefectOwnBlockTypes(): CatalogEntry[] {
  // Plain JSON.parse: the file holds no float literal (test/embedded/prefect-own.test.ts compares every schema's
  // fields, parsed keeping floats, with what the API answers), and the lossless parser costs ~20 ms at first start.
  const own = JSON.parse(readFileSync(PREFECT_OWN, "utf8")) as {
    block_types: (Json & { slug: string; is_protected: boolean })[];
    block_schemas: (CatalogEntry["block_schema"] & { block_type_slug: string })[];
  };
  const entries: CatalogEntry[] = [];
  for (const t of own.block_types) {
    const schema = own.block_schemas.find((s) => s.block_type_slug === t.slug);
    if (!schema) continue;
    const { checksum, fields, capabilities, version } = schema;
    entries.push({ ...t, block_schema: { checksum, fields, capabilities, version } });
  }
  return [...entries.filter((e) => e.is_protected), ...entries.filter((e) => !e.is_protected)];
}

let collectionText: string | undefined;
const collectionBlocksText = (): string => {
  collectionText ??= readFileSync(COLLECTION, "utf8");
  return collectionText;
};

/** Every bundled block type with its schema: Prefect's own, its collections in file order, then wp's extra types. */
export function bundledCatalog(): CatalogEntry[] {
  const parsed = JSON.parse(collectionBlocksText()) as { collections?: Record<string, { block_types?: Json }> };
  const entries: CatalogEntry[] = prefectOwnBlockTypes();
  for (const collection of Object.values(parsed.collections ?? {})) {
    for (const t of Object.values(collection.block_types ?? {}))
      if (isObject(t)) entries.push(t as unknown as CatalogEntry);
  }
  const slugs = new Set(entries.map((e) => e.slug));
  for (const t of bundledBlockTypes()) if (!slugs.has(t.slug)) entries.push(t as unknown as CatalogEntry);
  return entries;
}

export function registerBundledBlockTypes(store: Store): void {
  const { db } = store;
  const meta = db.prepare("SELECT value FROM meta WHERE key = ?");
  const digest = [PREFECT_OWN, COLLECTION, WP_TYPES]
    .map((file) => {
      const st = statSync(file);
      return `${st.size}:${st.mtimeMs}`;
    })
    .join(" ");
  if ((meta.get(META_KEY) as { value: string } | undefined)?.value === digest) return;
  store.write(() => {
    if ((meta.get(META_KEY) as { value: string } | undefined)?.value === digest) return;
    for (const t of bundledCatalog()) {
      const type = typeBySlug(db, t.slug) ?? insertType(db, t as unknown as Json, t.is_protected === true);
      const s = t.block_schema;
      if (schemaByChecksum(db, s.checksum, s.version)) continue;
      insertSchema(db, {
        fields: s.fields,
        checksum: s.checksum,
        version: s.version,
        capabilities: s.capabilities,
        blockTypeId: type.id,
      });
    }
    db.prepare(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ).run(META_KEY, digest);
  });
}
