/**
 * wp's embedded Prefect-compatible API: the routes wp uses, with Prefect's JSON shapes, status codes and validation,
 * over a SQLite store in `home`. Called in-process as a Transport, or served over HTTP by http.ts.
 */
import { readData } from "../../data.js";
import type { ApiRequest, ApiResponse, Transport } from "../transport.js";
import * as catalog from "./catalog.js";
import * as docs from "./documents.js";
import * as pools from "./pools.js";
import { registerBundledBlockTypes } from "./registry.js";
import { openStore, type Store } from "./store.js";
import { detail, ok, type Result } from "./validate.js";

interface Ctx {
  store: Store;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
}

type Method = ApiRequest["method"];
type Handler = (ctx: Ctx) => Result;

const p = (ctx: Ctx, name: string): string => ctx.params[name] ?? "";

let workerMetadata: unknown;

function readView(view: string): Result {
  if (view !== "aggregate-worker-metadata") return detail(404, `View ${view} not found in registry`);
  workerMetadata ??= readData<unknown>("aggregate-worker-metadata.json");
  return ok(workerMetadata);
}

const ROUTES: [Method, string, Handler][] = [
  ["GET", "/health", () => ok(true)],
  ["GET", "/csrf-token", () => detail(422, "CSRF protection is disabled.")],
  ["POST", "/work_pools/", (c) => pools.createPool(c.store, c.body)],
  ["POST", "/work_pools/filter", (c) => pools.filterPools(c.store, c.body)],
  ["GET", "/work_pools/{name}", (c) => pools.readPool(c.store, p(c, "name"))],
  ["PATCH", "/work_pools/{name}", (c) => pools.updatePool(c.store, p(c, "name"), c.body)],
  ["DELETE", "/work_pools/{name}", (c) => pools.deletePool(c.store, p(c, "name"))],
  ["POST", "/work_pools/{name}/get_scheduled_flow_runs", (c) => pools.scheduledRuns(c.store, p(c, "name"), c.body)],
  ["POST", "/block_types/", (c) => catalog.createType(c.store, c.body)],
  ["POST", "/block_types/filter", (c) => catalog.filterTypes(c.store, c.body)],
  ["GET", "/block_types/slug/{slug}", (c) => catalog.readTypeBySlug(c.store, p(c, "slug"))],
  [
    "GET",
    "/block_types/slug/{slug}/block_documents/name/{name}",
    (c) => docs.readDocumentByName(c.store, p(c, "slug"), p(c, "name"), docs.queryFlag(c.query.include_secrets)),
  ],
  ["POST", "/block_schemas/", (c) => catalog.createSchema(c.store, c.body)],
  ["POST", "/block_schemas/filter", (c) => catalog.filterSchemas(c.store, c.body)],
  [
    "GET",
    "/block_schemas/checksum/{checksum}",
    (c) => catalog.readSchemaByChecksum(c.store, p(c, "checksum"), c.query.version),
  ],
  ["POST", "/block_documents/", (c) => docs.createDocument(c.store, c.body)],
  ["POST", "/block_documents/filter", (c) => docs.filterDocuments(c.store, c.body)],
  [
    "GET",
    "/block_documents/{id}",
    (c) => docs.readDocument(c.store, p(c, "id"), docs.queryFlag(c.query.include_secrets)),
  ],
  ["PATCH", "/block_documents/{id}", (c) => docs.updateDocument(c.store, p(c, "id"), c.body)],
  ["DELETE", "/block_documents/{id}", (c) => docs.deleteDocument(c.store, p(c, "id"))],
  ["GET", "/collections/views/{view}", (c) => readView(p(c, "view"))],
];

const split = (path: string): string[] => path.split("/").filter((s) => s !== "");

const COMPILED = ROUTES.map(([method, template, handler]) => ({
  method,
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
      try {
        params[part.slice(1, -1)] = decodeURIComponent(seg);
      } catch {
        return null;
      }
    } else if (part !== seg) return null;
  }
  return params;
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
    return r.handler({ store, params: params ?? {}, query, body: req.body });
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
    const headers: Record<string, string> = result.body === undefined ? {} : { "content-type": "application/json" };
    return { status: result.status, headers, body: result.body };
  };
  return { handle, close: () => store.close() };
}
