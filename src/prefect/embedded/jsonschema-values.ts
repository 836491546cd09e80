/** The values side of Python's `jsonschema`: Python reprs, JSON types and jsonschema's equality. */
import { pyRepr as pyStr } from "../../ui/io.js";
import { pyFloatRepr } from "../checksum.js";
import { isObject } from "./validate.js";

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

export const TYPES = ["array", "boolean", "integer", "null", "number", "object", "string"];

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
