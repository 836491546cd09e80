/**
 * Registers the bundled block types and schemas (data/block-types.json) the first time a store is opened, and again
 * whenever that file changes (a newer wp); existing types and schemas are left as they are.
 */
import { createHash } from "node:crypto";
import { bundledBlockTypes, bundledBlockTypesText } from "../block-catalog.js";
import { blockSchemaChecksum } from "../checksum.js";
import { insertSchema, insertType, schemaByChecksum, typeBySlug } from "./catalog.js";
import type { Store } from "./store.js";
import type { Json } from "./validate.js";

const META_KEY = "bundled_block_types_sha256";

export function registerBundledBlockTypes(store: Store): void {
  const { db } = store;
  const meta = db.prepare("SELECT value FROM meta WHERE key = ?");
  const digest = createHash("sha256").update(bundledBlockTypesText()).digest("hex");
  if ((meta.get(META_KEY) as { value: string } | undefined)?.value === digest) return;
  store.write(() => {
    if ((meta.get(META_KEY) as { value: string } | undefined)?.value === digest) return;
    for (const t of bundledBlockTypes()) {
      const type = typeBySlug(db, t.slug) ?? insertType(db, t as unknown as Json);
      const s = t.block_schema;
      const checksum = blockSchemaChecksum(s.fields);
      if (schemaByChecksum(db, checksum, s.version)) continue;
      insertSchema(db, {
        fields: s.fields,
        checksum,
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
