/**
 * Validates requests and responses against Prefect's OpenAPI document (fixtures/openapi-schema.json, paths relative to
 * the /api mount). Each function returns a list of errors; an empty list means valid.
 */
import { readFileSync } from "node:fs";
import type { ValidateFunction } from "ajv";
import Ajv2020Module from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

type Json = Record<string, unknown>;

interface Operation {
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

const BASE = "https://wp.invalid/prefect-openapi.json";
const doc = JSON.parse(readFileSync(new URL("../../fixtures/openapi-schema.json", import.meta.url), "utf8")) as {
  paths: Record<string, Record<string, Operation>>;
  components: Json;
};

// CommonJS modules: under NodeNext the default import is `module.exports`, whose `.default` is the export.
const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
ajv.addSchema({ $id: BASE, components: doc.components });

/** Rewrites document-relative refs (`#/components/...`) so an inline operation schema resolves them. */
function rebase(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(rebase);
  if (typeof v !== "object" || v === null) return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [
      k,
      k === "$ref" && typeof x === "string" && x.startsWith("#") ? BASE + x : rebase(x),
    ]),
  );
}

const cache = new Map<string, ValidateFunction>();
let counter = 0;

function compile(key: string, schema: unknown): ValidateFunction {
  const cached = cache.get(key);
  if (cached) return cached;
  const rebased = rebase(schema);
  const body = typeof rebased === "object" && rebased !== null ? rebased : {};
  const fn = ajv.compile({ ...body, $id: `${BASE}/op/${counter++}` });
  cache.set(key, fn);
  return fn;
}

const templates = Object.keys(doc.paths).map((t) => ({ template: t, parts: t.split("/").filter((s) => s !== "") }));

/** The OpenAPI operation for a concrete path (percent-encoded, query ignored); literal segments win over params. */
export function findOperation(method: string, path: string): { template: string; op: Operation } | null {
  const segments = (path.split("?")[0] ?? "").split("/").filter((s) => s !== "");
  const m = method.toLowerCase();
  const matches = templates
    .filter(({ parts }) => parts.length === segments.length)
    .filter(({ parts }) => parts.every((p, i) => p.startsWith("{") || p === segments[i]))
    .filter(({ template }) => doc.paths[template]?.[m] !== undefined)
    .sort(
      (a, b) => b.parts.filter((p) => !p.startsWith("{")).length - a.parts.filter((p) => !p.startsWith("{")).length,
    );
  const best = matches[0];
  const op = best ? doc.paths[best.template]?.[m] : undefined;
  return best && op ? { template: best.template, op } : null;
}

function errorsOf(fn: ValidateFunction, value: unknown): string[] {
  if (fn(value)) return [];
  return (fn.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
}

const isEmpty = (body: unknown): boolean => body === undefined || body === null || body === "";

export function validateRequest(method: string, path: string, body: unknown): string[] {
  const found = findOperation(method, path);
  if (!found) return [`no OpenAPI operation for ${method.toUpperCase()} ${path}`];
  const rb = found.op.requestBody;
  const schema = rb?.content?.["application/json"]?.schema;
  if (!rb || schema === undefined) return isEmpty(body) ? [] : ["the operation takes no request body"];
  if (body === undefined) return rb.required ? ["a request body is required"] : [];
  return errorsOf(compile(`${method} ${found.template} request`, schema), body);
}

/** Prefect's error bodies: `{"detail": ...}` (HTTPException / FastAPI) or the 422 `exception_detail` shape. */
function isErrorBody(body: unknown): boolean {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  const b = body as Json;
  if (typeof b.detail === "string" || Array.isArray(b.detail)) return true;
  return typeof b.exception_message === "string";
}

/**
 * A documented status code: the body must match its schema (no schema: the body must be empty), except that a 4xx/5xx
 * may carry one of Prefect's error bodies (FastAPI documents only its own 422 shape). An undocumented status code is
 * an error unless it is a 4xx/5xx with an error body.
 */
export function validateResponse(method: string, path: string, status: number, body: unknown): string[] {
  const found = findOperation(method, path);
  const errorOk = status >= 400 && isErrorBody(body);
  if (!found) return errorOk ? [] : [`no OpenAPI operation for ${method.toUpperCase()} ${path} (status ${status})`];
  const response = found.op.responses?.[String(status)];
  if (!response)
    return errorOk ? [] : [`status ${status} is not documented for ${method.toUpperCase()} ${found.template}`];
  const schema = response.content?.["application/json"]?.schema;
  if (schema === undefined) return isEmpty(body) ? [] : [`status ${status} is documented without a body`];
  const errors = errorsOf(compile(`${method} ${found.template} ${status}`, schema), body);
  return errors.length > 0 && errorOk ? [] : errors;
}
