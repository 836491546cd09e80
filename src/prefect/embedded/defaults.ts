/**
 * Prefect's `validate_job_variable_defaults_for_work_pool` (run on create only): block references in variable
 * defaults must exist, and each default (a referenced block's data in its place) must match its variable's `type`.
 * Only the top-level `type` keyword is checked (Prefect runs a full JSON Schema validation, ignoring `required`).
 */
import type { Db } from "./store.js";
import { detail, isObject, isUuid, type Json, type Result } from "./validate.js";

/** Python's repr of a JSON value, as jsonschema's messages show it. */
function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") {
    const quote = v.includes("'") && !v.includes('"') ? '"' : "'";
    const body = v.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll("\t", "\\t");
    return quote + (quote === "'" ? body.replaceAll("'", "\\'") : body) + quote;
  }
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (isObject(v))
    return `{${Object.entries(v)
      .map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`)
      .join(", ")}}`;
  return String(v);
}

function hasType(v: unknown, type: string): boolean {
  switch (type) {
    case "string":
      return typeof v === "string";
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "number":
      return typeof v === "number";
    case "boolean":
      return typeof v === "boolean";
    case "null":
      return v === null;
    case "array":
      return Array.isArray(v);
    case "object":
      return isObject(v);
    default:
      return true;
  }
}

/** The error for a value that does not match `schema.type`, or null. */
function typeError(value: unknown, schema: Json): string | null {
  const t = schema.type;
  const types =
    typeof t === "string" ? [t] : Array.isArray(t) ? t.filter((x): x is string => typeof x === "string") : [];
  if (types.length === 0 || types.some((x) => hasType(value, x))) return null;
  const shown = types.length === 1 ? pyRepr(types[0]) : pyRepr(types);
  return `${pyRepr(value)} is not of type ${shown}`;
}

/** Null when the template's variable defaults are acceptable, else Prefect's error result (404 or 422). */
export function checkVariableDefaults(
  db: Db,
  template: Json,
  open: (blob: Buffer, id: string) => unknown,
): Result | null {
  const variables = template.variables;
  const props = isObject(variables) && isObject(variables.properties) ? variables.properties : {};
  const read = db.prepare("SELECT id, data FROM block_document WHERE id = ?");
  for (const prop of Object.values(props)) {
    if (!isObject(prop) || !("default" in prop)) continue;
    let value = prop.default;
    const ref = isObject(value) ? value.$ref : undefined;
    if (isObject(ref) && "block_document_id" in ref) {
      const id = ref.block_document_id;
      const row = isUuid(id) ? (read.get(id) as { id: string; data: Buffer } | undefined) : undefined;
      if (!row) return detail(404, "Block not found.");
      value = open(row.data, row.id);
    }
    // Prefect preprocesses the schema so optional variables accept null.
    const err = value === null ? null : typeError(value, prop);
    if (err) return detail(422, `Validation failed for work pool's job variable defaults: ${err}`);
  }
  return null;
}
