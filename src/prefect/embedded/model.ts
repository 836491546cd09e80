/**
 * Request validation as FastAPI + pydantic v2 (lax mode) perform it, driven by Prefect's OpenAPI component schemas
 * (data/api-schemas.json, extracted from fixtures/openapi-schema.json): required fields, types with pydantic's lax
 * coercions ("5" and true are integers, "yes" is a boolean), extra keys per `additionalProperties`, bounds, patterns
 * and UUIDs, with pydantic's error types and messages. Prefect's own field validators plug in as `Checks`.
 */
import { readData } from "../../data.js";
import { pyRepr } from "./jsonschema.js";
import { boolean, fail, float, integer, type Loc, string } from "./model-scalars.js";
import { type FieldError, isObject, type Json } from "./validate.js";

export interface Operation {
  body?: Json;
  bodyRequired?: boolean;
  query?: Record<string, Json>;
  queryRequired?: string[];
}

interface ApiSchemas {
  operations: Record<string, Operation>;
  schemas: Record<string, Json>;
}

let data: ApiSchemas | undefined;
const api = (): ApiSchemas => {
  data ??= readData<ApiSchemas>("api-schemas.json");
  return data;
};

/** The OpenAPI operation for `METHOD template` (the template as the router spells it), if it has a body or query. */
export const operation = (key: string): Operation | undefined => api().operations[key];

/** A Prefect validator run once a field's type is valid: an error message (pydantic prefixes "Value error, "). */
export type FieldCheck = (value: unknown) => string | null;

export interface ModelChecks {
  fields?: Record<string, FieldCheck>;
  /** `BeforeValidator`s: run on the raw field value before its type is checked. */
  fieldsBefore?: Record<string, FieldCheck>;
  /** A `mode="before"` model validator: runs on the raw object first; its error is the only one reported. */
  before?: (raw: Json) => string | null;
}

/** Checks by model title (the component schema's `title`). */
export type Checks = Record<string, ModelChecks>;

function resolve(s: Json): Json {
  let out = s;
  for (let i = 0; i < 32 && typeof out.$ref === "string"; i++) {
    out = api().schemas[out.$ref.split("/").pop() ?? ""] ?? {};
  }
  return out;
}

function list(s: Json, v: unknown, loc: Loc, out: FieldError[], checks: Checks): unknown[] | undefined {
  if (!Array.isArray(v)) return fail(out, "list_type", loc, "Input should be a valid list", v);
  const before = out.length;
  const items = isObject(s.items) ? s.items : {};
  const value = v.map((x, i) => check(items, x, [...loc, i], out, checks));
  if (out.length > before) return undefined;
  if (typeof s.minItems === "number" && v.length < s.minItems) {
    const w = s.minItems === 1 ? "item" : "items";
    return fail(
      out,
      "too_short",
      loc,
      `List should have at least ${s.minItems} ${w} after validation, not ${v.length}`,
      v,
    );
  }
  if (typeof s.maxItems === "number" && v.length > s.maxItems) {
    const w = s.maxItems === 1 ? "item" : "items";
    return fail(
      out,
      "too_long",
      loc,
      `List should have at most ${s.maxItems} ${w} after validation, not ${v.length}`,
      v,
    );
  }
  return value;
}

function dict(s: Json, v: unknown, loc: Loc, out: FieldError[], checks: Checks): Json | undefined {
  if (!isObject(v)) return fail(out, "dict_type", loc, "Input should be a valid dictionary", v);
  if (!isObject(s.additionalProperties)) return v;
  const values = s.additionalProperties;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, check(values, x, [...loc, k], out, checks)]));
}

const missing = (out: FieldError[], loc: Loc, input: unknown): undefined =>
  fail(out, "missing", loc, "Field required", input);

function model(s: Json, v: unknown, loc: Loc, out: FieldError[], checks: Checks): Json | undefined {
  if (!isObject(v)) {
    return fail(
      out,
      "model_attributes_type",
      loc,
      "Input should be a valid dictionary or object to extract fields from",
      v,
    );
  }
  const own = typeof s.title === "string" ? checks[s.title] : undefined;
  const rejected = own?.before?.(v);
  if (rejected) return fail(out, "value_error", loc, `Value error, ${rejected}`, v);
  const props = isObject(s.properties) ? s.properties : {};
  const required = Array.isArray(s.required) ? s.required : [];
  const result: Json = {};
  for (const [name, ps] of Object.entries(props)) {
    const at = [...loc, name];
    if (!Object.hasOwn(v, name)) {
      if (required.includes(name)) missing(out, at, v);
      continue;
    }
    const early = own?.fieldsBefore?.[name]?.(v[name]);
    if (early) {
      fail(out, "value_error", at, `Value error, ${early}`, v[name]);
      continue;
    }
    const before = out.length;
    const value = check(isObject(ps) ? ps : {}, v[name], at, out, checks);
    if (out.length > before) continue;
    const problem = own?.fields?.[name]?.(value);
    if (problem) fail(out, "value_error", at, `Value error, ${problem}`, value);
    else result[name] = value;
  }
  for (const [name, x] of Object.entries(v)) {
    if (Object.hasOwn(props, name)) continue;
    if (s.additionalProperties === false)
      fail(out, "extra_forbidden", [...loc, name], "Extra inputs are not permitted", x);
    else if (s.additionalProperties === true) result[name] = x;
  }
  return result;
}

function enumeration(s: Json, v: unknown, loc: Loc, out: FieldError[]): unknown {
  const values = s.enum as unknown[];
  if (values.some((x) => x === v)) return v;
  const shown = values.map((x) => pyRepr(x));
  const expected = shown.length > 1 ? `${shown.slice(0, -1).join(", ")} or ${shown.at(-1)}` : (shown[0] ?? "");
  return fail(out, "enum", loc, `Input should be ${expected}`, v);
}

/** Validates `v` against schema `s` at `loc`, appending pydantic errors; returns the coerced value. */
export function check(schema: Json, v: unknown, loc: Loc, out: FieldError[], checks: Checks = {}): unknown {
  const s = resolve(schema);
  if (Array.isArray(s.anyOf)) {
    const members = (s.anyOf as unknown[]).filter(isObject).map(resolve);
    const nullable = members.some((m) => m.type === "null");
    if (v === null && nullable) return null;
    const rest = members.filter((m) => m.type !== "null");
    const [only] = rest;
    if (rest.length === 1 && only) return check(only, v, loc, out, checks);
    let first: FieldError[] | undefined;
    for (const m of rest) {
      const errs: FieldError[] = [];
      const value = check(m, v, loc, errs, checks);
      if (errs.length === 0) return value;
      first ??= errs;
    }
    out.push(...(first ?? []));
    return undefined;
  }
  if (Array.isArray(s.enum)) return enumeration(s, v, loc, out);
  switch (s.type) {
    case "object":
      return isObject(s.properties) ? model(s, v, loc, out, checks) : dict(s, v, loc, out, checks);
    case "array":
      return list(s, v, loc, out, checks);
    case "string":
      return string(s, v, loc, out);
    case "integer":
      return integer(s, v, loc, out);
    case "number":
      return float(s, v, loc, out);
    case "boolean":
      return boolean(v, loc, out);
    case "null":
      return v === null ? null : fail(out, "none_required", loc, "Input should be None", v);
    default:
      return v;
  }
}

/** FastAPI's embedded body (a `Body_*` schema): a missing body or a null field takes the default, extras are ignored. */
const isEmbedded = (s: Json): boolean => typeof s.title === "string" && s.title.startsWith("Body_");

export interface Validated {
  body: Json;
  errors: FieldError[];
}

/**
 * Validates a request body as FastAPI does. `skip` names embedded fields validated elsewhere (dependencies such as
 * Prefect's `LimitBody`, whose errors FastAPI reports first).
 */
export function validateBody(op: Operation, raw: unknown, checks: Checks, skip: string[] = []): Validated {
  const errors: FieldError[] = [];
  const schema = op.body ? resolve(op.body) : undefined;
  if (!schema) return { body: {}, errors };
  if (isEmbedded(schema)) {
    const props = isObject(schema.properties) ? schema.properties : {};
    const required = Array.isArray(schema.required) ? schema.required : [];
    const body: Json = {};
    for (const [name, ps] of Object.entries(props)) {
      if (skip.includes(name)) continue;
      const loc = ["body", name];
      if (raw !== undefined && raw !== null && !isObject(raw)) {
        missing(errors, loc, null);
        continue;
      }
      const value = isObject(raw) ? raw[name] : undefined;
      if (value === undefined || value === null) {
        if (required.includes(name)) missing(errors, loc, null);
        continue;
      }
      const before = errors.length;
      const coerced = check(isObject(ps) ? ps : {}, value, loc, errors, checks);
      if (errors.length === before) body[name] = coerced;
    }
    return { body, errors };
  }
  if (raw === undefined || raw === null) {
    if (op.bodyRequired) missing(errors, ["body"], null);
    return { body: {}, errors };
  }
  const body = check(schema, raw, ["body"], errors, checks);
  return { body: isObject(body) ? body : {}, errors };
}

/** Whether the body has Prefect's `LimitBody` dependency (documented as defaulting to the server's default limit). */
export function usesLimitBody(op: Operation): boolean {
  const schema = op.body ? resolve(op.body) : {};
  const limit = isObject(schema.properties) ? schema.properties.limit : undefined;
  return isObject(limit) && String(limit.description ?? "").includes("PREFECT_SERVER_API_DEFAULT_LIMIT");
}

/** Validates one embedded body field alone (a FastAPI dependency's body parameter). */
export function validateField(op: Operation, raw: unknown, name: string): { value: unknown; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const schema = op.body ? resolve(op.body) : {};
  const ps = isObject(schema.properties) && isObject(schema.properties[name]) ? schema.properties[name] : {};
  if (raw !== undefined && raw !== null && !isObject(raw)) {
    missing(errors, ["body", name], null);
    return { value: undefined, errors };
  }
  const value = isObject(raw) ? raw[name] : undefined;
  if (value === undefined || value === null) return { value: undefined, errors };
  return { value: check(ps, value, ["body", name], errors), errors };
}

/** Validates query parameters declared by the operation; returns the coerced values. */
export function validateQuery(op: Operation | undefined, query: Record<string, string>): Validated {
  const errors: FieldError[] = [];
  const body: Json = {};
  for (const [name, schema] of Object.entries(op?.query ?? {})) {
    const value = query[name];
    if (value === undefined) {
      if (op?.queryRequired?.includes(name)) missing(errors, ["query", name], null);
      continue;
    }
    const before = errors.length;
    const coerced = check(schema, value, ["query", name], errors);
    if (errors.length === before) body[name] = coerced;
  }
  return { body, errors };
}
