/**
 * Python's `jsonschema` (Draft 2020-12, no format assertion) as Prefect runs it on job-variable defaults: the errors
 * `iter_errors` yields, `best_match` to pick one, and the messages in jsonschema's words with Python reprs.
 */
import { KEYWORDS, type Keyword, type SchemaError } from "./jsonschema-keywords.js";
import { isType, pyRepr, TYPES } from "./jsonschema-values.js";
import { isObject, type Json } from "./validate.js";

export type { SchemaError } from "./jsonschema-keywords.js";
export { equal, isType, pyRepr } from "./jsonschema-values.js";

/** Validates `instance` against `schema` (resolving local `$ref`s in `root`), yielding errors in jsonschema's order. */
export function iterErrors(instance: unknown, schema: unknown, root: Json): SchemaError[] {
  const out: SchemaError[] = [];
  run(instance, schema, root, [], out);
  return out;
}

function resolveRef(ref: string, root: Json): unknown {
  if (!ref.startsWith("#")) return {};
  let node: unknown = root;
  for (const raw of ref
    .slice(1)
    .split("/")
    .filter((s) => s !== "")) {
    const key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    node = isObject(node) ? node[key] : Array.isArray(node) ? node[Number(key)] : undefined;
  }
  return node ?? {};
}

function run(inst: unknown, schema: unknown, root: Json, path: (string | number)[], out: SchemaError[]): void {
  if (schema === false) {
    out.push({
      keyword: "False",
      message: `False schema does not allow ${pyRepr(inst)}`,
      path,
      schema: {},
      instance: inst,
    });
    return;
  }
  if (!isObject(schema)) return;
  const c: Keyword = {
    inst,
    schema,
    path,
    err: (keyword, message, context) => {
      const e: SchemaError = { keyword, message, path, schema, instance: inst };
      if (context) e.context = context;
      out.push(e);
    },
    sub: (value, s, p = path) => run(value, s, root, p, out),
    errorsOf: (value, s) => {
      const errs: SchemaError[] = [];
      run(value, s, root, [], errs);
      return errs;
    },
    resolve: (ref) => resolveRef(ref, root),
  };
  for (const [k, v] of Object.entries(schema)) if (Object.hasOwn(KEYWORDS, k)) KEYWORDS[k]?.(c, v, k);
}

const WEAK = new Set(["anyOf", "oneOf"]);

/** jsonschema's `relevance` key: (-len(path), not weak, strong, not matches-type); larger is more relevant. */
function relevance(e: SchemaError): number[] {
  const t = e.schema.type;
  const types = t === undefined ? [] : (Array.isArray(t) ? t : [t]).map(String);
  const matches = types.length > 0 && types.some((x) => isType(e.instance, x));
  return [-e.path.length, WEAK.has(e.keyword) ? 0 : 1, 0, matches ? 0 : 1];
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** jsonschema's `best_match` (4.2x): the most relevant error, descending into anyOf/oneOf contexts. */
export function bestMatch(errors: SchemaError[]): SchemaError | null {
  let best: SchemaError | null = null;
  for (const e of errors) if (!best || compare(relevance(e), relevance(best)) > 0) best = e;
  while (best?.context && best.context.length > 0) {
    const sorted = best.context
      .map((e, i) => ({ e, i, key: relevance(e) }))
      .sort((a, b) => compare(a.key, b.key) || a.i - b.i);
    const [first, second] = sorted;
    if (!first) break;
    if (second && compare(first.key, second.key) === 0) break;
    first.e.parent = best;
    best = first.e;
  }
  return best;
}

/** `error.json_path`: `$`, `$.a.b`, `$.a[0]`, including the paths of the errors it was found inside. */
export function jsonPath(e: SchemaError): string {
  const chain: SchemaError[] = [];
  for (let x: SchemaError | undefined = e; x; x = x.parent) chain.unshift(x);
  let out = "$";
  for (const x of chain) for (const p of x.path) out += typeof p === "number" ? `[${p}]` : `.${p}`;
  return out;
}

/**
 * A light form of jsonschema's `check_schema` against the 2020-12 metaschema: the keyword shapes a variables schema
 * gets wrong in practice, with the messages the metaschema's best match gives. Null when the schema looks valid.
 */
export function schemaError(schema: unknown): string | null {
  if (typeof schema === "boolean") return null;
  if (!isObject(schema)) return `${pyRepr(schema)} is not of type 'object', 'boolean'`;
  for (const [k, v] of Object.entries(schema)) {
    const bad = keywordError(k, v);
    if (bad) return bad;
  }
  return null;
}

const NUMBER_KEYWORDS = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"];
const COUNT_KEYWORDS = ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"];
const SCHEMA_MAPS = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];
const SCHEMA_LISTS = ["allOf", "anyOf", "oneOf", "prefixItems"];
const SCHEMAS = ["items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames"];

function keywordError(k: string, v: unknown): string | null {
  const r = pyRepr;
  if (k === "type") {
    const ok =
      typeof v === "string"
        ? TYPES.includes(v)
        : Array.isArray(v) && v.length > 0 && v.every((t) => TYPES.includes(String(t)));
    return ok ? null : `${r(v)} is not valid under any of the given schemas`;
  }
  if (NUMBER_KEYWORDS.includes(k) || k === "multipleOf") {
    return typeof v === "number" ? null : `${r(v)} is not of type 'number'`;
  }
  if (COUNT_KEYWORDS.includes(k)) {
    if (typeof v !== "number" || !Number.isInteger(v)) return `${r(v)} is not of type 'integer'`;
    return v < 0 ? `${r(v)} is less than the minimum of 0` : null;
  }
  if (k === "enum") return Array.isArray(v) ? null : `${r(v)} is not of type 'array'`;
  if (k === "required") {
    if (!Array.isArray(v)) return `${r(v)} is not of type 'array'`;
    const bad = v.find((x) => typeof x !== "string");
    return bad === undefined ? null : `${r(bad)} is not of type 'string'`;
  }
  if (k === "pattern" || k === "$ref") return typeof v === "string" ? null : `${r(v)} is not of type 'string'`;
  if (SCHEMA_MAPS.includes(k)) {
    if (!isObject(v)) return `${r(v)} is not of type 'object'`;
    for (const s of Object.values(v)) {
      const bad = schemaError(s);
      if (bad) return bad;
    }
    return null;
  }
  if (SCHEMA_LISTS.includes(k)) {
    if (!Array.isArray(v)) return `${r(v)} is not of type 'array'`;
    if (v.length === 0) return `${r(v)} should be non-empty`;
    for (const s of v) {
      const bad = schemaError(s);
      if (bad) return bad;
    }
    return null;
  }
  if (SCHEMAS.includes(k)) return schemaError(v);
  return null;
}
