/**
 * Request validation as FastAPI + pydantic v2 (lax mode) perform it, driven by Prefect's OpenAPI component schemas
 * (data/api-schemas.json, extracted from fixtures/openapi-schema.json): required fields, types with pydantic's lax
 * coercions ("5" and true are integers, "yes" is a boolean), extra keys per `additionalProperties`, bounds, patterns
 * and UUIDs, with pydantic's error types and messages. Prefect's own field validators plug in as `Checks`.
 */
import { readData } from "../../data.js";
import { pyRepr } from "./jsonschema.js";
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

type Loc = (string | number)[];

function resolve(s: Json): Json {
  let out = s;
  for (let i = 0; i < 32 && typeof out.$ref === "string"; i++) {
    out = api().schemas[out.$ref.split("/").pop() ?? ""] ?? {};
  }
  return out;
}

const fail = (out: FieldError[], type: string, loc: Loc, msg: string, input: unknown): undefined => {
  out.push({ type, loc, msg, input });
  return undefined;
};

const num = (v: unknown): string => pyRepr(v);

/** pydantic's `str_as_int`: trimmed, optional sign, digits (Python's underscores allowed), or a zero fraction. */
function strToInt(s: string): number | null {
  let t = s.trim();
  const dot = t.indexOf(".");
  if (dot >= 0 && /^0*$/.test(t.slice(dot + 1))) t = t.slice(0, dot);
  if (!/^[+-]?\d+(_\d+)*$/.test(t)) return null;
  return Number(t.replaceAll("_", ""));
}

const TRUE = ["1", "t", "y", "on", "yes", "true"];
const FALSE = ["0", "f", "n", "no", "off", "false"];

/** pydantic's ge/gt/le/lt constraints on the coerced number `v`; errors quote the input as sent. */
function bounds(s: Json, v: number, input: unknown, loc: Loc, out: FieldError[]): number | undefined {
  if (typeof s.minimum === "number" && v < s.minimum) {
    return fail(out, "greater_than_equal", loc, `Input should be greater than or equal to ${num(s.minimum)}`, input);
  }
  if (typeof s.exclusiveMinimum === "number" && v <= s.exclusiveMinimum) {
    return fail(out, "greater_than", loc, `Input should be greater than ${num(s.exclusiveMinimum)}`, input);
  }
  if (typeof s.maximum === "number" && v > s.maximum) {
    return fail(out, "less_than_equal", loc, `Input should be less than or equal to ${num(s.maximum)}`, input);
  }
  if (typeof s.exclusiveMaximum === "number" && v >= s.exclusiveMaximum) {
    return fail(out, "less_than", loc, `Input should be less than ${num(s.exclusiveMaximum)}`, input);
  }
  return v;
}

function integer(s: Json, v: unknown, loc: Loc, out: FieldError[]): number | undefined {
  let n: number;
  if (typeof v === "boolean") n = v ? 1 : 0;
  else if (typeof v === "number") {
    if (!Number.isFinite(v)) return fail(out, "finite_number", loc, "Input should be a finite number", v);
    if (!Number.isInteger(v)) {
      return fail(
        out,
        "int_from_float",
        loc,
        "Input should be a valid integer, got a number with a fractional part",
        v,
      );
    }
    n = v;
  } else if (typeof v === "string") {
    const parsed = strToInt(v);
    if (parsed === null) {
      return fail(out, "int_parsing", loc, "Input should be a valid integer, unable to parse string as an integer", v);
    }
    n = parsed;
  } else return fail(out, "int_type", loc, "Input should be a valid integer", v);
  return bounds(s, n, v, loc, out);
}

function float(s: Json, v: unknown, loc: Loc, out: FieldError[]): number | undefined {
  let n: number;
  if (typeof v === "boolean") n = v ? 1 : 0;
  else if (typeof v === "number") n = v;
  else if (typeof v === "string") {
    const t = v.trim().replaceAll("_", "");
    n = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t) ? Number(t) : Number.NaN;
    if (Number.isNaN(n)) {
      return fail(out, "float_parsing", loc, "Input should be a valid number, unable to parse string as a number", v);
    }
  } else return fail(out, "float_type", loc, "Input should be a valid number", v);
  return bounds(s, n, v, loc, out);
}

function boolean(v: unknown, loc: Loc, out: FieldError[]): boolean | undefined {
  if (typeof v === "boolean") return v;
  const unable = "Input should be a valid boolean, unable to interpret input";
  if (typeof v === "number") return v === 0 || v === 1 ? v === 1 : fail(out, "bool_parsing", loc, unable, v);
  if (typeof v === "string") {
    const t = v.toLowerCase();
    if (TRUE.includes(t)) return true;
    if (FALSE.includes(t)) return false;
    return fail(out, "bool_parsing", loc, unable, v);
  }
  return fail(out, "bool_type", loc, "Input should be a valid boolean", v);
}

/** The `uuid` crate's parse error, as pydantic quotes it. */
function uuidProblem(input: string): string {
  let body = input;
  let offset = 0;
  let simple = true;
  if (input.length >= 2 && input.startsWith("{") && input.endsWith("}"))
    [body, offset, simple] = [input.slice(1, -1), 1, false];
  else if (input.startsWith("urn:uuid:")) [body, offset, simple] = [input.slice(9), 9, false];
  const hyphens: number[] = [];
  let index = 0;
  for (const ch of body) {
    if (ch === "-") hyphens.push(index);
    else if (!/[0-9a-fA-F]/.test(ch)) {
      return `invalid character: expected an optional prefix of \`urn:uuid:\` followed by [0-9a-fA-F-], found \`${ch}\` at ${index + offset + 1}`;
    }
    index += Buffer.byteLength(ch);
  }
  if (hyphens.length === 0 && simple) {
    return `invalid length: expected length 32 for simple format, found ${Buffer.byteLength(input)}`;
  }
  if (hyphens.length !== 4) return `invalid group count: expected 5, found ${hyphens.length + 1}`;
  const starts = [0, 9, 14, 19, 24];
  const expected = [8, 4, 4, 4, 12];
  for (let i = 0; i < 4; i++) {
    const at = hyphens[i] ?? 0;
    const start = starts[i] ?? 0;
    if (at !== (starts[i + 1] ?? 0) - 1) {
      return `invalid group length in group ${i}: expected ${expected[i]}, found ${at - start}`;
    }
  }
  return `invalid group length in group 4: expected 12, found ${Buffer.byteLength(body) - 24}`;
}

/** pydantic's UUID: the canonical lowercase form, or an error. */
function uuid(v: unknown, loc: Loc, out: FieldError[]): string | undefined {
  if (typeof v !== "string")
    return fail(out, "uuid_type", loc, "UUID input should be a string, bytes or UUID object", v);
  const m = /^(?:urn:uuid:|\{)?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i.exec(v);
  const plain = m ? v.replace(/^urn:uuid:/, "").replace(/^\{(.*)\}$/, "$1") : "";
  if (m && (plain.length === 32 || plain.length === 36) && v.startsWith("{") === v.endsWith("}")) {
    return m.slice(1).join("-").toLowerCase();
  }
  return fail(out, "uuid_parsing", loc, `Input should be a valid UUID, ${uuidProblem(v)}`, v);
}

const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Prefect's DateTime type: ISO 8601 text (or a timestamp); anything else is its parser's value error. */
function dateTime(v: unknown, loc: Loc, out: FieldError[]): unknown {
  if (typeof v === "number" && Number.isFinite(v)) return new Date(v * 1000).toISOString();
  const text = typeof v === "string" ? v : pyRepr(v);
  if (typeof v === "string" && ISO.test(v.trim()) && !Number.isNaN(Date.parse(v.trim().replace(" ", "T")))) return v;
  return fail(out, "value_error", loc, `Value error, Unable to parse string [${text}]`, v);
}

function string(s: Json, v: unknown, loc: Loc, out: FieldError[]): unknown {
  if (s.format === "uuid") return uuid(v, loc, out);
  if (s.format === "date-time") return dateTime(v, loc, out);
  if (typeof v !== "string") return fail(out, "string_type", loc, "Input should be a valid string", v);
  const n = [...v].length;
  if (typeof s.minLength === "number" && n < s.minLength) {
    const c = s.minLength === 1 ? "character" : "characters";
    return fail(out, "string_too_short", loc, `String should have at least ${s.minLength} ${c}`, v);
  }
  if (typeof s.maxLength === "number" && n > s.maxLength) {
    const c = s.maxLength === 1 ? "character" : "characters";
    return fail(out, "string_too_long", loc, `String should have at most ${s.maxLength} ${c}`, v);
  }
  if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(v)) {
    return fail(out, "string_pattern_mismatch", loc, `String should match pattern '${s.pattern}'`, v);
  }
  return v;
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
