/**
 * wp's embedded Prefect-compatible API: the routes wp uses, with Prefect's JSON shapes, status codes and validation,
 * over a SQLite store in `home`. Called in-process as a Transport, or served over HTTP by http.ts.
 */
import { readData } from "../../data.js";
import type { ApiRequest, ApiResponse, Transport } from "../transport.js";
import * as catalog from "./catalog.js";
import * as gcl from "./concurrency.js";
import * as docs from "./documents.js";
import { type Checks, operation, usesLimitBody, validateBody, validateField, validateQuery } from "./model.js";
import * as pools from "./pools.js";
import { registerBundledBlockTypes } from "./registry.js";
import { openStore, type Store } from "./store.js";
import { detail, type FieldError, invalid, type Json, ok, PATH_UUID, type Result } from "./validate.js";
import * as variables from "./variables.js";

export interface Ctx {
  store: Store;
  params: Record<string, string>;
  /** The declared query parameters, coerced (e.g. `include_secrets` as a boolean). */
  query: Json;
  /** The body as validated and coerced against the operation's schema (only the fields sent). */
  body: Json;
  /** The body as received. */
  raw: unknown;
  /** Prefect's `LimitBody` value for filter routes (default 200). */
  limit: number;
}

type Method = ApiRequest["method"];
type Handler = (ctx: Ctx) => Result;

/** The Prefect server version this API answers like (`GET /admin/version`, Prefect's `prefect.__version__`). */
export const PREFECT_VERSION = "3.4.25";
/**
 * The REST API version (`GET /version`): Prefect's `SERVER_API_VERSION`, which a genuine 3.4.25 server answers there
 * and which its client sends as `X-PREFECT-API-VERSION` (shared/reference/prefect-work-pool-spec.md §9.1).
 */
export const API_VERSION = "0.8.4";
/** PREFECT_API_DEFAULT_LIMIT: the default and the maximum `limit` of filter routes. */
const DEFAULT_LIMIT = 200;

const p = (ctx: Ctx, name: string): string => ctx.params[name] ?? "";

let workerMetadata: unknown;

function readView(view: string): Result {
  if (view !== "aggregate-worker-metadata") return detail(404, `View ${view} not found in registry`);
  workerMetadata ??= readData<unknown>("aggregate-worker-metadata.json");
  return ok(workerMetadata);
}

/** Prefect's field validators (run after the schema's own checks), by model. */
const CHECKS: Checks = { ...pools.checks, ...catalog.checks, ...docs.checks };

/** Routes as Prefect's routers declare them; `{id:uuid}` matches only Starlette's uuid form (else 404). */
const ROUTES: [Method, string, Handler][] = [
  ["GET", "/health", () => ok(true)],
  ["GET", "/version", () => ok(API_VERSION)],
  ["GET", "/admin/version", () => ok(PREFECT_VERSION)],
  ["GET", "/csrf-token", () => detail(422, "CSRF protection is disabled.")],
  ["POST", "/work_pools/", (c) => pools.createPool(c.store, c.body)],
  ["POST", "/work_pools/filter", (c) => pools.filterPools(c.store, c.body, c.limit)],
  ["GET", "/work_pools/{name}", (c) => pools.readPool(c.store, p(c, "name"))],
  ["PATCH", "/work_pools/{name}", (c) => pools.updatePool(c.store, p(c, "name"), c.body)],
  ["DELETE", "/work_pools/{name}", (c) => pools.deletePool(c.store, p(c, "name"))],
  ["POST", "/work_pools/{name}/get_scheduled_flow_runs", (c) => pools.scheduledRuns(c.store, p(c, "name"))],
  // The embedded API runs no flows: no flow run ever holds a slot (what `wp slots` reads).
  ["POST", "/flow_runs/filter", () => ok([])],
  ["POST", "/block_types/", (c) => catalog.createType(c.store, c.body)],
  ["POST", "/block_types/filter", (c) => catalog.filterTypes(c.store, c.body, c.limit)],
  ["GET", "/block_types/slug/{slug}", (c) => catalog.readTypeBySlug(c.store, p(c, "slug"))],
  [
    "GET",
    "/block_types/slug/{slug}/block_documents/name/{block_document_name}",
    (c) =>
      docs.readDocumentByName(c.store, p(c, "slug"), p(c, "block_document_name"), c.query.include_secrets === true),
  ],
  ["POST", "/block_schemas/", (c) => catalog.createSchema(c.store, c.body)],
  ["POST", "/block_schemas/filter", (c) => catalog.filterSchemas(c.store, c.body, c.limit)],
  [
    "GET",
    "/block_schemas/checksum/{checksum}",
    (c) => catalog.readSchemaByChecksum(c.store, p(c, "checksum"), c.query.version as string | undefined),
  ],
  ["POST", "/block_documents/", (c) => docs.createDocument(c.store, c.body)],
  ["POST", "/block_documents/filter", (c) => docs.filterDocuments(c.store, c.body, c.limit)],
  [
    "GET",
    "/block_documents/{id:uuid}",
    (c) => docs.readDocument(c.store, p(c, "id"), c.query.include_secrets === true),
  ],
  ["PATCH", "/block_documents/{id:uuid}", (c) => docs.updateDocument(c.store, p(c, "id"), c.body)],
  ["DELETE", "/block_documents/{id:uuid}", (c) => docs.deleteDocument(c.store, p(c, "id"))],
  ["GET", "/collections/views/{view}", (c) => readView(p(c, "view"))],
  // Global concurrency limits and their leases (wp's locks shared by every machine), and variables (who holds them).
  ["POST", "/v2/concurrency_limits/", (c) => gcl.createLimit(c.store, c.body)],
  ["POST", "/v2/concurrency_limits/filter", (c) => gcl.filterLimits(c.store, c.body, c.limit)],
  ["GET", "/v2/concurrency_limits/{id_or_name}", (c) => gcl.readLimit(c.store, p(c, "id_or_name"))],
  ["DELETE", "/v2/concurrency_limits/{id_or_name}", (c) => gcl.deleteLimit(c.store, p(c, "id_or_name"))],
  ["POST", "/v2/concurrency_limits/increment-with-lease", (c) => gcl.incrementWithLease(c.store, c.body)],
  ["POST", "/v2/concurrency_limits/decrement-with-lease", (c) => gcl.decrementWithLease(c.store, c.body)],
  [
    "POST",
    "/v2/concurrency_limits/leases/{lease_id:uuid}/renew",
    (c) => gcl.renewLease(c.store, p(c, "lease_id"), c.body),
  ],
  ["POST", "/variables/", (c) => variables.createVariable(c.store, c.body)],
  ["GET", "/variables/name/{name}", (c) => variables.readVariable(c.store, p(c, "name"))],
  ["PATCH", "/variables/name/{name}", (c) => variables.updateVariable(c.store, p(c, "name"), c.body)],
  ["DELETE", "/variables/name/{name}", (c) => variables.deleteVariable(c.store, p(c, "name"))],
];

/** The routes as `METHOD template` with OpenAPI's spelling of the template (the keys of data/api-schemas.json). */
export const ROUTE_KEYS: readonly string[] = ROUTES.map(([m, t]) => `${m} ${t.replaceAll(":uuid}", "}")}`);

const split = (path: string): string[] => path.split("/").filter((s) => s !== "");

const COMPILED = ROUTES.map(([method, template, handler]) => ({
  method,
  key: `${method} ${template.replaceAll(":uuid}", "}")}`,
  parts: split(template),
  literals: split(template).filter((s) => !s.startsWith("{")).length,
  handler,
}));

/** Params of `parts` against the request segments, or null when the path does not match (or is badly encoded). */
function match(parts: string[], segments: string[]): Record<string, string> | null {
  if (parts.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of parts.entries()) {
    const seg = segments[i] ?? "";
    if (part.startsWith("{")) {
      const [name = "", convertor] = part.slice(1, -1).split(":");
      let value: string;
      try {
        value = decodeURIComponent(seg);
      } catch {
        return null;
      }
      if (convertor === "uuid" && !PATH_UUID.test(value)) return null;
      params[name] = value;
    } else if (part !== seg) return null;
  }
  return params;
}

/** Validates the request as FastAPI would (LimitBody dependency first, then query and body) and runs the handler. */
function dispatch(
  store: Store,
  key: string,
  handler: Handler,
  params: Record<string, string>,
  q: Record<string, string>,
  raw: unknown,
): Result {
  const op = operation(key);
  const errors: FieldError[] = [];
  let limit = DEFAULT_LIMIT;
  const hasLimit = op !== undefined && usesLimitBody(op);
  if (op && hasLimit) {
    const field = validateField(op, raw, "limit");
    errors.push(...field.errors);
    if (typeof field.value === "number") {
      if (field.value > DEFAULT_LIMIT)
        return detail(422, `Invalid limit: must be less than or equal to ${DEFAULT_LIMIT}.`);
      if (field.value < 0) return detail(422, "Invalid limit: must be greater than or equal to 0.");
      limit = field.value;
    }
  }
  const query = validateQuery(op, q);
  errors.push(...query.errors);
  const body = op ? validateBody(op, raw, CHECKS, hasLimit ? ["limit"] : []) : { body: {}, errors: [] };
  errors.push(...body.errors);
  if (errors.length > 0) return invalid(raw, errors);
  return handler({ store, params, query: query.body, body: body.body, raw, limit });
}

/** Routes one request (path relative to the API root, query possibly inline). */
export function route(store: Store, req: ApiRequest): Result {
  const q = req.path.indexOf("?");
  const pathname = q < 0 ? req.path : req.path.slice(0, q);
  const search = q < 0 ? "" : req.path.slice(q + 1);
  const query: Record<string, string> = { ...Object.fromEntries(new URLSearchParams(search)), ...req.query };
  const segments = split(pathname);
  let methodMismatch = false;
  const candidates = COMPILED.map((r) => ({ r, params: match(r.parts, segments) }))
    .filter((m) => m.params !== null)
    .sort((a, b) => b.r.literals - a.r.literals);
  for (const { r, params } of candidates) {
    if (r.method !== req.method) {
      methodMismatch = true;
      continue;
    }
    return dispatch(store, r.key, r.handler, params ?? {}, query, req.body);
  }
  return methodMismatch ? detail(405, "Method Not Allowed") : detail(404, "Not Found");
}

export interface EmbeddedOptions {
  home: string;
  /** Register the bundled block types on first start (default true; tests turn it off to act as a bare server). */
  registerBlockTypes?: boolean;
}

/** Opens the store in `home` (registering the bundled block types on first start) and returns the API. */
export function createEmbeddedApi(opts: EmbeddedOptions): { handle: Transport; close(): void } {
  const store = openStore(opts.home);
  try {
    if (opts.registerBlockTypes !== false) registerBundledBlockTypes(store);
  } catch (err) {
    store.close();
    throw err;
  }
  const handle: Transport = async (req): Promise<ApiResponse> => {
    let result: Result;
    try {
      result = route(store, req);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      result = { status: 500, body: { exception_message: "Internal Server Error", detail: message } };
    }
    const headers: Record<string, string> = {
      ...result.headers,
      ...(result.body === undefined ? {} : { "content-type": "application/json" }),
    };
    return { status: result.status, headers, body: result.body };
  };
  return { handle, close: () => store.close() };
}
