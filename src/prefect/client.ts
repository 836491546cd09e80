/**
 * The PrefectApi over any Transport (HTTP or the embedded API), and `connect()` which picks the
 * transport from the settings: an API URL means Cloud or a server, none means the embedded API.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { ApiError, AuthError } from "../errors.js";
import type { PrefectApi } from "./api.js";
import type { Settings } from "./settings.js";
import { type ApiRequest, seg, type Transport } from "./transport.js";
import type { BlockDocument, BlockSchema, BlockType, FlowRun, ServerKind, WorkerMetadata, WorkPool } from "./types.js";

export const WP_VERSION = "0.1.0";
const PAGE = 200;

export interface ConnectOptions {
  env: Record<string, string | undefined>;
  debug?: (line: string) => void;
}

/** Connects to the configured API. The embedded API (and SQLite) is loaded only when used. */
export async function connect(settings: Settings, opts: ConnectOptions): Promise<PrefectApi & { close(): void }> {
  if (settings.apiUrl) {
    const cloud = settings.apiUrl.startsWith(settings.cloudApiUrl);
    const { httpTransport, API_VERSION } = await import("./http.js");
    const transport = httpTransport({
      settings,
      cloud,
      userAgent: `wp/${WP_VERSION} (API ${API_VERSION})`,
      ...(opts.debug ? { debug: opts.debug } : {}),
    });
    const kind: ServerKind = cloud ? "cloud" : "server";
    const label = cloud
      ? `Prefect Cloud workspace ${cloudWorkspace(settings.apiUrl)}`
      : `Prefect server ${settings.apiUrl}`;
    return Object.assign(new Client(transport, kind, label, settings.apiUrl, uiUrl(settings)), { close() {} });
  }
  const home = opts.env.WP_HOME || join(homedir(), ".wp");
  const { createEmbeddedApi } = await import("./embedded/api.js");
  const api = createEmbeddedApi({ home });
  const client = new Client(api.handle, "embedded", `wp embedded API (${home})`, `embedded:${home}`, null);
  return Object.assign(client, { close: () => api.close() });
}

function cloudWorkspace(url: string): string {
  const m = /accounts\/([^/]+)\/workspaces\/([^/]+)/.exec(url);
  return m ? `${m[1]}/${m[2]}` : url;
}

/** Prefect's UI URL rules (spec §9.6). */
export function uiUrl(settings: Settings): string | null {
  if (settings.uiUrl) return settings.uiUrl.replace(/\/+$/, "");
  const api = settings.apiUrl;
  if (!api) return null;
  let ui = api;
  if (api.startsWith(settings.cloudApiUrl)) {
    const cloudUi = settings.cloudApiUrl.replace("https://api", "https://app").replace(/\/api$/, "");
    ui = cloudUi + api.slice(settings.cloudApiUrl.length);
  }
  return ui
    .replace(/\/api$/, "")
    .replace("/api/", "/")
    .replace("/accounts/", "/account/")
    .replace("/workspaces/", "/workspace/");
}

/** The message in a Prefect error body: `detail`, or the first `exception_detail` msg. */
export function errorDetail(body: unknown): string | null {
  if (typeof body === "string" && body) return body.slice(0, 300);
  if (!body || typeof body !== "object") return null;
  const b = body as { detail?: unknown; exception_detail?: Array<{ msg?: string; loc?: unknown[] }> };
  if (typeof b.detail === "string") return b.detail;
  if (Array.isArray(b.detail) && b.detail[0] && typeof b.detail[0] === "object") {
    return String((b.detail[0] as { msg?: string }).msg ?? JSON.stringify(b.detail[0]));
  }
  const first = b.exception_detail?.[0];
  if (first?.msg) return first.msg.replace(/^Value error, /, "");
  return null;
}

class Client implements PrefectApi {
  constructor(
    private readonly transport: Transport,
    readonly kind: ServerKind,
    readonly label: string,
    readonly url: string,
    readonly uiUrl: string | null,
  ) {}

  /** Sends a request; 2xx returns the body, `nullOn404` turns 404 into null, anything else throws. */
  private async call<T>(req: ApiRequest, nullOn404 = false): Promise<T> {
    const res = await this.transport(req);
    if (res.status >= 200 && res.status < 300) return res.body as T;
    if (res.status === 404 && nullOn404) return null as T;
    const detail = errorDetail(res.body);
    if (res.status === 401 || (res.status === 403 && !detail)) {
      throw new AuthError(
        `The Prefect API at ${this.url} refused the request (${res.status}${detail ? `: ${detail}` : ""}).`,
        this.kind === "cloud"
          ? "Check PREFECT_API_KEY (create a key in Prefect Cloud under API keys)."
          : "Check PREFECT_API_KEY or PREFECT_API_AUTH_STRING for this server.",
      );
    }
    throw new ApiError(detail ?? `The Prefect API answered ${res.status} to ${req.method} ${req.path}.`, res.status);
  }

  async health(): Promise<void> {
    await this.call({ method: "GET", path: "/health" });
  }
  readWorkPool(name: string) {
    return this.call<WorkPool | null>({ method: "GET", path: `/work_pools/${seg(name)}` }, true);
  }
  /** Every pool, a page of 200 (Prefect's default limit) at a time. */
  async listWorkPools() {
    const pools: WorkPool[] = [];
    for (;;) {
      const page = await this.call<WorkPool[]>({
        method: "POST",
        path: "/work_pools/filter",
        body: { limit: PAGE, offset: pools.length, work_pools: null },
      });
      pools.push(...page);
      if (page.length < PAGE) return pools;
    }
  }
  createWorkPool(body: Parameters<PrefectApi["createWorkPool"]>[0]) {
    return this.call<WorkPool>({ method: "POST", path: "/work_pools/", body });
  }
  async updateWorkPool(name: string, body: Parameters<PrefectApi["updateWorkPool"]>[1]) {
    await this.call({ method: "PATCH", path: `/work_pools/${seg(name)}`, body });
  }
  async deleteWorkPool(name: string) {
    await this.call({ method: "DELETE", path: `/work_pools/${seg(name)}` });
  }
  scheduledFlowRuns(name: string, scheduledBefore: Date) {
    return this.call<FlowRun[]>({
      method: "POST",
      path: `/work_pools/${seg(name)}/get_scheduled_flow_runs`,
      body: { scheduled_before: scheduledBefore.toISOString() },
    });
  }
  readBlockType(slug: string) {
    return this.call<BlockType | null>({ method: "GET", path: `/block_types/slug/${seg(slug)}` }, true);
  }
  createBlockType(body: Parameters<PrefectApi["createBlockType"]>[0]) {
    return this.call<BlockType>({ method: "POST", path: "/block_types/", body });
  }
  readBlockSchemaByChecksum(checksum: string, version?: string) {
    return this.call<BlockSchema | null>(
      { method: "GET", path: `/block_schemas/checksum/${seg(checksum)}`, ...(version ? { query: { version } } : {}) },
      true,
    );
  }
  createBlockSchema(body: Parameters<PrefectApi["createBlockSchema"]>[0]) {
    return this.call<BlockSchema>({ method: "POST", path: "/block_schemas/", body });
  }
  async latestBlockSchema(blockTypeId: string) {
    const list = await this.call<BlockSchema[]>({
      method: "POST",
      path: "/block_schemas/filter",
      body: { block_schemas: { block_type_id: { any_: [blockTypeId] } }, limit: 1 },
    });
    return list[0] ?? null;
  }
  readBlockDocument(slug: string, name: string, includeSecrets = false) {
    return this.call<BlockDocument | null>(
      {
        method: "GET",
        path: `/block_types/slug/${seg(slug)}/block_documents/name/${seg(name)}`,
        query: { include_secrets: String(includeSecrets) },
      },
      true,
    );
  }
  /** Every document of a block type, a page of 200 at a time. */
  async listBlockDocuments(slug: string) {
    const docs: BlockDocument[] = [];
    for (;;) {
      const page = await this.call<BlockDocument[]>({
        method: "POST",
        path: "/block_documents/filter",
        body: { block_types: { slug: { any_: [slug] } }, limit: PAGE, offset: docs.length },
      });
      docs.push(...page);
      if (page.length < PAGE) return docs;
    }
  }
  createBlockDocument(body: Parameters<PrefectApi["createBlockDocument"]>[0]) {
    return this.call<BlockDocument>({ method: "POST", path: "/block_documents/", body });
  }
  async deleteBlockDocument(id: string) {
    await this.call({ method: "DELETE", path: `/block_documents/${seg(id)}` });
  }
  async workerMetadata(): Promise<WorkerMetadata | null> {
    const path =
      this.kind === "cloud" ? "/collections/work_pool_types" : "/collections/views/aggregate-worker-metadata";
    try {
      return await this.call<WorkerMetadata | null>({ method: "GET", path }, true);
    } catch (err) {
      if (err instanceof AuthError) throw err;
      return null;
    }
  }
}
