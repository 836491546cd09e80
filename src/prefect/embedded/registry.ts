/**
 * Registers the bundled block types and schemas (data/block-types.json) the first time a store is opened, and again
 * whenever that file changes (a newer wp); existing types and schemas are left as they are.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { blockSchemaChecksum, parseLossless } from "../checksum.js";
import { insertSchema, insertType, schemaByChecksum, typeBySlug } from "./catalog.js";
import type { Store } from "./store.js";
import { isObject, type Json } from "./validate.js";

const META_KEY = "bundled_block_types_sha256";

/** One entry of data/block-types.json. */
export interface BundledBlockType extends Json {
  slug: string;
  block_schema: { checksum: string; fields: Json; capabilities: string[]; version: string };
}

/** Reads data/block-types.json keeping float literals (for checksums). Works from src/ and dist/. */
export function readBundledBlockTypes(): { text: string; types: BundledBlockType[] } {
  const text = readFileSync(new URL("../../../data/block-types.json", import.meta.url), "utf8");
  const parsed = parseLossless(text);
  if (!Array.isArray(parsed)) throw new Error("data/block-types.json must hold a list of block types.");
  const types = parsed.filter(
    (t): t is BundledBlockType => isObject(t) && typeof t.slug === "string" && isObject(t.block_schema),
  );
  return { text, types };
}

export function registerBundledBlockTypes(store: Store): void {
  const { db } = store;
  const meta = db.prepare("SELECT value FROM meta WHERE key = ?");
  const { text, types } = readBundledBlockTypes();
  const digest = createHash("sha256").update(text).digest("hex");
  if ((meta.get(META_KEY) as { value: string } | undefined)?.value === digest) return;
  store.write(() => {
    if ((meta.get(META_KEY) as { value: string } | undefined)?.value === digest) return;
    for (const t of types) {
      const type = typeBySlug(db, t.slug) ?? insertType(db, t);
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
