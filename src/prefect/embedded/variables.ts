/**
 * Variables (`/variables`), the routes wp uses, as Prefect 3.4.25's `server/api/variables.py` (PrefectHQ/prefect)
 * answers them: create 201 (a taken name is an IntegrityError, answered 409 as for every model), read, update and
 * delete by name (404 "Variable not found."; update and delete 204). wp keeps the holder of a lock here.
 */
import { crypto } from "../../builtin.js";
import { CONFLICT } from "./concurrency.js";
import { now, type Store } from "./store.js";
import { detail, type Json, noContent, ok, type Result } from "./validate.js";

interface VariableRow {
  id: string;
  name: string;
  value: string;
  tags: string;
  created: string;
  updated: string;
}

const NOT_FOUND = "Variable not found.";

const toResponse = (r: VariableRow): Json => ({
  id: r.id,
  created: r.created,
  updated: r.updated,
  name: r.name,
  value: JSON.parse(r.value),
  tags: JSON.parse(r.tags),
});

const byName = (store: Store, name: string) =>
  store.db.prepare("SELECT * FROM variable WHERE name = ?").get(name) as VariableRow | undefined;

export function createVariable(store: Store, body: Json): Result {
  return store.write(() => {
    if (byName(store, String(body.name))) return detail(409, CONFLICT);
    const t = now();
    const row: VariableRow = {
      id: crypto().randomUUID(),
      name: String(body.name),
      value: JSON.stringify(body.value ?? null),
      tags: JSON.stringify(body.tags ?? []),
      created: t,
      updated: t,
    };
    store.db
      .prepare(
        "INSERT INTO variable (id, name, value, tags, created, updated) VALUES (@id, @name, @value, @tags, @created, @updated)",
      )
      .run(row);
    return ok(toResponse(row), 201);
  });
}

export function readVariable(store: Store, name: string): Result {
  const row = byName(store, name);
  return row ? ok(toResponse(row)) : detail(404, NOT_FOUND);
}

export function updateVariable(store: Store, name: string, body: Json): Result {
  return store.write(() => {
    const row = byName(store, name);
    if (!row) return detail(404, NOT_FOUND);
    if (typeof body.name === "string" && body.name !== name && byName(store, body.name)) return detail(409, CONFLICT);
    const next: VariableRow = {
      ...row,
      ...(typeof body.name === "string" ? { name: body.name } : {}),
      ...("value" in body ? { value: JSON.stringify(body.value ?? null) } : {}),
      ...(Array.isArray(body.tags) ? { tags: JSON.stringify(body.tags) } : {}),
      updated: now(),
    };
    store.db
      .prepare("UPDATE variable SET name = @name, value = @value, tags = @tags, updated = @updated WHERE id = @id")
      .run(next);
    return noContent();
  });
}

export function deleteVariable(store: Store, name: string): Result {
  return store.write(() => {
    const row = byName(store, name);
    if (!row) return detail(404, NOT_FOUND);
    store.db.prepare("DELETE FROM variable WHERE id = ?").run(row.id);
    return noContent();
  });
}
