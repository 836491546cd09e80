/** Block document routes of the embedded API. `data` is stored AES-256-GCM encrypted (see store.ts). */
import { crypto } from "../../builtin.js";
import { schemaById, toBlockSchema, toBlockType, typeById, typeBySlug } from "./catalog.js";
import type { Checks } from "./model.js";
import { mergeData, obfuscate } from "./secrets.js";
import { now, type Store } from "./store.js";
import { detail, isObject, type Json, matches, noContent, ok, type Result } from "./validate.js";

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

const DOC_NAME = /^[a-z0-9-]*$/;
const NOT_FOUND = "Block document not found";

/**
 * The id of a block reference, `{"$ref": {"block_document_id": ID}}`, as a top-level value of a document's data
 * (Prefect's `_separate_block_references_from_data` looks only there).
 */
function refId(v: unknown): string | undefined {
  const id = isObject(v) && isObject(v.$ref) ? v.$ref.block_document_id : undefined;
  return typeof id === "string" ? id : undefined;
}

const refIds = (data: Json): string[] => Object.values(data).flatMap((v) => refId(v) ?? []);

/**
 * A document as Prefect's `read_block_documents` answers it: its own data, masked by its own schema's secret fields
 * unless `includeSecrets`, then each referenced document's full data in place of its `$ref`, masked by that
 * document's schema, and listed in `block_document_references` (`_construct_full_block_document`). A reference to a
 * deleted document is gone, as Prefect's reference rows are deleted with the document they point to.
 */
function toResponse(store: Store, row: DocRow, includeSecrets: boolean, seen: ReadonlySet<string> = new Set()): Json {
  const schema = schemaById(store.db, row.block_schema_id);
  const type = typeById(store.db, row.block_type_id);
  const stored = store.open(row.data, row.id);
  const own: Json = {};
  const refs: [string, string][] = [];
  for (const [k, v] of Object.entries(isObject(stored) ? stored : {})) {
    const id = refId(v);
    if (id === undefined) own[k] = v;
    else refs.push([k, id]);
  }
  const fields = schema ? (JSON.parse(schema.fields) as Json) : {};
  const data = includeSecrets ? own : obfuscate(own, fields.secret_fields);
  const references: Json = {};
  const path = new Set([...seen, row.id]);
  for (const [key, id] of refs) {
    const child = path.has(id) ? undefined : rowById(store, id);
    if (!child) continue;
    const full = toResponse(store, child, includeSecrets, path);
    data[key] = full.data;
    const { name, block_type, is_anonymous, block_document_references } = full;
    references[key] = { block_document: { id: full.id, name, block_type, is_anonymous, block_document_references } };
  }
  return {
    id: row.id,
    created: row.created,
    updated: row.updated,
    name: row.name,
    data,
    block_schema_id: row.block_schema_id,
    block_schema: schema ? toBlockSchema(store.db, schema) : null,
    block_type_id: row.block_type_id,
    block_type_name: type ? type.name : null,
    block_type: type ? toBlockType(type) : null,
    block_document_references: references,
    is_anonymous: row.is_anonymous === 1,
  };
}

/** Whether every document `data` references exists (Prefect's reference rows are foreign keys). */
const refsExist = (store: Store, data: Json): boolean => refIds(data).every((id) => rowById(store, id) !== undefined);

function rowById(store: Store, id: string): DocRow | undefined {
  return store.db.prepare("SELECT * FROM block_document WHERE id = ?").get(id) as DocRow | undefined;
}

/** Prefect's validators on `BlockDocumentCreate`: a name unless anonymous (before the fields), its format after. */
export const checks: Checks = {
  BlockDocumentCreate: {
    before: (raw) =>
      pyTruthy(raw.is_anonymous) || pyTruthy(raw.name) ? null : "Names must be provided for block documents.",
    fields: {
      name: (v) =>
        v === null || DOC_NAME.test(String(v))
          ? null
          : "Block document name must only contain lowercase letters, numbers, and dashes.",
    },
  },
};

/** Python truthiness of a JSON value. */
function pyTruthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  return isObject(v) ? Object.keys(v).length > 0 : true;
}

const INTEGRITY =
  "Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.";

export function createDocument(store: Store, b: Json): Result {
  const anonymous = b.is_anonymous === true;
  const name = typeof b.name === "string" ? b.name : `anonymous-${crypto().randomUUID()}`;
  const data = isObject(b.data) ? b.data : {};
  const schemaId = String(b.block_schema_id);
  const typeId = String(b.block_type_id);
  return store.write(() => {
    const db = store.db;
    const schema = schemaById(db, schemaId);
    // Prefect relies on the foreign keys: a missing type or schema is its integrity conflict.
    if (!typeById(db, typeId) || !schema) return detail(409, INTEGRITY);
    if (schema.block_type_id !== typeId) return detail(404, "Block schema not found");
    if (db.prepare("SELECT 1 FROM block_document WHERE block_type_id = ? AND name = ?").get(typeId, name)) {
      return detail(409, "Block already exists");
    }
    if (!refsExist(store, data)) return detail(409, INTEGRITY);
    const ts = now();
    const id = crypto().randomUUID();
    db.prepare(
      `INSERT INTO block_document (id, name, data, block_schema_id, block_type_id, is_anonymous, created, updated)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(id, name, store.seal(data, id), schemaId, typeId, anonymous ? 1 : 0, ts, ts);
    const row = rowById(store, id);
    return row ? ok(toResponse(store, row, false), 201) : detail(500, "Block document was not stored.");
  });
}

export function readDocument(store: Store, id: string, includeSecrets: boolean): Result {
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

export function updateDocument(store: Store, id: string, b: Json): Result {
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
      if (!refsExist(store, next)) return detail(409, INTEGRITY);
      sealed = store.seal(next, row.id);
    }
    store.db
      .prepare("UPDATE block_document SET data = ?, block_schema_id = ?, updated = ? WHERE id = ?")
      .run(sealed, schemaId, now(), id);
    return noContent();
  });
}

export function deleteDocument(store: Store, id: string): Result {
  return store.write(() => {
    const info = store.db.prepare("DELETE FROM block_document WHERE id = ?").run(id);
    return info.changes > 0 ? noContent() : detail(404, NOT_FOUND);
  });
}

/** `POST /block_documents/filter`: named documents, by name, filtered by block type (`block_types`). */
export function filterDocuments(store: Store, b: Json, limit: number): Result {
  const offset = typeof b.offset === "number" ? b.offset : 0;
  const rows = (
    store.db.prepare("SELECT * FROM block_document WHERE is_anonymous = 0 ORDER BY name").all() as DocRow[]
  ).filter((r) => {
    const type = typeById(store.db, r.block_type_id);
    return matches(b.block_types, (f) => (f === "name" || f === "slug" ? type?.[f] : undefined));
  });
  return ok(rows.slice(offset, offset + limit).map((r) => toResponse(store, r, b.include_secrets === true)));
}
