/**
 * Python's `jsonschema` (Draft 2020-12, no format assertion) as Prefect runs it on job-variable defaults: the errors
 * `iter_errors` yields, `best_match` to pick one, and the messages in jsonschema's words with Python reprs.
 */
import { pyRepr as pyStr } from "../../ui/io.js";
import { pyFloatRepr } from "../checksum.js";
import { isObject, type Json } from "./validate.js";

/** Python's `repr` of a JSON value. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") {
    if (Number.isSafeInteger(v)) return String(v);
    return Number.isInteger(v) ? BigInt(v).toString() : pyFloatRepr(v);
  }
  if (typeof v === "string") return pyStr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (isObject(v)) {
    return `{${Object.entries(v)
      .map(([k, x]) => `${pyStr(k)}: ${pyRepr(x)}`)
      .join(", ")}}`;
  }
  return String(v);
}

export interface SchemaError {
  keyword: string;
  message: string;
  /** Path relative to the instance the enclosing validation started from (`error.path`). */
  path: (string | number)[];
  /** The schema holding the failing keyword, and the instance it checked (for `_matches_type`). */
  schema: Json;
  instance: unknown;
  /** For anyOf/oneOf: the errors of every subschema, paths relative to this error's instance. */
  context?: SchemaError[];
  parent?: SchemaError;
}

const TYPES = ["array", "boolean", "integer", "null", "number", "object", "string"];

export function isType(v: unknown, type: string): boolean {
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
      return false;
  }
}

/** jsonschema's `equal`: booleans never equal numbers; containers compare deeply. */
export function equal(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && equal(a[k], b[k]));
  }
  return a === b;
}

const len = (s: string): number => [...s].length;
const plural = (n: number, one: string, many: string): string => (n === 1 ? one : many);

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
  const err = (keyword: string, message: string, context?: SchemaError[]): void => {
    const e: SchemaError = { keyword, message, path, schema, instance: inst };
    if (context) e.context = context;
    out.push(e);
  };
  const sub = (value: unknown, s: unknown, p: (string | number)[] = path): void => run(value, s, root, p, out);
  const r = pyRepr;
  for (const [k, v] of Object.entries(schema)) {
    switch (k) {
      case "$ref":
        if (typeof v === "string") sub(inst, resolveRef(v, root));
        break;
      case "type": {
        const types = (Array.isArray(v) ? v : [v]).map(String);
        if (!types.some((t) => isType(inst, t))) {
          err(k, `${r(inst)} is not of type ${types.map((t) => pyStr(t)).join(", ")}`);
        }
        break;
      }
      case "enum":
        if (Array.isArray(v) && !v.some((x) => equal(x, inst))) err(k, `${r(inst)} is not one of ${r(v)}`);
        break;
      case "const":
        if (!equal(v, inst)) err(k, `${r(v)} was expected`);
        break;
      case "minimum":
        if (typeof inst === "number" && typeof v === "number" && inst < v) {
          err(k, `${r(inst)} is less than the minimum of ${r(v)}`);
        }
        break;
      case "maximum":
        if (typeof inst === "number" && typeof v === "number" && inst > v) {
          err(k, `${r(inst)} is greater than the maximum of ${r(v)}`);
        }
        break;
      case "exclusiveMinimum":
        if (typeof inst === "number" && typeof v === "number" && inst <= v) {
          err(k, `${r(inst)} is less than or equal to the minimum of ${r(v)}`);
        }
        break;
      case "exclusiveMaximum":
        if (typeof inst === "number" && typeof v === "number" && inst >= v) {
          err(k, `${r(inst)} is greater than or equal to the maximum of ${r(v)}`);
        }
        break;
      case "multipleOf":
        if (typeof inst === "number" && typeof v === "number" && v !== 0) {
          const q = inst / v;
          if (!Number.isInteger(q)) err(k, `${r(inst)} is not a multiple of ${r(v)}`);
        }
        break;
      case "minLength":
        if (typeof inst === "string" && typeof v === "number" && len(inst) < v) {
          err(k, `${r(inst)} ${v === 1 ? "should be non-empty" : "is too short"}`);
        }
        break;
      case "maxLength":
        if (typeof inst === "string" && typeof v === "number" && len(inst) > v) {
          err(k, `${r(inst)} ${v === 0 ? "is expected to be empty" : "is too long"}`);
        }
        break;
      case "pattern":
        if (typeof inst === "string" && typeof v === "string" && !new RegExp(v, "u").test(inst)) {
          err(k, `${r(inst)} does not match ${r(v)}`);
        }
        break;
      case "minItems":
        if (Array.isArray(inst) && typeof v === "number" && inst.length < v) {
          err(k, `${r(inst)} ${v === 1 ? "should be non-empty" : "is too short"}`);
        }
        break;
      case "maxItems":
        if (Array.isArray(inst) && typeof v === "number" && inst.length > v) {
          err(k, `${r(inst)} ${v === 0 ? "is expected to be empty" : "is too long"}`);
        }
        break;
      case "uniqueItems":
        if (v === true && Array.isArray(inst) && inst.some((x, i) => inst.slice(i + 1).some((y) => equal(x, y)))) {
          err(k, `${r(inst)} has non-unique elements`);
        }
        break;
      case "prefixItems":
        if (Array.isArray(inst) && Array.isArray(v)) {
          inst.slice(0, v.length).forEach((item, i) => {
            sub(item, v[i], [...path, i]);
          });
        }
        break;
      case "items":
        if (Array.isArray(inst)) {
          const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems.length : 0;
          if (v === false && inst.length > prefix) {
            err(
              k,
              `Expected at most ${prefix} ${plural(prefix, "item", "items")} but found ${inst.length - prefix} extra`,
            );
          } else {
            for (let i = prefix; i < inst.length; i++) sub(inst[i], v, [...path, i]);
          }
        }
        break;
      case "contains":
        if (Array.isArray(inst) && !inst.some((x) => iterErrors(x, v, root).length === 0)) {
          err(k, `${r(inst)} does not contain items matching the given schema`);
        }
        break;
      case "properties":
        if (isObject(inst) && isObject(v)) {
          for (const [name, ps] of Object.entries(v)) {
            if (Object.hasOwn(inst, name)) sub(inst[name], ps, [...path, name]);
          }
        }
        break;
      case "patternProperties":
        if (isObject(inst) && isObject(v)) {
          for (const [pattern, ps] of Object.entries(v)) {
            const re = new RegExp(pattern, "u");
            for (const [name, x] of Object.entries(inst)) if (re.test(name)) sub(x, ps, [...path, name]);
          }
        }
        break;
      case "additionalProperties":
        if (isObject(inst)) {
          const props = isObject(schema.properties) ? schema.properties : {};
          const patterns = isObject(schema.patternProperties) ? Object.keys(schema.patternProperties) : [];
          const extras = Object.keys(inst).filter(
            (name) => !Object.hasOwn(props, name) && !patterns.some((p) => new RegExp(p, "u").test(name)),
          );
          if (v === false && extras.length > 0) {
            const sorted = [...extras].sort();
            if (patterns.length > 0) {
              const verb = extras.length === 1 ? "does" : "do";
              err(
                k,
                `${sorted.map((x) => pyStr(x)).join(", ")} ${verb} not match any of the regexes: ${[...patterns]
                  .sort()
                  .map((x) => pyStr(x))
                  .join(", ")}`,
              );
            } else {
              const verb = extras.length === 1 ? "was" : "were";
              err(
                k,
                `Additional properties are not allowed (${sorted.map((x) => pyStr(x)).join(", ")} ${verb} unexpected)`,
              );
            }
          } else if (isObject(v)) {
            for (const name of extras) sub(inst[name], v, [...path, name]);
          }
        }
        break;
      case "required":
        if (isObject(inst) && Array.isArray(v)) {
          for (const name of v) {
            if (typeof name === "string" && !Object.hasOwn(inst, name)) err(k, `${pyStr(name)} is a required property`);
          }
        }
        break;
      case "minProperties":
        if (isObject(inst) && typeof v === "number" && Object.keys(inst).length < v) {
          err(k, `${r(inst)} ${v === 1 ? "should be non-empty" : "does not have enough properties"}`);
        }
        break;
      case "maxProperties":
        if (isObject(inst) && typeof v === "number" && Object.keys(inst).length > v) {
          err(k, `${r(inst)} ${v === 0 ? "is expected to be empty" : "has too many properties"}`);
        }
        break;
      case "dependentRequired":
        if (isObject(inst) && isObject(v)) {
          for (const [name, deps] of Object.entries(v)) {
            if (!Object.hasOwn(inst, name) || !Array.isArray(deps)) continue;
            for (const d of deps) if (!Object.hasOwn(inst, String(d))) err(k, `${r(d)} is a dependency of ${r(name)}`);
          }
        }
        break;
      case "propertyNames":
        if (isObject(inst)) for (const name of Object.keys(inst)) sub(name, v);
        break;
      case "allOf":
        if (Array.isArray(v)) for (const s of v) sub(inst, s);
        break;
      case "anyOf":
      case "oneOf": {
        if (!Array.isArray(v)) break;
        const all: SchemaError[] = [];
        const valid: unknown[] = [];
        for (const s of v) {
          const errs: SchemaError[] = [];
          run(inst, s, root, [], errs);
          if (errs.length === 0) valid.push(s);
          all.push(...errs);
          if (k === "anyOf" && errs.length === 0) break;
        }
        if (valid.length === 0) err(k, `${r(inst)} is not valid under any of the given schemas`, all);
        else if (k === "oneOf" && valid.length > 1) {
          // jsonschema lists the later valid subschemas first, then the first one.
          err(k, `${r(inst)} is valid under each of ${[...valid.slice(1), valid[0]].map(r).join(", ")}`);
        }
        break;
      }
      case "not":
        if (iterErrors(inst, v, root).length === 0) err(k, `${r(inst)} should not be valid under ${r(v)}`);
        break;
      case "if":
        if (iterErrors(inst, v, root).length === 0) {
          if ("then" in schema) sub(inst, schema.then);
        } else if ("else" in schema) sub(inst, schema.else);
        break;
      default:
        break;
    }
  }
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
