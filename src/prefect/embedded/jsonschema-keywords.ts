/**
 * The assertions of Python's `jsonschema` (Draft 2020-12) keyword by keyword, with jsonschema's
 * messages: numbers, strings, arrays, objects, then the applicators that validate subschemas.
 */
import { pyRepr as pyStr } from "../../ui/io.js";
import { equal, isType, pyRepr as r } from "./jsonschema-values.js";
import { isObject, type Json } from "./validate.js";

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

/** One keyword's check of one instance against the schema holding the keyword. */
export interface Keyword {
  inst: unknown;
  schema: Json;
  path: (string | number)[];
  err(keyword: string, message: string, context?: SchemaError[]): void;
  /** Validates a value (by default at the same path) against a subschema, into the same errors. */
  sub(value: unknown, schema: unknown, path?: (string | number)[]): void;
  /** The errors of a value against a subschema, apart. */
  errorsOf(value: unknown, schema: unknown): SchemaError[];
  resolve(ref: string): unknown;
}

type Check = (c: Keyword, v: unknown, k: string) => void;

const len = (s: string): number => [...s].length;
const plural = (n: number, one: string, many: string): string => (n === 1 ? one : many);
const num = (c: Keyword, v: unknown): c is Keyword & { inst: number } =>
  typeof c.inst === "number" && typeof v === "number";

const NUMBERS: Record<string, Check> = {
  minimum: (c, v, k) =>
    num(c, v) && c.inst < (v as number) && c.err(k, `${r(c.inst)} is less than the minimum of ${r(v)}`),
  maximum: (c, v, k) =>
    num(c, v) && c.inst > (v as number) && c.err(k, `${r(c.inst)} is greater than the maximum of ${r(v)}`),
  exclusiveMinimum: (c, v, k) =>
    num(c, v) && c.inst <= (v as number) && c.err(k, `${r(c.inst)} is less than or equal to the minimum of ${r(v)}`),
  exclusiveMaximum: (c, v, k) =>
    num(c, v) && c.inst >= (v as number) && c.err(k, `${r(c.inst)} is greater than or equal to the maximum of ${r(v)}`),
  multipleOf: (c, v, k) => {
    if (num(c, v) && v !== 0 && !Number.isInteger(c.inst / (v as number)))
      c.err(k, `${r(c.inst)} is not a multiple of ${r(v)}`);
  },
};

/** minLength/minItems/minProperties and their max: `size` is the instance's size when the keyword applies. */
function sizeCheck(size: (inst: unknown) => number | null, min: boolean, longWords: string): Check {
  return (c, v, k) => {
    const n = size(c.inst);
    if (n === null || typeof v !== "number") return;
    if (min ? n < v : n > v) {
      const edge = min ? v === 1 : v === 0;
      c.err(k, `${r(c.inst)} ${edge ? (min ? "should be non-empty" : "is expected to be empty") : longWords}`);
    }
  };
}
const strLen = (i: unknown) => (typeof i === "string" ? len(i) : null);
const arrLen = (i: unknown) => (Array.isArray(i) ? i.length : null);
const objLen = (i: unknown) => (isObject(i) ? Object.keys(i).length : null);

const STRINGS_AND_SIZES: Record<string, Check> = {
  minLength: sizeCheck(strLen, true, "is too short"),
  maxLength: sizeCheck(strLen, false, "is too long"),
  minItems: sizeCheck(arrLen, true, "is too short"),
  maxItems: sizeCheck(arrLen, false, "is too long"),
  minProperties: sizeCheck(objLen, true, "does not have enough properties"),
  maxProperties: sizeCheck(objLen, false, "has too many properties"),
  pattern: (c, v, k) => {
    if (typeof c.inst === "string" && typeof v === "string" && !new RegExp(v, "u").test(c.inst))
      c.err(k, `${r(c.inst)} does not match ${r(v)}`);
  },
};

const ARRAYS: Record<string, Check> = {
  uniqueItems: (c, v, k) => {
    const a = c.inst;
    if (v === true && Array.isArray(a) && a.some((x, i) => a.slice(i + 1).some((y) => equal(x, y))))
      c.err(k, `${r(a)} has non-unique elements`);
  },
  prefixItems: (c, v) => {
    if (!Array.isArray(c.inst) || !Array.isArray(v)) return;
    c.inst.slice(0, v.length).forEach((item, i) => {
      c.sub(item, v[i], [...c.path, i]);
    });
  },
  items: (c, v, k) => {
    if (!Array.isArray(c.inst)) return;
    const prefix = Array.isArray(c.schema.prefixItems) ? c.schema.prefixItems.length : 0;
    if (v === false && c.inst.length > prefix) {
      const extra = c.inst.length - prefix;
      c.err(k, `Expected at most ${prefix} ${plural(prefix, "item", "items")} but found ${extra} extra`);
    } else for (let i = prefix; i < c.inst.length; i++) c.sub(c.inst[i], v, [...c.path, i]);
  },
  contains: (c, v, k) => {
    if (Array.isArray(c.inst) && !c.inst.some((x) => c.errorsOf(x, v).length === 0))
      c.err(k, `${r(c.inst)} does not contain items matching the given schema`);
  },
};

function additionalProperties(c: Keyword, v: unknown, k: string): void {
  const inst = c.inst;
  if (!isObject(inst)) return;
  const props = isObject(c.schema.properties) ? c.schema.properties : {};
  const patterns = isObject(c.schema.patternProperties) ? Object.keys(c.schema.patternProperties) : [];
  const extras = Object.keys(inst).filter(
    (name) => !Object.hasOwn(props, name) && !patterns.some((p) => new RegExp(p, "u").test(name)),
  );
  if (v === false && extras.length > 0) {
    const names = [...extras].sort().map((x) => pyStr(x));
    if (patterns.length > 0) {
      const regexes = [...patterns].sort().map((x) => pyStr(x));
      c.err(
        k,
        `${names.join(", ")} ${extras.length === 1 ? "does" : "do"} not match any of the regexes: ${regexes.join(", ")}`,
      );
    } else {
      const verb = extras.length === 1 ? "was" : "were";
      c.err(k, `Additional properties are not allowed (${names.join(", ")} ${verb} unexpected)`);
    }
  } else if (isObject(v)) for (const name of extras) c.sub(inst[name], v, [...c.path, name]);
}

const OBJECTS: Record<string, Check> = {
  properties: (c, v) => {
    if (!isObject(c.inst) || !isObject(v)) return;
    for (const [name, ps] of Object.entries(v))
      if (Object.hasOwn(c.inst, name)) c.sub(c.inst[name], ps, [...c.path, name]);
  },
  patternProperties: (c, v) => {
    if (!isObject(c.inst) || !isObject(v)) return;
    for (const [pattern, ps] of Object.entries(v)) {
      const re = new RegExp(pattern, "u");
      for (const [name, x] of Object.entries(c.inst)) if (re.test(name)) c.sub(x, ps, [...c.path, name]);
    }
  },
  additionalProperties,
  required: (c, v, k) => {
    if (!isObject(c.inst) || !Array.isArray(v)) return;
    for (const name of v)
      if (typeof name === "string" && !Object.hasOwn(c.inst, name)) c.err(k, `${pyStr(name)} is a required property`);
  },
  dependentRequired: (c, v, k) => {
    if (!isObject(c.inst) || !isObject(v)) return;
    for (const [name, deps] of Object.entries(v)) {
      if (!Object.hasOwn(c.inst, name) || !Array.isArray(deps)) continue;
      for (const d of deps) if (!Object.hasOwn(c.inst, String(d))) c.err(k, `${r(d)} is a dependency of ${r(name)}`);
    }
  },
  propertyNames: (c, v) => {
    if (isObject(c.inst)) for (const name of Object.keys(c.inst)) c.sub(name, v);
  },
};

/** anyOf / oneOf: the errors of every subschema are the context of the one error. */
function someOf(c: Keyword, v: unknown, k: string): void {
  if (!Array.isArray(v)) return;
  const all: SchemaError[] = [];
  const valid: unknown[] = [];
  for (const s of v) {
    const errs = c.errorsOf(c.inst, s);
    if (errs.length === 0) valid.push(s);
    all.push(...errs);
    if (k === "anyOf" && errs.length === 0) break;
  }
  if (valid.length === 0) c.err(k, `${r(c.inst)} is not valid under any of the given schemas`, all);
  else if (k === "oneOf" && valid.length > 1) {
    // jsonschema lists the later valid subschemas first, then the first one.
    c.err(k, `${r(c.inst)} is valid under each of ${[...valid.slice(1), valid[0]].map(r).join(", ")}`);
  }
}

const APPLICATORS: Record<string, Check> = {
  $ref: (c, v) => {
    if (typeof v === "string") c.sub(c.inst, c.resolve(v));
  },
  type: (c, v, k) => {
    const types = (Array.isArray(v) ? v : [v]).map(String);
    if (!types.some((t) => isType(c.inst, t)))
      c.err(k, `${r(c.inst)} is not of type ${types.map((t) => pyStr(t)).join(", ")}`);
  },
  enum: (c, v, k) => {
    if (Array.isArray(v) && !v.some((x) => equal(x, c.inst))) c.err(k, `${r(c.inst)} is not one of ${r(v)}`);
  },
  const: (c, v, k) => {
    if (!equal(v, c.inst)) c.err(k, `${r(v)} was expected`);
  },
  allOf: (c, v) => {
    if (Array.isArray(v)) for (const s of v) c.sub(c.inst, s);
  },
  anyOf: someOf,
  oneOf: someOf,
  not: (c, v, k) => {
    if (c.errorsOf(c.inst, v).length === 0) c.err(k, `${r(c.inst)} should not be valid under ${r(v)}`);
  },
  if: (c, v) => {
    if (c.errorsOf(c.inst, v).length === 0) {
      if ("then" in c.schema) c.sub(c.inst, c.schema.then);
    } else if ("else" in c.schema) c.sub(c.inst, c.schema.else);
  },
};

/** Every keyword jsonschema asserts, by name; the others (annotations, `then`/`else` on their own) do nothing. */
export const KEYWORDS: Record<string, Check> = {
  ...APPLICATORS,
  ...NUMBERS,
  ...STRINGS_AND_SIZES,
  ...ARRAYS,
  ...OBJECTS,
};
