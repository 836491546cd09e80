/**
 * Prefect's block schema checksum (`Block._calculate_schema_checksum`): drop `secret_fields` at any depth, keep only
 * the non-block definitions that are referenced, then SHA-256 over Python's `json.dumps([[fields], {}], sort_keys=True)`.
 *
 * JSON.parse turns `5.0` into `5`, which Python would dump as `5.0`; `parseLossless` keeps float literals as
 * `PyFloat` (a Number subclass, so plain JSON.stringify still writes them as numbers).
 */
import { crypto } from "../builtin.js";

/** A JSON number written with a fraction or exponent (a Python float). */
export class PyFloat extends Number {}

/** Parses JSON text, keeping float literals (`5.0`, `1e3`) as PyFloat so they hash as Python floats. */
export function parseLossless(text: string): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`Invalid JSON at position ${i}: ${what}`);
  };
  const ws = (): void => {
    while (i < text.length && " \t\n\r".includes(text.charAt(i))) i++;
  };
  const value = (): unknown => {
    ws();
    const c = text.charAt(i);
    if (c === "{") {
      i++;
      const out: Record<string, unknown> = {};
      ws();
      if (text.charAt(i) === "}") {
        i++;
        return out;
      }
      for (;;) {
        ws();
        if (text.charAt(i) !== '"') fail("expected a key");
        const key = str();
        ws();
        if (text.charAt(i) !== ":") fail("expected ':'");
        i++;
        Object.defineProperty(out, key, { value: value(), enumerable: true, writable: true, configurable: true });
        ws();
        const d = text.charAt(i++);
        if (d === "}") return out;
        if (d !== ",") fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const out: unknown[] = [];
      ws();
      if (text.charAt(i) === "]") {
        i++;
        return out;
      }
      for (;;) {
        out.push(value());
        ws();
        const d = text.charAt(i++);
        if (d === "]") return out;
        if (d !== ",") fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) return fail("unexpected character");
    i += m[0].length;
    const n = Number(m[0]);
    return m[2] !== undefined || m[3] !== undefined ? new PyFloat(n) : n;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text.charAt(i) !== '"') i += text.charAt(i) === "\\" ? 2 : 1;
    if (i >= text.length) fail("unterminated string");
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const result = value();
  ws();
  if (i !== text.length) fail("trailing characters");
  return result;
}

/** JSON text with PyFloat written as a Python float (`5.0`), for storing losslessly parsed values. */
export function stringifyLossless(value: unknown): string {
  return dump(value, ",", ":", false, false);
}

/** Python `json.dumps(value, sort_keys=True)` (ensure_ascii, `", "`/`": "` separators, float repr). */
export function pythonJsonDumps(value: unknown): string {
  return dump(value, ", ", ": ", true, true);
}

function dump(v: unknown, comma: string, colon: string, sortKeys: boolean, ascii: boolean): string {
  if (v === null || v === undefined) return "null";
  if (v instanceof PyFloat) return pyFloatRepr(v.valueOf());
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "string") return quote(v, ascii);
  if (Array.isArray(v)) return `[${v.map((x) => dump(x, comma, colon, sortKeys, ascii)).join(comma)}]`;
  if (typeof v === "object") {
    const keys = Object.keys(v);
    if (sortKeys) keys.sort();
    const rec = v as Record<string, unknown>;
    const parts = keys
      .filter((k) => rec[k] !== undefined)
      .map((k) => `${quote(k, ascii)}${colon}${dump(rec[k], comma, colon, sortKeys, ascii)}`);
    return `{${parts.join(comma)}}`;
  }
  return quote(String(v), ascii);
}

/** Python's `repr(float)`: shortest round-trip digits, fixed notation for 1e-4 <= |x| < 1e16. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mant = "0", expText = "0"] = x.toExponential().split("e");
  const exp = Number(expText);
  const neg = mant.startsWith("-");
  const digits = mant.replace("-", "").replace(".", "");
  let out: string;
  if (exp >= -4 && exp < 16) {
    if (exp < 0) out = `0.${"0".repeat(-exp - 1)}${digits}`;
    else if (digits.length <= exp + 1) out = `${digits}${"0".repeat(exp + 1 - digits.length)}.0`;
    else out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  } else {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    out = `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  return neg ? `-${out}` : out;
}

function quote(s: string, ascii: boolean): string {
  if (!ascii) return JSON.stringify(s);
  let out = '"';
  for (let k = 0; k < s.length; k++) {
    const ch = s.charAt(k);
    const code = s.charCodeAt(k);
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof PyFloat);
}

/** Prefect's `remove_nested_keys`: walks nested objects only (objects inside arrays are kept as they are). */
function removeKey(v: unknown, key: string): unknown {
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) if (k !== key) out[k] = removeKey(x, key);
  return out;
}

function collectRefs(v: unknown, out: string[]): void {
  if (Array.isArray(v)) {
    for (const x of v) collectRefs(x, out);
  } else if (isObj(v)) {
    const ref = v.$ref;
    if (typeof ref === "string" && ref !== "") out.push(ref);
    for (const x of Object.values(v)) collectRefs(x, out);
  }
}

/** Prefect's `_get_non_block_reference_definitions`. */
function nonBlockDefinitions(obj: unknown, defs: Obj, seen: Set<string>): Obj {
  let out: Obj = {};
  const refs: string[] = [];
  collectRefs(obj, refs);
  for (const ref of refs) {
    const key = ref.replace("#/definitions/", "");
    const def = defs[key];
    if (!isObj(def) || Object.keys(def).length === 0) continue;
    if (def.block_type_slug !== undefined && def.block_type_slug !== null) continue;
    out = { ...out, [key]: def };
    if (seen.has(key)) continue;
    seen.add(key);
    out = { ...out, ...nonBlockDefinitions(def, defs, seen) };
  }
  return out;
}

/** Prefect's block schema checksum of `fields`: `"sha256:" + hex`. */
export function blockSchemaChecksum(fields: Record<string, unknown>): string {
  const forChecksum = removeKey(fields, "secret_fields") as Obj;
  const defs = forChecksum.definitions;
  if (isObj(defs) && Object.keys(defs).length > 0) {
    const kept = nonBlockDefinitions(forChecksum, defs, new Set());
    if (Object.keys(kept).length > 0) forChecksum.definitions = kept;
    else delete forChecksum.definitions;
  }
  const text = pythonJsonDumps([[forChecksum], {}]);
  return `sha256:${crypto().createHash("sha256").update(text, "utf8").digest("hex")}`;
}
