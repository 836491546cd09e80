/** pydantic v2's lax coercions of scalar fields (integers, floats, booleans, UUIDs, date-times, strings), with its error types and messages. */
import { pyRepr } from "./jsonschema.js";
import type { FieldError, Json } from "./validate.js";

export type Loc = (string | number)[];

export const fail = (out: FieldError[], type: string, loc: Loc, msg: string, input: unknown): undefined => {
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

export function integer(s: Json, v: unknown, loc: Loc, out: FieldError[]): number | undefined {
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

export function float(s: Json, v: unknown, loc: Loc, out: FieldError[]): number | undefined {
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

export function boolean(v: unknown, loc: Loc, out: FieldError[]): boolean | undefined {
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
export function uuid(v: unknown, loc: Loc, out: FieldError[]): string | undefined {
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
export function dateTime(v: unknown, loc: Loc, out: FieldError[]): unknown {
  if (typeof v === "number" && Number.isFinite(v)) return new Date(v * 1000).toISOString();
  const text = typeof v === "string" ? v : pyRepr(v);
  if (typeof v === "string" && ISO.test(v.trim()) && !Number.isNaN(Date.parse(v.trim().replace(" ", "T")))) return v;
  return fail(out, "value_error", loc, `Value error, Unable to parse string [${text}]`, v);
}

export function string(s: Json, v: unknown, loc: Loc, out: FieldError[]): unknown {
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
