/** Work pool routes of the embedded API (Prefect's `api/workers.py` behaviour for create/read/update/delete). */
import { crypto } from "../../builtin.js";
import { baseJobTemplateError } from "../template.js";
import { checkVariableDefaults } from "./defaults.js";
import type { Checks } from "./model.js";
import { type Db, now, type Store } from "./store.js";
import { detail, isObject, type Json, matches, noContent, ok, type Result } from "./validate.js";

interface PoolRow {
  id: string;
  name: string;
  description: string | null;
  type: string;
  base_job_template: string;
  is_paused: number;
  concurrency_limit: number | null;
  status: string | null;
  default_queue_id: string | null;
  storage_configuration: string;
  created: string;
  updated: string;
}

const STORAGE_KEYS = ["bundle_upload_step", "bundle_execution_step", "default_result_storage_block_id"] as const;
const RESERVED = "Work pools starting with 'Prefect' are reserved for internal use";

const isReserved = (name: string): boolean => name.toLowerCase().startsWith("prefect");
/**
 * The type a pool created without one gets (`WorkPoolCreate.type`'s default). Prefect's `models/workers.py` gives a
 * pool of this legacy type no status: `null` on create, and pausing or resuming leaves it so.
 */
const AGENT_TYPE = "prefect-agent";
const notFound = (name: string): Result => detail(404, `Work pool "${name}" not found.`);

function toResponse(row: PoolRow): Json {
  return {
    id: row.id,
    created: row.created,
    updated: row.updated,
    name: row.name,
    description: row.description,
    type: row.type,
    base_job_template: JSON.parse(row.base_job_template),
    is_paused: row.is_paused === 1,
    concurrency_limit: row.concurrency_limit,
    status: row.status,
    default_queue_id: row.default_queue_id,
    storage_configuration: JSON.parse(row.storage_configuration),
  };
}

function readRow(db: Db, name: string): PoolRow | undefined {
  return db.prepare("SELECT * FROM work_pool WHERE name = ?").get(name) as PoolRow | undefined;
}

const templateCheck = (v: unknown): string | null => baseJobTemplateError(v);

/** Prefect's validators on the work pool models: `NonEmptyishName` and `validate_base_job_template`. */
export const checks: Checks = {
  WorkPoolCreate: {
    // Prefect's `non_emptyish` runs before the pattern (and answers 500 for a non-string; wp then reports the type).
    fieldsBefore: {
      name: (v) =>
        typeof v === "string" && v.replace(/^['" ]+|['" ]+$/g, "") === "" ? "name cannot be an empty string" : null,
    },
    fields: { base_job_template: templateCheck },
  },
  // Prefect answers 500 to `"base_job_template": null` (its validator fails on None); wp answers 422.
  WorkPoolUpdate: { fields: { base_job_template: templateCheck } },
};

function storageJson(storage: unknown): string {
  const s = isObject(storage) ? storage : {};
  return JSON.stringify(Object.fromEntries(STORAGE_KEYS.map((k) => [k, s[k] ?? null])));
}

export function createPool(store: Store, b: Json): Result {
  const name = String(b.name);
  if (isReserved(name)) return detail(403, `${RESERVED}.`);
  const template = isObject(b.base_job_template) ? b.base_job_template : {};
  return store.write(() => {
    const db = store.db;
    const badDefaults = checkVariableDefaults(db, template, store.open);
    if (badDefaults) return badDefaults;
    if (readRow(db, name)) return detail(409, "A work pool with this name already exists.");
    const ts = now();
    const id = crypto().randomUUID();
    const queueId = crypto().randomUUID();
    const paused = b.is_paused === true;
    const type = typeof b.type === "string" ? b.type : AGENT_TYPE;
    db.prepare(
      `INSERT INTO work_pool (id, name, description, type, base_job_template, is_paused, concurrency_limit, status,
        default_queue_id, storage_configuration, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id,
      name,
      typeof b.description === "string" ? b.description : null,
      type,
      JSON.stringify(template),
      paused ? 1 : 0,
      typeof b.concurrency_limit === "number" ? b.concurrency_limit : null,
      type === AGENT_TYPE ? null : paused ? "PAUSED" : "NOT_READY",
      queueId,
      storageJson(b.storage_configuration),
      ts,
      ts,
    );
    db.prepare(
      `INSERT INTO work_queue (id, work_pool_id, name, description, priority, is_paused, concurrency_limit, created,
        updated) VALUES (?, ?, 'default', 'The work pool''s default queue.', 1, 0, NULL, ?, ?)`,
    ).run(queueId, id, ts, ts);
    const row = readRow(db, name);
    return row ? ok(toResponse(row), 201) : detail(500, "Work pool was not stored.");
  });
}

export function readPool(store: Store, name: string): Result {
  const row = readRow(store.db, name);
  return row ? ok(toResponse(row)) : notFound(name);
}

export function updatePool(store: Store, name: string, b: Json): Result {
  if (isReserved(name) && Object.keys(b).some((k) => k !== "is_paused" && k !== "concurrency_limit")) {
    return detail(403, `${RESERVED} and can only be updated to set concurrency limits or pause.`);
  }
  return store.write(() => {
    const row = readRow(store.db, name);
    if (!row) return notFound(name);
    const next: PoolRow = { ...row, updated: now() };
    if (Object.hasOwn(b, "description")) next.description = typeof b.description === "string" ? b.description : null;
    if (typeof b.is_paused === "boolean") {
      next.is_paused = b.is_paused ? 1 : 0;
      if (row.type !== AGENT_TYPE) next.status = b.is_paused ? "PAUSED" : "NOT_READY";
    }
    if (isObject(b.base_job_template)) next.base_job_template = JSON.stringify(b.base_job_template);
    if (Object.hasOwn(b, "concurrency_limit")) {
      next.concurrency_limit = typeof b.concurrency_limit === "number" ? b.concurrency_limit : null;
    }
    if (isObject(b.storage_configuration)) next.storage_configuration = storageJson(b.storage_configuration);
    store.db
      .prepare(
        `UPDATE work_pool SET description = @description, is_paused = @is_paused, status = @status,
          base_job_template = @base_job_template, concurrency_limit = @concurrency_limit,
          storage_configuration = @storage_configuration, updated = @updated WHERE id = @id`,
      )
      .run(next);
    return noContent();
  });
}

export function deletePool(store: Store, name: string): Result {
  if (isReserved(name)) return detail(403, `${RESERVED} and can not be deleted.`);
  return store.write(() => {
    const info = store.db.prepare("DELETE FROM work_pool WHERE name = ?").run(name);
    return info.changes > 0 ? noContent() : notFound(name);
  });
}

export function filterPools(store: Store, b: Json, limit: number): Result {
  const offset = typeof b.offset === "number" ? b.offset : 0;
  // The filter reads three short columns; only the page's rows are read whole (a template is kilobytes, and
  // a client paging through 200 pools would otherwise read every template once per page).
  const keys = store.db.prepare("SELECT id, name, type FROM work_pool ORDER BY name").all() as PoolRow[];
  const page = keys
    .filter((r) => matches(b.work_pools, (f) => (f === "id" || f === "name" || f === "type" ? r[f] : undefined)))
    .slice(offset, offset + limit);
  if (page.length === 0) return ok([]);
  const rows = store.db
    .prepare(`SELECT * FROM work_pool WHERE id IN (${page.map(() => "?").join(",")}) ORDER BY name`)
    .all(...page.map((r) => r.id)) as PoolRow[];
  return ok(rows.map(toResponse));
}

export function scheduledRuns(store: Store, name: string): Result {
  return readRow(store.db, name) ? ok([]) : notFound(name);
}
