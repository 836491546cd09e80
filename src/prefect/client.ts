/**
 * The PrefectApi over any Transport (HTTP or the embedded API), and `connect()` which picks the
 * transport from the settings: an API URL means Cloud or a server, none means the embedded API.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { ApiError, AuthError } from "../errors.js";
import { WP_VERSION } from "../version.js";
import type { PrefectApi } from "./api.js";
import { type LeaseApi, leaseApi } from "./leases.js";
import { NotPrefectError, notPrefect, oneLine } from "./not-prefect.js";
import type { Shape } from "./remote-schemas.js";
import type { Settings } from "./settings.js";
import { type ApiRequest, seg, type Transport } from "./transport.js";
import type { BlockDocument, BlockSchema, BlockType, FlowRun, ServerKind, WorkerMetadata, WorkPool } from "./types.js";

export { WP_VERSION };

const PAGE = 200;

/** Checks a remote answer's shape: null when fine, else what is wrong (see remote-schemas.ts). */
type ShapeCheck = (shape: Shape, body: unknown) => string | null;

interface CallOptions {
  /** The shape a 2xx answer must have (checked on the HTTP path only). */
  shape?: Shape;
  /** 404 (with Prefect's error body) means "absent": return null. */
  nullOn404?: boolean;
}

export interface ConnectOptions {
  env: Record<string, string | undefined>;
  debug?: (line: string) => void;
}

/** Connects to the configured API. The embedded API (and SQLite) is loaded only when used. */
export async function connect(settings: Settings, opts: ConnectOptions): Promise<PrefectApi & { close(): void }> {
  if (settings.apiUrl) {
    const cloud = settings.apiUrl.startsWith(settings.cloudApiUrl);
    // zod (remote-schemas) loads here only: the embedded API is trusted and `wp --help` needs neither.
    const [{ httpTransport, API_VERSION }, { checkShape }] = await Promise.all([
      import("./http.js"),
      import("./remote-schemas.js"),
    ]);
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
    const client = new Client(transport, kind, label, settings.apiUrl, uiUrl(settings), checkShape);
    return Object.assign(client, { close() {} });
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

/**
 * The message in a Prefect error body, on one line: `detail`, the first `exception_detail` msg, or
 * `exception_message`.
 */
export function errorDetail(body: unknown): string | null {
  const found = rawDetail(body);
  return found ? oneLine(found) : null;
}

function rawDetail(body: unknown): string | null {
  if (typeof body === "string" && body) return body;
  if (!body || typeof body !== "object") return null;
  const b = body as { detail?: unknown; exception_detail?: unknown; exception_message?: unknown };
  if (typeof b.detail === "string") return b.detail;
  if (Array.isArray(b.detail) && b.detail[0] && typeof b.detail[0] === "object") {
    return String((b.detail[0] as { msg?: string }).msg ?? JSON.stringify(b.detail[0]));
  }
  const first: unknown = Array.isArray(b.exception_detail) ? b.exception_detail[0] : undefined;
  const msg = first && typeof first === "object" ? (first as { msg?: unknown }).msg : undefined;
  if (typeof msg === "string" && msg) return msg.replace(/^Value error, /, "");
  if (typeof b.exception_message === "string" && b.exception_message) return b.exception_message;
  return null;
}

/** Prefect's error bodies: `{"detail": …}` (HTTPException) or `{"exception_message": …}`. */
function isPrefectError(body: unknown): boolean {
  if (!body || typeof body !== "object" || Array.isArray(body)) return false;
  const b = body as { detail?: unknown; exception_message?: unknown };
  return b.detail !== undefined || typeof b.exception_message === "string";
}

class Client implements PrefectApi {
  /** Global concurrency leases: wp's locks shared by every machine using this API (not for the embedded API). */
  readonly leases?: LeaseApi;

  constructor(
    private readonly transport: Transport,
    readonly kind: ServerKind,
    readonly label: string,
    readonly url: string,
    readonly uiUrl: string | null,
    /** Set for remote APIs: answers are checked against the shapes wp relies on. */
    private readonly check?: ShapeCheck,
  ) {
    if (kind !== "embedded") this.leases = leaseApi((req) => this.call(req), this.target);
  }

  private get target(): string {
    return `${this.kind === "cloud" ? "Prefect Cloud" : "Prefect server"} ${this.url}`;
  }

  /**
   * Sends a request; 2xx returns the body (of `shape`, else a NotPrefectError), `nullOn404` turns 404 into null,
   * anything else throws.
   */
  private async call<T>(req: ApiRequest, opts: CallOptions = {}): Promise<T> {
    const res = await this.transport(req);
    if (res.status >= 200 && res.status < 300) {
      const problem = this.check && opts.shape ? this.check(opts.shape, res.body) : null;
      if (problem) throw notPrefect(this.target, `${req.method} ${req.path} with ${problem}`);
      return res.body as T;
    }
    // A remote error without Prefect's error body (`detail` / `exception_message`) is someone else's answer.
    const foreign = this.check !== undefined && !isPrefectError(res.body);
    if (res.status === 404 && opts.nullOn404 && !foreign) return null as T;
    const detail = errorDetail(res.body);
    if (res.status === 401 || (res.status === 403 && !detail)) {
      throw new AuthError(
        `The Prefect API at ${this.url} refused the request (${res.status}${detail ? `: ${detail}` : ""}).`,
        this.kind === "cloud"
          ? "Check PREFECT_API_KEY (create a key in Prefect Cloud under API keys)."
          : "Check PREFECT_API_KEY or PREFECT_API_AUTH_STRING for this server.",
      );
    }
    if (foreign)
      throw notPrefect(this.target, `${res.status} to ${req.method} ${req.path} without Prefect's error body`);
    throw new ApiError(
      detail ?? `The Prefect API at ${this.url} answered ${res.status} to ${req.method} ${req.path}.`,
      res.status,
    );
  }

  async health(): Promise<void> {
    await this.call({ method: "GET", path: "/health" });
  }
  readWorkPool(name: string) {
    return this.call<WorkPool | null>(
      { method: "GET", path: `/work_pools/${seg(name)}` },
      { shape: "workPool", nullOn404: true },
    );
  }
  /** Every pool, a page of 200 (Prefect's default limit) at a time. */
  async listWorkPools() {
    const pools: WorkPool[] = [];
    for (;;) {
      const page = await this.call<WorkPool[]>(
        { method: "POST", path: "/work_pools/filter", body: { limit: PAGE, offset: pools.length, work_pools: null } },
        { shape: "workPools" },
      );
      pools.push(...page);
      if (page.length < PAGE) return pools;
    }
  }
  createWorkPool(body: Parameters<PrefectApi["createWorkPool"]>[0]) {
    return this.call<WorkPool>({ method: "POST", path: "/work_pools/", body }, { shape: "workPool" });
  }
  async updateWorkPool(name: string, body: Parameters<PrefectApi["updateWorkPool"]>[1]) {
    await this.call({ method: "PATCH", path: `/work_pools/${seg(name)}`, body });
  }
  async deleteWorkPool(name: string) {
    await this.call({ method: "DELETE", path: `/work_pools/${seg(name)}` });
  }
  scheduledFlowRuns(name: string, scheduledBefore: Date) {
    return this.call<FlowRun[]>(
      {
        method: "POST",
        path: `/work_pools/${seg(name)}/get_scheduled_flow_runs`,
        body: { scheduled_before: scheduledBefore.toISOString() },
      },
      { shape: "flowRuns" },
    );
  }
  readBlockType(slug: string) {
    return this.call<BlockType | null>(
      { method: "GET", path: `/block_types/slug/${seg(slug)}` },
      { shape: "blockType", nullOn404: true },
    );
  }
  createBlockType(body: Parameters<PrefectApi["createBlockType"]>[0]) {
    return this.call<BlockType>({ method: "POST", path: "/block_types/", body }, { shape: "blockType" });
  }
  readBlockSchemaByChecksum(checksum: string, version?: string) {
    return this.call<BlockSchema | null>(
      { method: "GET", path: `/block_schemas/checksum/${seg(checksum)}`, ...(version ? { query: { version } } : {}) },
      { shape: "blockSchema", nullOn404: true },
    );
  }
  createBlockSchema(body: Parameters<PrefectApi["createBlockSchema"]>[0]) {
    return this.call<BlockSchema>({ method: "POST", path: "/block_schemas/", body }, { shape: "blockSchema" });
  }
  async latestBlockSchema(blockTypeId: string) {
    const list = await this.call<BlockSchema[]>(
      {
        method: "POST",
        path: "/block_schemas/filter",
        body: { block_schemas: { block_type_id: { any_: [blockTypeId] } }, limit: 1 },
      },
      { shape: "blockSchemas" },
    );
    return list[0] ?? null;
  }
  readBlockDocument(slug: string, name: string, includeSecrets = false) {
    return this.call<BlockDocument | null>(
      {
        method: "GET",
        path: `/block_types/slug/${seg(slug)}/block_documents/name/${seg(name)}`,
        query: { include_secrets: String(includeSecrets) },
      },
      { shape: "blockDocument", nullOn404: true },
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
    return this.call<BlockDocument>({ method: "POST", path: "/block_documents/", body }, { shape: "blockDocument" });
  }
  readBlockDocumentById(id: string, includeSecrets = false) {
    return this.call<BlockDocument | null>(
      { method: "GET", path: `/block_documents/${seg(id)}`, query: { include_secrets: String(includeSecrets) } },
      { shape: "blockDocument", nullOn404: true },
    );
  }
  async updateBlockDocument(id: string, data: Record<string, unknown>, merge = false) {
    await this.call({
      method: "PATCH",
      path: `/block_documents/${seg(id)}`,
      body: { data, merge_existing_data: merge },
    });
  }
  async flowRunsInPool(name: string, stateTypes: string[]) {
    const runs: FlowRun[] = [];
    for (;;) {
      const body = {
        work_pools: { name: { any_: [name] } },
        flow_runs: { state: { type: { any_: stateTypes } } },
        sort: "START_TIME_ASC",
        limit: PAGE,
        offset: runs.length,
      };
      const page = await this.call<FlowRun[]>(
        { method: "POST", path: "/flow_runs/filter", body },
        { shape: "flowRuns" },
      );
      runs.push(...page);
      if (page.length < PAGE) return runs;
    }
  }
  async poolConcurrencyStatus(name: string, page: number, flowRunLimit: number) {
    try {
      return await this.call<Record<string, unknown>>({
        method: "POST",
        path: `/work_pools/${seg(name)}/concurrency_status`,
        body: { page, flow_run_limit: flowRunLimit },
      });
    } catch (err) {
      // A server without the route answers 404 "Not Found" (or 405); the pool was read just before.
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return null;
      throw err;
    }
  }
  async deleteBlockDocument(id: string) {
    await this.call({ method: "DELETE", path: `/block_documents/${seg(id)}` });
  }
  async workerMetadata(): Promise<WorkerMetadata | null> {
    const path =
      this.kind === "cloud" ? "/collections/work_pool_types" : "/collections/views/aggregate-worker-metadata";
    try {
      return await this.call<WorkerMetadata | null>(
        { method: "GET", path },
        { shape: "workerMetadata", nullOn404: true },
      );
    } catch (err) {
      if (err instanceof AuthError || err instanceof NotPrefectError) throw err;
      return null;
    }
  }
}
