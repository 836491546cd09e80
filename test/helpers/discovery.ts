/**
 * A validator for the schema dialect of Google's API discovery documents, run against the schemas in
 * test/sim/gcp/fixtures/discovery-schemas.json. It reports every field the schema does not have, every value
 * of the wrong JSON type, every enum value outside the list and every badly formed int64, byte or datetime
 * string. A `$ref` to a schema that was not copied is reported as soon as a value reaches it.
 */
import { readFileSync } from "node:fs";

export interface DiscoverySchema {
  id?: string;
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean" | "any";
  $ref?: string;
  format?: string;
  enum?: string[];
  properties?: Record<string, DiscoverySchema>;
  additionalProperties?: DiscoverySchema;
  items?: DiscoverySchema;
  readOnly?: boolean;
}

export type Api = "artifactregistry" | "cloudresourcemanager" | "iam" | "logging" | "orgpolicy" | "serviceusage";

export const schemas = JSON.parse(
  readFileSync(new URL("../sim/gcp/fixtures/discovery-schemas.json", import.meta.url), "utf8"),
) as Record<Api, Record<string, DiscoverySchema>>;

const INT64 = /^-?\d+$/;
const UINT64 = /^\d+$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const DATETIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/** Errors for `value` against schema `name` of `api` (an empty list: valid). */
export function validate(api: Api, name: string, value: unknown, path = "$"): string[] {
  return check(api, { $ref: name }, value, path);
}

function check(api: Api, schema: DiscoverySchema, value: unknown, path: string): string[] {
  if (schema.$ref) {
    const target = schemas[api][schema.$ref];
    if (!target) return [`${path}: $ref ${schema.$ref} is not in the ${api} fixture`];
    return check(api, target, value, path);
  }
  const t = schema.type;
  const k = kind(value);
  switch (t) {
    case "any":
    case undefined:
      return [];
    case "boolean":
      return k === "boolean" ? [] : [`${path}: expected boolean, got ${k}`];
    case "number":
      return k === "number" ? [] : [`${path}: expected number, got ${k}`];
    case "integer":
      if (k !== "number" || !Number.isInteger(value))
        return [`${path}: expected integer, got ${JSON.stringify(value)}`];
      if (schema.format === "int32" && Math.abs(value as number) > 2 ** 31) return [`${path}: outside int32`];
      if (schema.format === "uint32" && ((value as number) < 0 || (value as number) >= 2 ** 32))
        return [`${path}: outside uint32`];
      return [];
    case "string": {
      if (k !== "string") return [`${path}: expected string, got ${k}`];
      const s = value as string;
      const errors: string[] = [];
      if (schema.enum && !schema.enum.includes(s)) errors.push(`${path}: ${JSON.stringify(s)} is not in the enum`);
      if (schema.format === "int64" && !INT64.test(s)) errors.push(`${path}: ${JSON.stringify(s)} is not an int64`);
      if (schema.format === "uint64" && !UINT64.test(s)) errors.push(`${path}: ${JSON.stringify(s)} is not a uint64`);
      if (schema.format === "byte" && !BASE64.test(s)) errors.push(`${path}: not base64`);
      if (schema.format === "google-datetime" && !DATETIME.test(s))
        errors.push(`${path}: ${JSON.stringify(s)} is not an RFC 3339 timestamp`);
      return errors;
    }
    case "array":
      if (k !== "array") return [`${path}: expected array, got ${k}`];
      return (value as unknown[]).flatMap((x, i) => (schema.items ? check(api, schema.items, x, `${path}[${i}]`) : []));
    case "object": {
      if (k !== "object") return [`${path}: expected object, got ${k}`];
      const errors: string[] = [];
      for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
        const sub = schema.properties?.[key] ?? schema.additionalProperties;
        if (!sub) errors.push(`${path}.${key}: not a field of ${schema.id ?? "this object"}`);
        else errors.push(...check(api, sub, v, `${path}.${key}`));
      }
      return errors;
    }
    default:
      return [`${path}: unknown schema type ${String(t)}`];
  }
}

/** google.rpc.Code names and the HTTP status each one maps to (cloud-api-contracts.md §2.0). */
export const RPC_HTTP: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  OUT_OF_RANGE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  ABORTED: 409,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
};

/**
 * Errors for a Google JSON error body: `{error:{code,message,status,errors?,details?}}` and nothing else, `code`
 * equal to the HTTP status, `status` a google.rpc.Code name that maps to it, every `details` entry typed.
 */
export function validateErrorEnvelope(httpStatus: number, body: unknown): string[] {
  if (kind(body) !== "object") return ["$: expected an object"];
  const top = body as Record<string, unknown>;
  const errors = Object.keys(top)
    .filter((k) => k !== "error")
    .map((k) => `$.${k}: not part of the envelope`);
  const e = top.error as Record<string, unknown> | undefined;
  if (kind(e) !== "object") return [...errors, "$.error: expected an object"];
  const err = e as Record<string, unknown>;
  for (const k of Object.keys(err)) {
    if (!["code", "message", "status", "errors", "details"].includes(k))
      errors.push(`$.error.${k}: not part of the envelope`);
  }
  if (err.code !== httpStatus) errors.push(`$.error.code: ${String(err.code)} is not the HTTP status ${httpStatus}`);
  if (typeof err.message !== "string" || err.message === "") errors.push("$.error.message: expected a message");
  const status = String(err.status);
  if (!(status in RPC_HTTP)) errors.push(`$.error.status: ${status} is not a google.rpc.Code name`);
  else if (RPC_HTTP[status] !== httpStatus && !(httpStatus >= 500 && (RPC_HTTP[status] ?? 0) >= 500))
    errors.push(`$.error.status: ${status} does not go with HTTP ${httpStatus}`);
  if (err.errors !== undefined) {
    if (!Array.isArray(err.errors)) errors.push("$.error.errors: expected an array");
    else
      err.errors.forEach((x: unknown, i) => {
        const r = x as Record<string, unknown>;
        for (const f of ["message", "domain", "reason"])
          if (typeof r?.[f] !== "string") errors.push(`$.error.errors[${i}].${f}: expected a string`);
      });
  }
  if (err.details !== undefined) {
    if (!Array.isArray(err.details)) errors.push("$.error.details: expected an array");
    else
      err.details.forEach((x: unknown, i) => {
        const at = (x as Record<string, unknown>)?.["@type"];
        if (typeof at !== "string" || !at.startsWith("type.googleapis.com/"))
          errors.push(`$.error.details[${i}]: expected an @type type.googleapis.com/...`);
      });
  }
  return errors;
}
