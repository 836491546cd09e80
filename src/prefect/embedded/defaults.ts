/**
 * Prefect's `validate_job_variable_defaults_for_work_pool` (run on create only): the variables schema must be a valid
 * JSON Schema (422), block references in defaults must exist (404 "Block not found."), and the defaults (each
 * referenced block's data in its place) must validate against the variables schema after Prefect's
 * `preprocess_schema` (optional fields accept null, block definitions accept a `$ref`) with `required` removed from
 * nested objects. The first error jsonschema's `best_match` picks is the message.
 */

import { bestMatch, iterErrors, jsonPath, pyRepr, schemaError } from "./jsonschema.js";
import { obfuscate } from "./secrets.js";
import type { Db } from "./store.js";
import { detail, isObject, isUuid, type Json, type Result } from "./validate.js";

/** Prefect's `_fix_null_typing` (and `_fix_tuple_items`) over a `properties` map, recursing as Prefect does. */
function processProperties(properties: Json, requiredFields: unknown, allowNoneWithDefault: boolean): void {
  let required = Array.isArray(requiredFields) ? requiredFields : [];
  for (const [key, schema] of Object.entries(properties)) {
    if (!isObject(schema)) continue;
    if (
      !required.includes(key) &&
      "type" in schema &&
      schema.type !== "null" &&
      (!("default" in schema) || allowNoneWithDefault)
    ) {
      schema.anyOf = [{ type: schema.type }, { type: "null" }];
      delete schema.type;
    }
    if (Array.isArray(schema.items) && schema.items.length > 0 && !schema.prefixItems) {
      schema.prefixItems = structuredClone(schema.items);
      delete schema.items;
    }
    if (isObject(schema.properties)) {
      // Prefect rebinds the loop's required list here, so later siblings see this object's `required`.
      required = Array.isArray(schema.required) ? schema.required : [];
      processProperties(schema.properties, required, false);
    }
  }
}

/** Prefect's `preprocess_schema(schema, allow_none_with_default=True)`. */
export function preprocessSchema(input: Json): Json {
  const schema = structuredClone(input);
  if (isObject(schema.properties)) processProperties(schema.properties, schema.required, true);
  const definitions = schema.definitions;
  if (isObject(definitions)) {
    for (const definition of Object.values(definitions)) {
      if (!isObject(definition)) continue;
      if (isObject(definition.properties)) processProperties(definition.properties, definition.required, true);
      if ("block_type_slug" in definition) {
        definitions[String(definition.title)] = {
          oneOf: [
            definition,
            { type: "object", properties: { $ref: { type: "string", format: "uuid" } }, required: ["$ref"] },
          ],
        };
      }
    }
  }
  return schema;
}

/** Prefect's `remove_nested_keys`: drops the keys through nested objects only (lists are left as they are). */
export function removeNestedKeys(keys: string[], v: unknown): unknown {
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k]) => !keys.includes(k))
      .map(([k, x]) => [k, removeNestedKeys(keys, x)]),
  );
}

/** Prefect's `validate(obj, schema, raise_on_error=True, preprocess=True, ignore_required=True)` message, or null. */
export function defaultsError(values: Json, variables: Json): string | null {
  const schema = removeNestedKeys(["required"], preprocessSchema(variables)) as Json;
  const best = bestMatch(iterErrors(values, schema, schema));
  if (!best) return null;
  const path = jsonPath(best);
  const where = path === "$" ? "Validation failed." : `Validation failed for field ${pyRepr(path.replace("$.", ""))}.`;
  return `${where} Failure reason: ${best.message}`;
}

interface DocRow {
  id: string;
  data: Buffer;
  fields: string;
}

/** Null when the template's variable defaults are acceptable, else Prefect's error result (404 or 422). */
export function checkVariableDefaults(
  db: Db,
  template: Json,
  open: (blob: Buffer, id: string) => unknown,
): Result | null {
  const variables = template.variables;
  if (Object.keys(template).length === 0 || !isObject(variables) || Object.keys(variables).length === 0) return null;
  const invalidSchema = schemaError(variables);
  if (invalidSchema) return detail(422, `Invalid schema: ${invalidSchema}`);
  const props = isObject(variables.properties) ? variables.properties : {};
  const read = db.prepare(
    `SELECT d.id, d.data, s.fields FROM block_document d JOIN block_schema s ON s.id = d.block_schema_id
      WHERE d.id = ?`,
  );
  const values: Json = {};
  for (const [name, prop] of Object.entries(props)) {
    if (!isObject(prop) || !("default" in prop)) continue;
    let value = prop.default;
    const ref = isObject(value) ? value.$ref : undefined;
    if (isObject(ref) && ref.block_document_id !== undefined && ref.block_document_id !== null) {
      const id = ref.block_document_id;
      const hex = isUuid(id) ? id.replaceAll("-", "").toLowerCase() : "";
      const canonical =
        hex && [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
      const row = canonical ? (read.get(canonical) as DocRow | undefined) : undefined;
      if (!row) return detail(404, "Block not found.");
      // Prefect validates the block document as read without secrets.
      const data = open(row.data, row.id);
      const fields = JSON.parse(row.fields) as Json;
      value = obfuscate(isObject(data) ? data : {}, fields.secret_fields);
    }
    values[name] = value;
  }
  const err = defaultsError(values, variables);
  return err ? detail(422, `Validation failed for work pool's job variable defaults: ${err}`) : null;
}
