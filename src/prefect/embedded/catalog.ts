/** Block type and block schema routes of the embedded API, and the inserts the bundled registration reuses. */
import { crypto } from "../../builtin.js";
import { blockSchemaChecksum, stringifyLossless } from "../checksum.js";
import type { Checks } from "./model.js";
import { type Db, now, type Store } from "./store.js";
import { detail, isObject, type Json, matches, ok, type Result } from "./validate.js";

export interface BlockTypeRow {
  id: string;
  name: string;
  slug: string;
  logo_url: string | null;
  documentation_url: string | null;
  description: string | null;
  code_example: string | null;
  is_protected: number;
  created: string;
  updated: string;
}

export interface SchemaRow {
  id: string;
  checksum: string;
  version: string;
  fields: string;
  capabilities: string;
  block_type_id: string;
  created: string;
  updated: string;
}

export function toBlockType(row: BlockTypeRow): Json {
  const { is_protected, ...rest } = row;
  return { ...rest, is_protected: is_protected === 1 };
}

export function typeById(db: Db, id: string): BlockTypeRow | undefined {
  return db.prepare("SELECT * FROM block_type WHERE id = ?").get(id) as BlockTypeRow | undefined;
}

export function typeBySlug(db: Db, slug: string): BlockTypeRow | undefined {
  return db.prepare("SELECT * FROM block_type WHERE slug = ?").get(slug) as BlockTypeRow | undefined;
}

export function schemaById(db: Db, id: string): SchemaRow | undefined {
  return db.prepare("SELECT * FROM block_schema WHERE id = ?").get(id) as SchemaRow | undefined;
}

export function toBlockSchema(db: Db, row: SchemaRow): Json {
  const type = typeById(db, row.block_type_id);
  return {
    id: row.id,
    created: row.created,
    updated: row.updated,
    checksum: row.checksum,
    fields: JSON.parse(row.fields),
    block_type_id: row.block_type_id,
    block_type: type ? toBlockType(type) : null,
    capabilities: JSON.parse(row.capabilities),
    version: row.version,
  };
}

/** Inserts a block type (inside the caller's transaction) and returns its row. */
export function insertType(db: Db, t: Json, isProtected = false): BlockTypeRow {
  const ts = now();
  const row: BlockTypeRow = {
    id: crypto().randomUUID(),
    name: String(t.name),
    slug: String(t.slug),
    logo_url: typeof t.logo_url === "string" ? t.logo_url : null,
    documentation_url: typeof t.documentation_url === "string" ? t.documentation_url : null,
    description: typeof t.description === "string" ? t.description : null,
    code_example: typeof t.code_example === "string" ? t.code_example : null,
    is_protected: isProtected ? 1 : 0,
    created: ts,
    updated: ts,
  };
  db.prepare(
    `INSERT INTO block_type (id, name, slug, logo_url, documentation_url, description, code_example, is_protected,
      created, updated) VALUES (@id, @name, @slug, @logo_url, @documentation_url, @description, @code_example,
      @is_protected, @created, @updated)`,
  ).run(row);
  return row;
}

/** Inserts a block schema with an already computed checksum (inside the caller's transaction). */
export function insertSchema(
  db: Db,
  s: { fields: Json; checksum: string; version: string; capabilities: string[]; blockTypeId: string },
): SchemaRow {
  const ts = now();
  const row: SchemaRow = {
    id: crypto().randomUUID(),
    checksum: s.checksum,
    version: s.version,
    fields: stringifyLossless(s.fields),
    capabilities: JSON.stringify(s.capabilities),
    block_type_id: s.blockTypeId,
    created: ts,
    updated: ts,
  };
  db.prepare(
    `INSERT INTO block_schema (id, checksum, version, fields, capabilities, block_type_id, created, updated)
      VALUES (@id, @checksum, @version, @fields, @capabilities, @block_type_id, @created, @updated)`,
  ).run(row);
  return row;
}

export function schemaByChecksum(db: Db, checksum: string, version?: string): SchemaRow | undefined {
  const sql = "SELECT * FROM block_schema WHERE checksum = ? ORDER BY created DESC, rowid DESC LIMIT 1";
  if (version === undefined) return db.prepare(sql).get(checksum) as SchemaRow | undefined;
  const versioned = sql.replace("checksum = ?", "checksum = ? AND version = ?");
  return db.prepare(versioned).get(checksum, version) as SchemaRow | undefined;
}

export function readTypeBySlug(store: Store, slug: string): Result {
  const row = typeBySlug(store.db, slug);
  return row ? ok(toBlockType(row)) : detail(404, "Block type not found");
}

/** A schema row's value for a `BlockSchemaFilter` field. */
function schemaField(r: SchemaRow, field: string): unknown {
  if (field === "block_type_id" || field === "id" || field === "version") return r[field];
  return field === "block_capabilities" ? JSON.parse(r.capabilities) : undefined;
}

const allSchemas = (db: Db): SchemaRow[] =>
  db.prepare("SELECT * FROM block_schema ORDER BY created DESC, rowid DESC").all() as SchemaRow[];

/**
 * `POST /block_types/filter`. The genuine 3.4.25 server listed its 57 types in slug order
 * (fixtures/prefect-3.4.25-answers.json, "block types filter {} (slugs)"): "minio-credentials" before
 * "ms-teams-webhook" (named "Microsoft Teams Webhook"), which no ordering by name gives.
 */
export function filterTypes(store: Store, b: Json, limit: number): Result {
  const offset = typeof b.offset === "number" ? b.offset : 0;
  const withSchema = isObject(b.block_schemas)
    ? new Set(
        allSchemas(store.db)
          .filter((r) => matches(b.block_schemas, (f) => schemaField(r, f)))
          .map((r) => r.block_type_id),
      )
    : null;
  const rows = (store.db.prepare("SELECT * FROM block_type ORDER BY slug").all() as BlockTypeRow[]).filter(
    (r) =>
      matches(b.block_types, (f) => (f === "name" || f === "slug" ? r[f] : undefined)) &&
      (withSchema === null || withSchema.has(r.id)),
  );
  return ok(rows.slice(offset, offset + limit).map(toBlockType));
}

/** Prefect's `validate_block_type_slug` on `BlockTypeCreate.slug`. */
export const checks: Checks = {
  BlockTypeCreate: {
    fields: {
      slug: (v) =>
        /^[a-z0-9-]*$/.test(String(v))
          ? null
          : "Block type slug must only contain lowercase letters, numbers, and dashes.",
    },
  },
};

export function createType(store: Store, b: Json): Result {
  if (String(b.name).toLowerCase().startsWith("prefect")) {
    return detail(403, "Block type names beginning with 'Prefect' are reserved.");
  }
  return store.write(() => {
    if (typeBySlug(store.db, String(b.slug))) {
      return detail(409, `Block type with name "${String(b.name)}" already exists`);
    }
    return ok(toBlockType(insertType(store.db, b)), 201);
  });
}

export function filterSchemas(store: Store, b: Json, limit: number): Result {
  const offset = typeof b.offset === "number" ? b.offset : 0;
  const rows = allSchemas(store.db).filter((r) => matches(b.block_schemas, (f) => schemaField(r, f)));
  return ok(rows.slice(offset, offset + limit).map((r) => toBlockSchema(store.db, r)));
}

export function readSchemaByChecksum(store: Store, checksum: string, version: string | undefined): Result {
  const row = schemaByChecksum(store.db, checksum, version);
  return row ? ok(toBlockSchema(store.db, row)) : detail(404, "Block schema not found");
}

/** Slugs of the nested block types a schema references (`block_schema_references`). */
export function referencedSlugs(fields: Json): string[] {
  const refs = fields.block_schema_references;
  if (!isObject(refs)) return [];
  return Object.values(refs)
    .flatMap((r) => (Array.isArray(r) ? r : [r]))
    .map((r) => (isObject(r) ? r.block_type_slug : undefined))
    .filter((s): s is string => typeof s === "string");
}

export function createSchema(store: Store, b: Json): Result {
  const fields = isObject(b.fields) ? b.fields : {};
  const version = typeof b.version === "string" ? b.version : "non-versioned";
  const capabilities = Array.isArray(b.capabilities) ? b.capabilities.map(String) : [];
  const blockTypeId = String(b.block_type_id);
  return store.write(() => {
    const db = store.db;
    if (!typeById(db, blockTypeId)) return detail(404, `Block type ${blockTypeId} not found.`);
    const checksum = blockSchemaChecksum(fields);
    const existing = schemaByChecksum(db, checksum, version);
    if (existing) return ok(toBlockSchema(db, existing), 200);
    const missing = referencedSlugs(fields).find((slug) => !typeBySlug(db, slug));
    if (missing !== undefined) {
      return detail(
        409,
        `Cannot create block schema because block type '${missing}' was not found.Did you forget to register the block type?`,
      );
    }
    return ok(toBlockSchema(db, insertSchema(db, { fields, checksum, version, capabilities, blockTypeId })), 201);
  });
}
