/** Block document routes of the embedded API. `data` is stored AES-256-GCM encrypted (see store.ts). */
import { randomUUID } from "node:crypto";
import { schemaById, toBlockSchema, toBlockType, typeById, typeBySlug } from "./catalog.js";
import { mergeData, obfuscate } from "./secrets.js";
import { now, type Store } from "./store.js";
import {
  anyOf,
  Checker,
  detail,
  invalid,
  isObject,
  isUuid,
  type Json,
  noContent,
  ok,
  paging,
  type Result,
} from "./validate.js";

interface DocRow {
  id: string;
  name: string;
  data: Buffer;
  block_schema_id: string;
  block_type_id: string;
  is_anonymous: number;
  created: string;
  updated: string;
}

const NAME = /^[^/%&><]+$/;
const DOC_NAME = /^[a-z0-9-]*$/;
const NOT_FOUND = "Block document not found";

function toResponse(store: Store, row: DocRow, includeSecrets: boolean): Json {
  const schema = schemaById(store.db, row.block_schema_id);
  const type = typeById(store.db, row.block_type_id);
  const data = store.open(row.data, row.id);
  const plain = isObject(data) ? data : {};
  const fields = schema ? (JSON.parse(schema.fields) as Json) : {};
  return {
    id: row.id,
    created: row.created,
    updated: row.updated,
    name: row.name,
    data: includeSecrets ? plain : obfuscate(plain, fields.secret_fields),
    block_schema_id: row.block_schema_id,
    block_schema: schema ? toBlockSchema(store.db, schema) : null,
    block_type_id: row.block_type_id,
    block_type_name: type ? type.name : null,
    block_type: type ? toBlockType(type) : null,
    block_document_references: {},
    is_anonymous: row.is_anonymous === 1,
  };
}

function rowById(store: Store, id: string): DocRow | undefined {
  return store.db.prepare("SELECT * FROM block_document WHERE id = ?").get(id) as DocRow | undefined;
}

const badId = (id: string): Result =>
  invalid(null, [{ loc: ["path", "id"], msg: "Input should be a valid UUID", type: "uuid_parsing", input: id }]);

/** FastAPI's bool query parsing. */
export function queryFlag(value: string | undefined): boolean {
  return value !== undefined && ["true", "1", "yes", "on", "t", "y"].includes(value.toLowerCase());
}

export function createDocument(store: Store, raw: unknown): Result {
  const c = new Checker(raw, ["name", "data", "block_schema_id", "block_type_id", "is_anonymous"]);
  c.str("name", { nullable: true, pattern: NAME });
  c.obj("data");
  c.uuid("block_schema_id", { required: true });
  c.uuid("block_type_id", { required: true });
  c.bool("is_anonymous");
  const b = c.body;
  const anonymous = b.is_anonymous === true;
  if (typeof b.name === "string" && !DOC_NAME.test(b.name)) {
    const msg = "Value error, Block document name must only contain lowercase letters, numbers, and dashes.";
    c.add(["name"], msg, "value_error", b.name);
  } else if (!anonymous && (b.name === undefined || b.name === null)) {
    c.add([], "Value error, Names must be provided for block documents.", "value_error", b);
  }
  const bad = c.result();
  if (bad) return bad;
  const name = typeof b.name === "string" ? b.name : `anonymous-${randomUUID()}`;
  const data = isObject(b.data) ? b.data : {};
  const schemaId = String(b.block_schema_id);
  const typeId = String(b.block_type_id);
  return store.write(() => {
    const db = store.db;
    const schema = schemaById(db, schemaId);
    if (!typeById(db, typeId)) return detail(404, "Block type not found");
    if (!schema || schema.block_type_id !== typeId) return detail(404, "Block schema not found");
    if (db.prepare("SELECT 1 FROM block_document WHERE block_type_id = ? AND name = ?").get(typeId, name)) {
      return detail(409, "Block already exists");
    }
    const ts = now();
    const id = randomUUID();
    db.prepare(
      `INSERT INTO block_document (id, name, data, block_schema_id, block_type_id, is_anonymous, created, updated)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(id, name, store.seal(data, id), schemaId, typeId, anonymous ? 1 : 0, ts, ts);
    const row = rowById(store, id);
    return row ? ok(toResponse(store, row, false), 201) : detail(500, "Block document was not stored.");
  });
}

export function readDocument(store: Store, id: string, includeSecrets: boolean): Result {
  if (!isUuid(id)) return badId(id);
  const row = rowById(store, id);
  return row ? ok(toResponse(store, row, includeSecrets)) : detail(404, NOT_FOUND);
}

export function readDocumentByName(store: Store, slug: string, name: string, includeSecrets: boolean): Result {
  const type = typeBySlug(store.db, slug);
  const row = type
    ? (store.db.prepare("SELECT * FROM block_document WHERE block_type_id = ? AND name = ?").get(type.id, name) as
        | DocRow
        | undefined)
    : undefined;
  return row ? ok(toResponse(store, row, includeSecrets)) : detail(404, NOT_FOUND);
}

export function updateDocument(store: Store, id: string, raw: unknown): Result {
  if (!isUuid(id)) return badId(id);
  const c = new Checker(raw, ["block_schema_id", "data", "merge_existing_data"]);
  c.uuid("block_schema_id", { nullable: true });
  c.obj("data");
  c.bool("merge_existing_data");
  const bad = c.result();
  if (bad) return bad;
  const b = c.body;
  return store.write(() => {
    const row = rowById(store, id);
    if (!row) return detail(404, NOT_FOUND);
    let schemaId = row.block_schema_id;
    if (typeof b.block_schema_id === "string") {
      const schema = schemaById(store.db, b.block_schema_id);
      if (!schema || schema.block_type_id !== row.block_type_id) return detail(404, "Block schema not found");
      schemaId = schema.id;
    }
    let sealed = row.data;
    if (isObject(b.data)) {
      const current = store.open(row.data, row.id);
      const next = mergeData(isObject(current) ? current : {}, b.data, b.merge_existing_data !== false);
      sealed = store.seal(next, row.id);
    }
    store.db
      .prepare("UPDATE block_document SET data = ?, block_schema_id = ?, updated = ? WHERE id = ?")
      .run(sealed, schemaId, now(), id);
    return noContent();
  });
}

export function deleteDocument(store: Store, id: string): Result {
  if (!isUuid(id)) return badId(id);
  return store.write(() => {
    const info = store.db.prepare("DELETE FROM block_document WHERE id = ?").run(id);
    return info.changes > 0 ? noContent() : detail(404, NOT_FOUND);
  });
}

/** `POST /block_documents/filter`: named documents of the given block type slugs (`block_types.slug.any_`), by name. */
export function filterDocuments(store: Store, raw: unknown): Result {
  const c = new Checker(raw ?? {}, [
    "block_documents",
    "block_types",
    "block_schemas",
    "include_secrets",
    "sort",
    "offset",
    "limit",
  ]);
  c.obj("block_documents", { nullable: true });
  c.obj("block_types", { nullable: true });
  c.obj("block_schemas", { nullable: true });
  c.bool("include_secrets");
  c.int("offset", { min: 0 });
  c.int("limit", { min: 0 });
  const bad = c.result();
  if (bad) return bad;
  const b = c.body;
  const slugs = isObject(b.block_types) ? anyOf(b.block_types, "slug") : null;
  const { limit, offset } = paging(b);
  const rows = store.db.prepare("SELECT * FROM block_document WHERE is_anonymous = 0 ORDER BY name").all() as DocRow[];
  const typeIds = slugs ? new Set(slugs.map((s) => typeBySlug(store.db, s)?.id)) : null;
  const picked = rows.filter((r) => !typeIds || typeIds.has(r.block_type_id)).slice(offset, offset + limit);
  return ok(picked.map((r) => toResponse(store, r, b.include_secrets === true)));
}
