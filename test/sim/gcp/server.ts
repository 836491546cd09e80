/**
 * A stateful Google Cloud simulator on 127.0.0.1, for what the Cloud Run provisioner calls:
 * OAuth token endpoint, Cloud Resource Manager v1 (projects list/get, get/setIamPolicy with etags,
 * getEffectiveOrgPolicy), Service Usage v1 (services get/enable as long-running operations),
 * IAM v1 (service accounts, keys, the org policy forbidding keys as a switch) and Artifact Registry
 * v1 (repositories, created through operations), Cloud Run Admin v2 jobs and executions, and Cloud
 * Logging v2 `entries:list` (the lines a completed execution wrote), answering with Google's error envelope. One port
 * serves every API (their paths do not collide). It keeps a request log and has fault hooks. Time and failure as
 * Google documents them (lags of new bindings, service accounts and keys, operation errors and 503s, failed
 * executions, org policies, paging, lost answers) are in realism.ts: a realistic mode, or each by name.
 *
 * Answers are typed with the @googleapis packages' own schema types, so a shape that differs from
 * Google's discovery documents is a type error. Artifact Registry has no @googleapis package: its
 * Repository type is written from the v1 discovery document (fields wp uses). test/cloud-run/discovery.test.ts
 * checks the JSON actually served against the discovery documents' schemas (test/sim/gcp/fixtures).
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, verify } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { cloudresourcemanager_v1 } from "@googleapis/cloudresourcemanager";
import type { iam_v1 } from "@googleapis/iam";
import type { serviceusage_v1 } from "@googleapis/serviceusage";
import { type FaultOptions, type GcpFaultName, type Lags, page, Realism } from "./realism.js";

export type { GcpFaultName } from "./realism.js";

type Policy = cloudresourcemanager_v1.Schema$Policy;
type Project = cloudresourcemanager_v1.Schema$Project;
type ServiceAccount = iam_v1.Schema$ServiceAccount;
type ServiceAccountKey = iam_v1.Schema$ServiceAccountKey;
type Operation = serviceusage_v1.Schema$Operation;
type Service = serviceusage_v1.Schema$GoogleApiServiceusageV1Service;

/** Artifact Registry v1 `Repository` (discovery document artifactregistry v1, the fields used here). */
export interface Repository {
  name?: string;
  format?: "DOCKER" | "MAVEN" | "NPM" | "APT" | "YUM" | "PYTHON" | "GO" | "KFP" | "GENERIC";
  mode?: "STANDARD_REPOSITORY" | "VIRTUAL_REPOSITORY" | "REMOTE_REPOSITORY";
  description?: string;
  labels?: Record<string, string>;
  createTime?: string;
  updateTime?: string;
  registryUri?: string;
  sizeBytes?: string;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body (or form fields for /token). */
  body: unknown;
  /** Raw request headers (authorization included, to check what was sent). */
  headers: Record<string, string | string[] | undefined>;
  status: number;
  /** Raw response text (tests look for secrets in neither direction). */
  response: string;
}

export interface Fault {
  /** Matches a request; the first matching fault answers it. */
  match(req: { method: string; path: string }): boolean;
  status: number;
  rpc: string;
  message: string;
  /** How many requests it answers (default 1). */
  times?: number;
  /** `error.details` entries, e.g. an ErrorInfo with reason SERVICE_DISABLED. */
  details?: unknown[];
  /** Seconds for a Retry-After header (429/503 may carry one: https://cloud.google.com/apis/design/errors#retrying_errors). */
  retryAfter?: number;
}

/** An answer that never arrives: the connection is dropped after the request took effect. */
const DROP = Symbol("drop");

interface ProjectState {
  project: Project;
  services: Set<string>;
  policy: Policy;
  serviceAccounts: Map<string, ServiceAccount>;
  keys: Map<string, ServiceAccountKey[]>;
  repositories: Map<string, Repository>;
}

/** Cloud Logging v2 `LogEntry` (discovery document logging v2, the fields the simulator writes). */
export interface LogEntry {
  logName: string;
  resource: { type: string; labels: Record<string, string> };
  timestamp: string;
  receiveTimestamp: string;
  insertId: string;
  labels: Record<string, string>;
  severity?: "DEFAULT" | "INFO" | "ERROR";
  textPayload?: string;
  jsonPayload?: Record<string, unknown>;
}

/** What a job's container prints: stdout lines, or stdout and stderr lines. */
export type ContainerOutput = string[] | { stdout?: string[]; stderr?: string[] };

/** Roles whose permissions include logging.logEntries.list. */
export const LOG_READER_ROLES = [
  "roles/logging.viewer",
  "roles/logging.admin",
  "roles/viewer",
  "roles/editor",
  "roles/owner",
];

/**
 * The default container: it cannot be run, so the simple forms verify uses are interpreted —
 * `sh -c 'echo "text"'` and `echo text` print their text; anything else prints nothing.
 */
export function echoOutput(job: Record<string, unknown>): string[] {
  const c = (job.template as { template?: { containers?: Array<{ command?: string[]; args?: string[] }> } } | undefined)
    ?.template?.containers?.[0];
  const argv = [...(c?.command ?? []), ...(c?.args ?? [])];
  let words: string[] | null = null;
  if (argv[0] === "echo") words = argv.slice(1);
  else if ((argv[0] === "sh" || argv[0] === "/bin/sh") && argv[1] === "-c" && argv.length === 3) {
    const m = /^\s*echo\s+(?:"([^"]*)"|'([^']*)'|([^"'`$;&|<>]*))\s*$/.exec(argv[2] ?? "");
    if (m) words = [m[1] ?? m[2] ?? (m[3] ?? "").trim().split(/\s+/).join(" ")];
  }
  return words ? words.join(" ").split("\n") : [];
}

interface PendingOp {
  op: Operation;
  pollsLeft: number;
  finish(): Operation;
}

const READ_ONLY_POST = /:(getIamPolicy|getEffectiveOrgPolicy|testIamPermissions)$/;

export interface GcpSimOptions {
  /** Projects to create, default one: "wp-sim-project". */
  projects?: string[];
  /** Polls before an operation is done (default 2). */
  operationPolls?: number;
  /** Refresh token of the ADC file the simulator accepts. */
  refreshToken?: string;
  /** Added before every answer (benchmarks: a cloud's round trip). */
  latencyMs?: number;
  /** Time and failure as Google documents them (see realism.ts): short lags for tests, or real-length ones. */
  realistic?: "short" | "real" | boolean;
  /** Overrides of the lag lengths (ms). */
  lags?: Partial<Lags>;
}

export class GcpSim {
  server: Server | undefined;
  url = "";
  readonly log: LoggedRequest[] = [];
  readonly projects = new Map<string, ProjectState>();
  private readonly ops = new Map<string, PendingOp>();
  /** Access token → the service account it was issued to (null: the ADC user). */
  private readonly tokens = new Map<string, string | null>();
  /** Public keys of the service-account keys handed out, by key id (to check JWT assertions). */
  private readonly publicKeys = new Map<string, string>();
  /** Cloud Run v2 jobs by full name, with their executions (polls left before each completes). */
  readonly runJobs = new Map<
    string,
    { job: Record<string, unknown>; executions: Map<string, { pollsLeft: number; execution: Record<string, unknown> }> }
  >();
  private readonly faults: Fault[] = [];
  private etagCounter = 1;
  private readonly before: Array<{ match: (method: string, path: string) => boolean; run: () => void }> = [];
  /** Switch: the organisation policy constraints/iam.disableServiceAccountKeyCreation is enforced. */
  keysForbidden = false;
  /** Switch: the caller may read the effective org policy (else 403, as without orgpolicy.policy.get). */
  orgPolicyReadable = true;
  operationPolls: number;
  latencyMs: number;
  /** The realistic mode's clocks and the faults switched on by name. */
  readonly realism: Realism;
  /**
   * Permissions the ADC user (the operator) lacks on the project; writes needing one answer 403, and
   * testIamPermissions leaves them out. https://cloud.google.com/resource-manager/reference/rest/v1/projects/testIamPermissions
   */
  readonly callerLacks = new Set<string>();
  /** Permissions the ADC user lacks on the service accounts themselves (default: those it lacks on the project). */
  callerLacksOnAccount: Set<string> = this.callerLacks;
  readonly refreshToken: string;
  /**
   * What a job's container prints when an execution runs (the simulator writes it to Cloud Logging
   * as Cloud Run would). Tests set it; the default interprets `echo` (see echoOutput).
   */
  containerOutput: (job: Record<string, unknown>) => ContainerOutput = echoOutput;
  /** Log entries Cloud Run wrote, in the order written (entries:list serves them). */
  readonly logEntries: LogEntry[] = [];
  private logClock = 0;
  /** Image tags pushed to each repository (`project/region/repo`), for tests: see pushImage. */
  private readonly images = new Map<string, string[]>();
  /** Private keys handed out, to look for leaks. */
  readonly issuedPrivateKeys: string[] = [];

  constructor(o: GcpSimOptions = {}) {
    this.operationPolls = o.operationPolls ?? 2;
    this.latencyMs = o.latencyMs ?? 0;
    this.refreshToken = o.refreshToken ?? "wp-sim-refresh-token";
    const mode = o.realistic === true ? "short" : o.realistic || false;
    this.realism = new Realism(mode, o.lags);
    for (const id of o.projects ?? ["wp-sim-project"]) this.addProject(id);
  }

  addProject(id: string, name = `Project ${id}`): ProjectState {
    const num = String(100000000000 + this.projects.size + 1);
    const state: ProjectState = {
      project: {
        projectId: id,
        projectNumber: num,
        name,
        lifecycleState: "ACTIVE",
        createTime: new Date().toISOString(),
      },
      services: new Set(["iam.googleapis.com", "cloudresourcemanager.googleapis.com", "serviceusage.googleapis.com"]),
      policy: {
        version: 1,
        etag: this.nextEtag(),
        bindings: [{ role: "roles/owner", members: ["user:owner@example.com"] }],
      },
      serviceAccounts: new Map(),
      keys: new Map(),
      repositories: new Map(),
    };
    this.projects.set(id, state);
    return state;
  }

  project(id = "wp-sim-project"): ProjectState {
    const p = this.projects.get(id);
    if (!p) throw new Error(`no simulated project ${id}`);
    return p;
  }

  private nextEtag(): string {
    this.etagCounter += 1;
    return Buffer.from(`etag-${this.etagCounter}`).toString("base64");
  }

  /** Switches a documented behaviour on by name (see realism.ts); `disable` switches it off. */
  enable(name: GcpFaultName, o: FaultOptions = {}): void {
    this.realism.enable(name, o);
  }

  disable(name: GcpFaultName): void {
    this.realism.disable(name);
  }

  /**
   * Transient failures: the next `times` requests matching answer 429 RESOURCE_EXHAUSTED or 503
   * UNAVAILABLE, with Retry-After. https://cloud.google.com/apis/design/errors#handling_errors
   */
  transient(match: (req: { method: string; path: string }) => boolean, status: 429 | 503 = 503, times = 1): void {
    const rpc = status === 429 ? "RESOURCE_EXHAUSTED" : "UNAVAILABLE";
    const message = status === 429 ? "Quota exceeded; retry later." : "The service is currently unavailable.";
    this.fail({ match, status, rpc, message, times, retryAfter: 0 });
  }

  /** Answers the next matching request(s) with an error. */
  fail(f: Fault): void {
    this.faults.push({ times: 1, ...f });
  }

  /** Runs `run` just before the next request matching method and path is handled (a concurrent writer). */
  interleave(method: string, path: RegExp, run: () => void): void {
    this.before.push({ match: (m, p) => m === method && path.test(p), run });
  }

  /** Another writer changes the project's IAM policy (new etag). */
  addBinding(projectId: string, role: string, member: string): void {
    const p = this.project(projectId);
    const bindings = structuredClone(p.policy.bindings ?? []);
    const b = bindings.find((x) => x.role === role && !x.condition);
    if (b) b.members = [...new Set([...(b.members ?? []), member])];
    else bindings.push({ role, members: [member] });
    p.policy = { ...p.policy, bindings, etag: this.nextEtag() };
  }

  /** Requests that change state (everything but reads and the token endpoint). */
  mutations(): LoggedRequest[] {
    return this.log.filter((r) => r.method !== "GET" && r.path !== "/token" && !READ_ONLY_POST.test(r.path));
  }

  clearLog(): void {
    this.log.length = 0;
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((r) => this.server?.listen(port, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** An ADC `authorized_user` file for this simulator (what `gcloud auth application-default login` writes). */
  /** Test control: an image tag in a repository (Docker pushes are not simulated). */
  pushImage(project: string, region: string, repo: string, tag: string): void {
    const key = `${project}/${region}/${repo}`;
    this.images.set(key, [...(this.images.get(key) ?? []), tag]);
  }

  adcFile(quotaProject?: string): string {
    return JSON.stringify({
      type: "authorized_user",
      client_id: "wp-sim-client.apps.googleusercontent.com",
      client_secret: "wp-sim-client-secret",
      refresh_token: this.refreshToken,
      ...(quotaProject ? { quota_project_id: quotaProject } : {}),
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const url = new URL(req.url ?? "/", "http://sim");
    const path = decodeURIComponent(url.pathname);
    const method = req.method ?? "GET";
    let body: unknown = {};
    if (raw) {
      try {
        body = (req.headers["content-type"] ?? "").includes("x-www-form-urlencoded")
          ? Object.fromEntries(new URLSearchParams(raw))
          : JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    const entry: LoggedRequest = {
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      body,
      headers: req.headers,
      status: 0,
      response: "",
    };
    this.log.push(entry);
    const send = (status: number, data: unknown, retryAfter?: number) => {
      const text = JSON.stringify(data);
      entry.status = status;
      entry.response = text;
      res.writeHead(status, {
        "content-type": "application/json; charset=UTF-8",
        ...(status === 401 ? { "www-authenticate": 'Bearer realm="https://accounts.google.com/"' } : {}),
        ...(retryAfter !== undefined ? { "retry-after": String(retryAfter) } : {}),
      });
      res.end(text);
    };
    try {
      const [status, data] = this.route(method, path, url.searchParams, body, req.headers.authorization);
      if (data === DROP) {
        entry.status = 0;
        req.socket.destroy();
        return;
      }
      const after = (data as { retryAfter?: number } | null)?.retryAfter;
      if (after !== undefined) delete (data as { retryAfter?: number }).retryAfter;
      send(status, data, after);
    } catch (err) {
      send(500, envelope(500, "INTERNAL", err instanceof Error ? err.message : String(err)));
    }
  }

  private route(
    method: string,
    path: string,
    query: URLSearchParams,
    body: unknown,
    authorization: string | undefined,
  ): [number, unknown] {
    if (path.startsWith("/_sim/")) return this.control(method, path, query);
    if (method === "POST" && path === "/token") return this.token(body as Record<string, string>);
    const bearer = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
    const principal = bearer ? (this.tokens.get(bearer) ?? null) : null;
    if (!bearer || !this.tokens.has(bearer)) {
      return [
        401,
        envelope(
          401,
          "UNAUTHENTICATED",
          "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        ),
      ];
    }
    for (const b of this.before.splice(0)) {
      if (b.match(method, path)) b.run();
      else this.before.push(b);
    }
    const flaky = this.realism.take("transient", `${method} ${path}`);
    if (flaky) {
      const status = flaky.status ?? 503;
      const e =
        status === 429
          ? envelope(429, "RESOURCE_EXHAUSTED", "Quota exceeded; retry later.")
          : envelope(503, "UNAVAILABLE", "The service is currently unavailable.");
      return [status, { ...e, retryAfter: 0 }];
    }
    const fault = this.faults.find((f) => f.match({ method, path }));
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
      const e = envelope(fault.status, fault.rpc, fault.message);
      const answer = fault.details ? { error: { ...e.error, details: fault.details } } : e;
      return [fault.status, fault.retryAfter !== undefined ? { ...answer, retryAfter: fault.retryAfter } : answer];
    }
    const b = (body ?? {}) as Record<string, unknown>;
    let m: RegExpExecArray | null;

    // Cloud Resource Manager v1
    if (method === "GET" && path === "/v1/projects") {
      const size = this.realism.pageSize(Number(query.get("pageSize")) || undefined, 500);
      const got = page(
        [...this.projects.values()].map((p) => p.project),
        size,
        query.get("pageToken"),
      );
      const list: cloudresourcemanager_v1.Schema$ListProjectsResponse = {
        projects: got.items,
        ...(got.next ? { nextPageToken: got.next } : {}),
      };
      return [200, list];
    }
    m = /^\/v2\/projects\/([^/]+)\/policies\/([^/:]+):getEffectivePolicy$/.exec(path);
    if (m && method === "GET") return this.effectivePolicyV2(m[1] ?? "", m[2] ?? "");
    m = /^\/v1\/projects\/([^/:]+)(?::(getIamPolicy|setIamPolicy|getEffectiveOrgPolicy|testIamPermissions))?$/.exec(
      path,
    );
    if (m) {
      const p = this.projects.get(m[1] ?? "");
      if (!p) return [403, envelope(403, "PERMISSION_DENIED", "The caller does not have permission")];
      const verb = m[2];
      if (!verb && method === "GET") return [200, p.project];
      if (verb === "getIamPolicy" && method === "POST") return [200, p.policy];
      if (verb === "setIamPolicy" && method === "POST") {
        if (this.lacks(principal, "resourcemanager.projects.setIamPolicy"))
          return denied("resourcemanager.projects.setIamPolicy", `projects/${m[1]}`);
        return this.setIamPolicy(p, b);
      }
      if (verb === "testIamPermissions" && method === "POST") return this.testIamPermissions(principal, b);
      if (verb === "getEffectiveOrgPolicy" && method === "POST") {
        if (!this.orgPolicyReadable)
          return [403, envelope(403, "PERMISSION_DENIED", "The caller does not have permission")];
        const policy: cloudresourcemanager_v1.Schema$OrgPolicy = {
          constraint: String(b.constraint ?? ""),
          booleanPolicy: { enforced: b.constraint === KEY_CONSTRAINT && this.legacyKeysForbidden() },
          etag: "BwVUSr8Q7Ng=",
        };
        if (!policy.booleanPolicy?.enforced) policy.booleanPolicy = {};
        return [200, policy];
      }
    }

    // Service Usage v1
    m = /^\/v1\/projects\/([^/]+)\/services\/([^/:]+)(:enable)?$/.exec(path);
    if (m) {
      const p = this.projects.get(m[1] ?? "");
      if (!p) return [403, envelope(403, "PERMISSION_DENIED", `Project '${m[1]}' not found or permission denied.`)];
      const service = m[2] ?? "";
      const num = p.project.projectNumber;
      const describe = (): Service => ({
        name: `projects/${num}/services/${service}`,
        parent: `projects/${num}`,
        config: { name: service, title: TITLES[service] ?? service },
        state: p.services.has(service) ? "ENABLED" : "DISABLED",
      });
      if (method === "GET" && !m[3]) return [200, describe()];
      if (method === "POST" && m[3]) {
        if (this.lacks(principal, "serviceusage.services.enable"))
          return denied("serviceusage.services.enable", `projects/${m[1]}/services/${service}`);
        const done = (): Operation => ({
          name: "operations/noop.DONE_OPERATION",
          done: true,
          response: {
            "@type": "type.googleapis.com/google.api.serviceusage.v1.EnableServiceResponse",
            service: describe(),
          },
        });
        if (p.services.has(service)) return [200, done()];
        const name = `operations/acf.p2-${num}-${randomUUID()}`;
        return [
          200,
          this.startOp(name, "type.googleapis.com/google.api.serviceusage.v1.OperationMetadata", () => {
            p.services.add(service);
            return { ...done(), name };
          }),
        ];
      }
    }
    m = /^\/v1\/(operations\/[^/]+)$/.exec(path);
    if (method === "GET" && m) return this.pollOp(m[1] ?? "");

    // Artifact Registry v1
    m = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/repositories\/([^/]+)\/dockerImages$/.exec(path);
    if (m && method === "GET") {
      const p = this.projects.get(m[1] ?? "");
      if (!p) return [403, envelope(403, "PERMISSION_DENIED", "The caller does not have permission")];
      const key = `${m[2]}/${m[3]}`;
      if (!p.repositories.has(key)) return [404, envelope(404, "NOT_FOUND", "Requested entity was not found.")];
      const images = (this.images.get(`${m[1]}/${key}`) ?? []).map((tag) => ({
        name: `${p.repositories.get(key)?.name}/dockerImages/${tag}`,
        tags: [tag],
      }));
      const got = page(
        images,
        this.realism.pageSize(Number(query.get("pageSize")) || undefined, 1000),
        query.get("pageToken"),
      );
      return [
        200,
        got.items.length ? { dockerImages: got.items, ...(got.next ? { nextPageToken: got.next } : {}) } : {},
      ];
    }
    m = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/(repositories|operations)(?:\/([^/]+))?$/.exec(path);
    if (m) {
      const p = this.projects.get(m[1] ?? "");
      if (!p) return [403, envelope(403, "PERMISSION_DENIED", "The caller does not have permission")];
      if (!p.services.has("artifactregistry.googleapis.com"))
        return disabledError(p, "artifactregistry.googleapis.com");
      const region = m[2] ?? "";
      const [kind, id] = [m[3], m[4]];
      if (kind === "operations" && id && method === "GET") return this.pollOp(path.slice(4));
      if (kind === "repositories" && id && method === "GET") {
        const repo = p.repositories.get(`${region}/${id}`);
        return repo ? [200, repo] : [404, envelope(404, "NOT_FOUND", "Requested entity was not found.")];
      }
      if (kind === "repositories" && id && method === "DELETE") {
        const key = `${region}/${id}`;
        if (!p.repositories.has(key)) return [404, envelope(404, "NOT_FOUND", "Requested entity was not found.")];
        const name = `projects/${m[1]}/locations/${region}/operations/${randomUUID()}`;
        return [
          200,
          this.startOp(name, "type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata", () => {
            p.repositories.delete(key);
            this.images.delete(`${m?.[1]}/${key}`);
            return { name, done: true, response: { "@type": "type.googleapis.com/google.protobuf.Empty" } };
          }),
        ];
      }
      if (kind === "repositories" && !id && method === "GET") {
        return [
          200,
          { repositories: [...p.repositories.entries()].filter(([k]) => k.startsWith(`${region}/`)).map(([, r]) => r) },
        ];
      }
      if (kind === "repositories" && !id && method === "POST") {
        const repoId = query.get("repositoryId") ?? "";
        if (this.lacks(principal, "artifactregistry.repositories.create"))
          return denied("artifactregistry.repositories.create", `projects/${m[1]}/locations/${region}`);
        const where = this.locationDenied(m[1] ?? "", region, `repositories/${repoId}`);
        if (where) return where;
        if (!/^[a-z]([a-z0-9-]*[a-z0-9])?$/.test(repoId) || repoId.length > 63)
          return [400, envelope(400, "INVALID_ARGUMENT", `Invalid repository id ${repoId}`)];
        if (p.repositories.has(`${region}/${repoId}`))
          return [409, envelope(409, "ALREADY_EXISTS", "the repository already exists")];
        const name = `projects/${m[1]}/locations/${region}/operations/${randomUUID()}`;
        const now = new Date().toISOString();
        const repo: Repository = {
          name: `projects/${m[1]}/locations/${region}/repositories/${repoId}`,
          format: (b.format as Repository["format"]) ?? "DOCKER",
          mode: (b.mode as Repository["mode"]) ?? "STANDARD_REPOSITORY",
          ...(typeof b.description === "string" ? { description: b.description } : {}),
          labels: (b.labels as Record<string, string>) ?? {},
          createTime: now,
          updateTime: now,
          registryUri: `${region}-docker.pkg.dev/${m[1]}/${repoId}`,
          sizeBytes: "0",
        };
        return [
          200,
          this.startOp(name, "type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata", () => {
            p.repositories.set(`${region}/${repoId}`, repo);
            return {
              name,
              done: true,
              response: { "@type": "type.googleapis.com/google.devtools.artifactregistry.v1.Repository", ...repo },
            };
          }),
        ];
      }
    }

    // Cloud Run Admin API v2: jobs, runs (executions), operations
    m =
      /^\/v2\/projects\/([^/]+)\/locations\/([^/]+)\/(jobs|operations)(?:\/([^/:]+))?(?::(run))?(?:\/executions\/([^/]+))?$/.exec(
        path,
      );
    if (m) return this.cloudRun(m, method, query, b, principal);

    // Cloud Logging v2
    if (path === "/v2/entries:list") {
      if (method !== "POST")
        return [404, envelope(404, "NOT_FOUND", `The simulator does not serve ${method} ${path}.`)];
      return this.listLogEntries(b, principal);
    }

    // IAM v1: enable / disable a service account; testIamPermissions on it (the caller's permissions on the account:
    // https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/testIamPermissions)
    m = /^\/v1\/projects\/([^/]+)\/serviceAccounts\/([^/:]+):(enable|disable|testIamPermissions)$/.exec(path);
    if (m?.[3] === "testIamPermissions" && method === "POST") {
      const asked = Array.isArray(b.permissions) ? (b.permissions as unknown[]).map(String) : [];
      const granted = principal === null ? asked.filter((x) => !this.callerLacksOnAccount.has(x)) : [];
      return [200, granted.length ? { permissions: granted } : {}];
    }
    if (m && method === "POST") {
      const sa = this.projects.get(m[1] ?? "")?.serviceAccounts.get(m[2] ?? "");
      if (!sa) return [404, envelope(404, "NOT_FOUND", "Unknown service account")];
      sa.disabled = m[3] === "disable";
      return [200, {}];
    }
    // IAM v1
    m = /^\/v1\/projects\/([^/]+)\/serviceAccounts(?:\/([^/]+))?(?:\/keys(?:\/([^/]+))?)?$/.exec(path);
    if (m) {
      const p = this.projects.get(m[1] ?? "");
      if (!p) return [403, envelope(403, "PERMISSION_DENIED", "The caller does not have permission")];
      const email = m[2];
      const isKeys = path.includes("/keys");
      if (!email && method === "POST") {
        if (this.lacks(principal, "iam.serviceAccounts.create"))
          return denied("iam.serviceAccounts.create", `projects/${m[1]}`);
        return this.createServiceAccount(p, b);
      }
      if (!email && method === "GET") {
        const visible = [...p.serviceAccounts.values()].filter((x) => this.visible(x.email));
        const got = page(
          visible,
          this.realism.pageSize(Number(query.get("pageSize")) || undefined, 100),
          query.get("pageToken"),
        );
        return [200, { accounts: got.items, ...(got.next ? { nextPageToken: got.next } : {}) }];
      }
      const sa = email ? p.serviceAccounts.get(email) : undefined;
      // A new service account is not visible yet (eventual consistency, see realism.ts).
      if (!sa || !this.visible(sa.email)) return [404, envelope(404, "NOT_FOUND", "Unknown service account")];
      if (!isKeys && method === "GET") return [200, sa];
      if (!isKeys && method === "DELETE") {
        p.serviceAccounts.delete(sa.email ?? "");
        p.keys.delete(sa.email ?? "");
        return [200, {}];
      }
      const keys = p.keys.get(sa.email ?? "") ?? [];
      if (isKeys && !m[3] && method === "GET") {
        const types = query.getAll("keyTypes");
        const list: iam_v1.Schema$ListServiceAccountKeysResponse = {
          keys: keys
            .filter((k) => types.length === 0 || types.includes(k.keyType ?? ""))
            .map(({ privateKeyData: _secret, ...k }) => k),
        };
        return [200, list];
      }
      if (isKeys && !m[3] && method === "POST") {
        if (
          this.lacks(principal, "iam.serviceAccountKeys.create") &&
          this.callerLacksOnAccount.has("iam.serviceAccountKeys.create")
        )
          return denied("iam.serviceAccountKeys.create", sa.name ?? "");
        const made = this.createKey(p, sa, keys);
        if (made[0] === 200 && this.realism.take("key-answer-lost")) return [0, DROP];
        return made;
      }
      if (isKeys && m[3] && method === "DELETE") {
        const i = keys.findIndex((k) => k.name?.endsWith(`/keys/${m?.[3]}`));
        if (i < 0) return [404, envelope(404, "NOT_FOUND", `Service account key ${m[3]} does not exist.`)];
        keys.splice(i, 1);
        return [200, {}];
      }
    }
    return [404, envelope(404, "NOT_FOUND", `The simulator does not serve ${method} ${path}.`)];
  }

  /** Whether the caller lacks `permission` (only the ADC user's can be taken away; see callerLacks). */
  private lacks(principal: string | null, permission: string): boolean {
    return principal === null && this.callerLacks.has(permission);
  }

  /** Whether a service account is visible yet (see "service-account-lag"). */
  private visible(email: string | null | undefined): boolean {
    return this.realism.ready(this.realism.serviceAccountAt, email ?? "");
  }

  /** Whether the caller holds `role` on the project, as IAM enforces it now (a new binding takes a while: "binding-lag"). */
  hasRole(p: ProjectState, principal: string | null, role: string): boolean {
    if (principal === null) return true;
    const member = `serviceAccount:${principal}`;
    const bound = (p.policy.bindings ?? []).some((x) => x.role === role && x.members?.includes(member));
    return bound && this.realism.ready(this.realism.bindingAt, `${p.project.projectId}/${role}/${member}`);
  }

  private legacyKeysForbidden(): boolean {
    return this.keysForbidden || this.realism.has("keys-forbidden");
  }

  /**
   * `projects.testIamPermissions`: the subset of the asked permissions the caller has (the ADC user:
   * all but callerLacks; a service account: none here). At most 100 permissions, no wildcards.
   * https://cloud.google.com/resource-manager/reference/rest/v1/projects/testIamPermissions
   */
  private testIamPermissions(principal: string | null, b: Record<string, unknown>): [number, unknown] {
    const asked = Array.isArray(b.permissions) ? (b.permissions as unknown[]).map(String) : [];
    if (asked.length > 100 || asked.some((x) => x.includes("*")))
      return [400, envelope(400, "INVALID_ARGUMENT", "Permissions can not contain wildcards and are limited to 100.")];
    const granted = principal === null ? asked.filter((x) => !this.callerLacks.has(x)) : [];
    return [200, granted.length ? { permissions: granted } : {}];
  }

  /**
   * Org Policy v2 `projects.policies.getEffectivePolicy` for the managed key constraint (and any
   * other: not enforced). https://cloud.google.com/resource-manager/docs/reference/orgpolicy/rest/v2/projects.policies/getEffectivePolicy
   */
  private effectivePolicyV2(project: string, constraint: string): [number, unknown] {
    const p = this.projects.get(project);
    if (!p || !this.orgPolicyReadable)
      return [403, envelope(403, "PERMISSION_DENIED", "The caller does not have permission")];
    const enforced = constraint === MANAGED_KEY_CONSTRAINT && this.realism.has("keys-forbidden-managed");
    return [
      200,
      {
        name: `projects/${p.project.projectNumber}/policies/${constraint}`,
        spec: { rules: [{ enforce: enforced }] },
      },
    ];
  }

  /** `gcp.resourceLocations`: the answer to creating a resource where the policy does not allow it, else null. */
  private locationDenied(project: string, region: string, what: string): [number, unknown] | null {
    const f = this.realism.on.get("resource-locations");
    if (!f || (f.allowed ?? ["us-east1"]).includes(region)) return null;
    const message = `Location ${region} violates constraint constraints/gcp.resourceLocations on the resource projects/${project}/locations/${region}/${what}.`;
    return [
      400,
      {
        error: {
          code: 400,
          message,
          status: "FAILED_PRECONDITION",
          details: [
            {
              "@type": "type.googleapis.com/google.rpc.PreconditionFailure",
              violations: [
                { type: "constraints/gcp.resourceLocations", subject: `projects/${project}`, description: message },
              ],
            },
          ],
        },
      },
    ];
  }

  private token(form: Record<string, string>): [number, unknown] {
    const grant = form.grant_type;
    let principal: string | null = null;
    if (grant === "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      // A service-account key signs the assertion: its key must exist, be enabled, and the signature verify.
      const who = this.jwtPrincipal(form.assertion ?? "");
      if (!who) return [400, { error: "invalid_grant", error_description: "Invalid JWT Signature." }];
      principal = who;
    } else if (!(grant === "refresh_token" && form.refresh_token === this.refreshToken)) {
      return [400, { error: "invalid_grant", error_description: "Token has been expired or revoked." }];
    }
    const token = `ya29.sim-${randomBytes(12).toString("hex")}`;
    this.tokens.set(token, principal);
    return [
      200,
      {
        access_token: token,
        expires_in: 3599,
        scope: "https://www.googleapis.com/auth/cloud-platform",
        token_type: "Bearer",
      },
    ];
  }

  private jwtPrincipal(assertion: string): string | null {
    const [h = "", c = "", sig = ""] = assertion.split(".");
    try {
      const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as { kid?: string };
      const claims = JSON.parse(Buffer.from(c, "base64url").toString("utf8")) as { iss?: string; exp?: number };
      const pem = header.kid ? this.publicKeys.get(header.kid) : undefined;
      if (!pem || !claims.iss || (claims.exp ?? 0) * 1000 < Date.now()) return null;
      const live = [...this.projects.values()].some((p) =>
        (p.keys.get(claims.iss ?? "") ?? []).some((k) => k.name?.endsWith(`/keys/${header.kid}`) && !k.disabled),
      );
      if (!live) return null;
      // A new key is not valid at once ("key-lag").
      if (!this.realism.ready(this.realism.keyAt, header.kid ?? "")) return null;
      const ok = verify("RSA-SHA256", Buffer.from(`${h}.${c}`), createPublicKey(pem), Buffer.from(sig, "base64url"));
      return ok ? claims.iss : null;
    } catch {
      return null;
    }
  }

  /** Lets a test's own client in with a fixed token: as the ADC user, or as a service account. */
  acceptToken(token: string, serviceAccount: string | null = null): void {
    this.tokens.set(token, serviceAccount);
  }

  /** The operation's end: its response, or (operation-error) `error` with nothing changed. */
  private finishOp(name: string, finish: () => Operation): Operation {
    const f = this.realism.take("operation-error", name);
    if (!f) return finish();
    return {
      name,
      done: true,
      error: { code: f.code ?? 13, message: f.message ?? "Internal error encountered.", details: [] },
    };
  }

  private startOp(name: string, metadataType: string, finish: () => Operation): Operation {
    const op: Operation = { name, metadata: { "@type": metadataType } };
    if (this.operationPolls <= 0) return this.finishOp(name, finish);
    this.ops.set(name, { op, pollsLeft: this.operationPolls, finish });
    return op;
  }

  private cloudRun(
    m: RegExpExecArray,
    method: string,
    query: URLSearchParams,
    b: Record<string, unknown>,
    principal: string | null,
  ): [number, unknown] {
    const [, projectId = "", region = "", kind, id, verb, execution] = m;
    const p = this.projects.get(projectId);
    if (!p) return [403, envelope(403, "PERMISSION_DENIED", "The caller does not have permission")];
    if (!p.services.has("run.googleapis.com")) return disabledError(p, "run.googleapis.com");
    if (kind === "operations" && id && method === "GET")
      return this.pollOp(`projects/${projectId}/locations/${region}/operations/${id}`);
    const parent = `projects/${projectId}/locations/${region}`;
    const has = (role: string) => this.hasRole(p, principal, role);
    const op = (finish: () => Record<string, unknown>, metadata?: Record<string, unknown>) => {
      const name = `${parent}/operations/${randomUUID()}`;
      const started = this.startOp(name, "type.googleapis.com/google.cloud.run.v2.Job", () => ({
        name,
        done: true,
        response: finish(),
      }));
      return [200, metadata ? { ...started, metadata } : started] as [number, unknown];
    };
    if (kind === "jobs" && !id && method === "POST") {
      const jobId = query.get("jobId") ?? "";
      const name = `${parent}/jobs/${jobId}`;
      if (!has("roles/run.developer")) return denied("run.jobs.create", name);
      const sa = (b.template as { template?: { serviceAccount?: string } } | undefined)?.template?.serviceAccount ?? "";
      if (sa && !has("roles/iam.serviceAccountUser"))
        return [
          403,
          envelope(
            403,
            "PERMISSION_DENIED",
            `Permission 'iam.serviceaccounts.actAs' denied on service account ${sa} (or it may not exist).`,
          ),
        ];
      const where = this.locationDenied(projectId, region, `jobs/${jobId}`);
      if (where) return where;
      if (this.runJobs.has(name)) return [409, envelope(409, "ALREADY_EXISTS", `Resource '${jobId}' already exists.`)];
      const job = { ...b, name, uid: randomUUID(), createTime: new Date().toISOString() };
      return op(() => {
        this.runJobs.set(name, { job, executions: new Map() });
        return job;
      });
    }
    const name = `${parent}/jobs/${id}`;
    const entry = this.runJobs.get(name);
    if (kind === "jobs" && id && verb === "run" && method === "POST") {
      if (!has("roles/run.developer")) return denied("run.jobs.run", name);
      if (!entry) return [404, envelope(404, "NOT_FOUND", `Resource '${name}' does not exist.`)];
      const exec = `${name}/executions/${id}-${randomBytes(3).toString("hex")}`;
      const record = { name: exec, job: id, createTime: new Date().toISOString(), taskCount: 1 };
      entry.executions.set(exec, { pollsLeft: this.operationPolls + 1, execution: record });
      return op(() => record, { "@type": "type.googleapis.com/google.cloud.run.v2.Execution", ...record });
    }
    if (kind === "jobs" && id && execution && method === "GET") {
      const e = entry?.executions.get(`${name}/executions/${execution}`);
      if (!e) return [404, envelope(404, "NOT_FOUND", `Resource '${name}/executions/${execution}' does not exist.`)];
      e.pollsLeft -= 1;
      if (e.pollsLeft <= 0 && !e.execution.completionTime) {
        this.writeExecutionLogs(projectId, region, id ?? "", execution, entry?.job ?? {});
        const failed = this.realism.take("execution-failed", execution);
        const reason = `Task ${execution}-0 failed with message: The container exited with an exit code of 1.`;
        Object.assign(e.execution, {
          completionTime: new Date().toISOString(),
          succeededCount: failed ? 0 : 1,
          failedCount: failed ? 1 : 0,
          conditions: [
            failed
              ? { type: "Completed", state: "CONDITION_FAILED", message: reason }
              : { type: "Completed", state: "CONDITION_SUCCEEDED" },
          ],
        });
      } else if (!e.execution.completionTime) Object.assign(e.execution, { runningCount: 1 });
      return [200, e.execution];
    }
    if (kind === "jobs" && id && !verb && method === "GET") {
      if (!has("roles/run.developer")) return denied("run.jobs.get", name);
      return entry ? [200, entry.job] : [404, envelope(404, "NOT_FOUND", `Resource '${name}' does not exist.`)];
    }
    if (kind === "jobs" && id && !verb && method === "DELETE") {
      if (!has("roles/run.developer")) return denied("run.jobs.delete", name);
      if (!entry) return [404, envelope(404, "NOT_FOUND", `Resource '${name}' does not exist.`)];
      return op(() => {
        this.runJobs.delete(name);
        return entry.job;
      });
    }
    return [404, envelope(404, "NOT_FOUND", `The simulator does not serve ${method} /v2/${kind}.`)];
  }

  /** What Cloud Run writes to Cloud Logging for a completed execution: its output, then the exit. */
  private writeExecutionLogs(
    project: string,
    region: string,
    jobId: string,
    execution: string,
    job: Record<string, unknown>,
  ) {
    const out = this.containerOutput(job);
    const { stdout = [], stderr = [] } = Array.isArray(out) ? { stdout: out } : out;
    const resource = { type: "cloud_run_job", labels: { job_name: jobId, location: region, project_id: project } };
    const labels = {
      "run.googleapis.com/execution_name": execution,
      "run.googleapis.com/task_index": "0",
      "run.googleapis.com/task_attempt": "0",
    };
    const write = (log: string, text: string, severity?: LogEntry["severity"]) => {
      // Strictly increasing timestamps (microseconds), so ordering by timestamp is well defined.
      this.logClock = Math.max(this.logClock + 1, Date.now() * 1000);
      const ms = Math.floor(this.logClock / 1000);
      const timestamp = new Date(ms).toISOString().replace(/Z$/, `${String(this.logClock % 1000).padStart(3, "0")}Z`);
      this.logEntries.push({
        textPayload: text,
        insertId: randomBytes(8).toString("hex"),
        resource,
        timestamp,
        ...(severity ? { severity } : {}),
        labels,
        logName: `projects/${project}/logs/${encodeURIComponent(log)}`,
        receiveTimestamp: timestamp,
      });
    };
    for (const line of stdout) write("run.googleapis.com/stdout", line);
    for (const line of stderr) write("run.googleapis.com/stderr", line, "ERROR");
    write("run.googleapis.com/varlog/system", "Container called exit(0).", "INFO");
  }

  /** Cloud Logging v2 `entries:list`, with the filter syntax wp sends (see parseLogFilter). */
  private listLogEntries(b: Record<string, unknown>, principal: string | null): [number, unknown] {
    const bad = (message: string): [number, unknown] => [400, envelope(400, "INVALID_ARGUMENT", message)];
    const names = b.resourceNames;
    if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === "string"))
      return bad("resourceNames must name at least one parent resource.");
    const projects: string[] = [];
    for (const name of names as string[]) {
      const id = /^projects\/([^/]+)$/.exec(name)?.[1];
      const p = id ? this.projects.get(id) : undefined;
      if (!p || !id) return [403, envelope(403, "PERMISSION_DENIED", "The caller does not have permission")];
      if (!LOG_READER_ROLES.some((r) => this.hasRole(p, principal, r))) return denied("logging.logEntries.list", name);
      projects.push(id);
    }
    const orderBy = b.orderBy === undefined || b.orderBy === "" ? "timestamp asc" : b.orderBy;
    if (orderBy !== "timestamp asc" && orderBy !== "timestamp desc")
      return bad(`Invalid orderBy: ${String(orderBy)} (only "timestamp asc" and "timestamp desc" are allowed).`);
    const pageSize = b.pageSize === undefined ? 50 : b.pageSize;
    if (typeof pageSize !== "number" || !Number.isInteger(pageSize) || pageSize < 0 || pageSize > 1000)
      return bad(`Invalid pageSize: ${String(pageSize)}.`);
    const filter = b.filter === undefined ? "" : b.filter;
    if (typeof filter !== "string") return bad("filter must be a string.");
    const match = parseLogFilter(filter);
    if (typeof match === "string") return bad(`Invalid filter: ${match}`);
    let start = 0;
    if (b.pageToken !== undefined && b.pageToken !== "") {
      const t = /^page-(\d+)$/.exec(Buffer.from(String(b.pageToken), "base64url").toString("utf8"));
      if (!t) return bad("Invalid pageToken.");
      start = Number(t[1]);
    }
    const found = this.logEntries.filter(
      (e) => projects.some((id) => e.logName.startsWith(`projects/${id}/logs/`)) && match(e),
    );
    // Written in timestamp order; ties keep the order written.
    if (orderBy === "timestamp desc") found.reverse();
    const size = this.realism.pageSize(pageSize, 50);
    const page = found.slice(start, start + size);
    const list: { entries?: LogEntry[]; nextPageToken?: string } = {};
    if (page.length) list.entries = page;
    if (start + size < found.length) list.nextPageToken = Buffer.from(`page-${start + size}`).toString("base64url");
    return [200, list];
  }

  private pollOp(name: string): [number, unknown] {
    const pending = this.ops.get(name);
    if (!pending) return [404, envelope(404, "NOT_FOUND", `Operation ${name} not found.`)];
    if (this.realism.has("operation-503") && !this.realism.flaked.has(name) && !pending.op.done) {
      this.realism.flaked.add(name);
      return [503, { ...envelope(503, "UNAVAILABLE", "The service is currently unavailable."), retryAfter: 0 }];
    }
    pending.pollsLeft -= 1;
    if (pending.pollsLeft > 0) return [200, pending.op];
    this.ops.delete(name);
    const done = this.finishOp(name, pending.finish);
    // Later polls of a finished operation keep answering done.
    this.ops.set(name, { op: done, pollsLeft: 0, finish: () => done });
    return [200, done];
  }

  private setIamPolicy(p: ProjectState, b: Record<string, unknown>): [number, unknown] {
    const policy = (b.policy ?? {}) as Policy;
    if (policy.etag && policy.etag !== p.policy.etag) {
      return [
        409,
        envelope(
          409,
          "ABORTED",
          "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.",
        ),
      ];
    }
    for (const binding of policy.bindings ?? []) {
      for (const member of binding.members ?? []) {
        const email = /^serviceAccount:(.+@(.+)\.iam\.gserviceaccount\.com)$/.exec(member);
        if (
          email &&
          email[2] === p.project.projectId &&
          (!p.serviceAccounts.has(email[1] ?? "") || !this.visible(email[1]))
        )
          return [400, envelope(400, "INVALID_ARGUMENT", `Service account ${email[1]} does not exist.`)];
      }
      if (binding.condition && (policy.version ?? 1) < 3)
        return [400, envelope(400, "INVALID_ARGUMENT", "Conditional bindings require policy version 3.")];
    }
    // Adding an existing member is a no-op: members are kept unique.
    const bindings = (policy.bindings ?? []).map((x) => ({ ...x, members: [...new Set(x.members ?? [])] }));
    // A binding new to the policy takes effect later ("binding-lag").
    for (const x of bindings)
      for (const member of x.members) {
        const had = (p.policy.bindings ?? []).some((o) => o.role === x.role && o.members?.includes(member));
        if (!had && !x.condition)
          this.realism.delay(
            this.realism.bindingAt,
            `${p.project.projectId}/${x.role}/${member}`,
            "binding-lag",
            this.realism.lags.binding,
          );
      }
    p.policy = { version: policy.version ?? 1, bindings, etag: this.nextEtag() };
    return [200, p.policy];
  }

  private createServiceAccount(p: ProjectState, b: Record<string, unknown>): [number, unknown] {
    const accountId = String(b.accountId ?? "");
    if (!/^[a-z]([-a-z0-9]*[a-z0-9])$/.test(accountId) || accountId.length < 6 || accountId.length > 30)
      return [400, envelope(400, "INVALID_ARGUMENT", `Invalid account id ${accountId}.`)];
    const id = p.project.projectId ?? "";
    const email = `${accountId}@${id}.iam.gserviceaccount.com`;
    if (p.serviceAccounts.has(email)) {
      const msg = `Service account ${accountId} already exists within project projects/${id}.`;
      return [409, envelope(409, "ALREADY_EXISTS", msg, "alreadyExists", `projects/${id}/serviceAccounts/${email}`)];
    }
    const unique = String(BigInt(`0x${randomBytes(8).toString("hex")}`));
    const sa: ServiceAccount = {
      name: `projects/${id}/serviceAccounts/${email}`,
      projectId: id,
      uniqueId: unique,
      email,
      displayName: ((b.serviceAccount ?? {}) as ServiceAccount).displayName ?? "",
      etag: "MDEwMjE5MjA=",
      oauth2ClientId: unique,
    };
    p.serviceAccounts.set(email, sa);
    p.keys.set(email, []);
    this.realism.delay(this.realism.serviceAccountAt, email, "service-account-lag", this.realism.lags.serviceAccount);
    return [200, sa];
  }

  private createKey(p: ProjectState, sa: ServiceAccount, keys: ServiceAccountKey[]): [number, unknown] {
    const forbidding = this.legacyKeysForbidden()
      ? KEY_CONSTRAINT
      : this.realism.has("keys-forbidden-managed")
        ? `constraints/${MANAGED_KEY_CONSTRAINT}`
        : null;
    if (forbidding) {
      return [
        400,
        {
          error: {
            code: 400,
            message: "Key creation is not allowed on this service account.",
            status: "FAILED_PRECONDITION",
            details: [
              {
                "@type": "type.googleapis.com/google.rpc.PreconditionFailure",
                violations: [
                  {
                    type: forbidding,
                    subject: `projects/${p.project.projectNumber}`,
                    description: "Key creation is not allowed on this service account.",
                  },
                ],
              },
            ],
          },
        },
      ];
    }
    if (keys.filter((k) => k.keyType === "USER_MANAGED").length >= 10) {
      return [
        400,
        envelope(
          400,
          "FAILED_PRECONDITION",
          "Precondition check failed: the service account has the maximum of 10 keys.",
        ),
      ];
    }
    const id = randomBytes(20).toString("hex");
    // A real RSA key, so a client can sign a JWT with it (the token endpoint verifies it).
    const pair = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const pem = pair.privateKey;
    this.publicKeys.set(id, pair.publicKey);
    this.issuedPrivateKeys.push(pem);
    const file = {
      type: "service_account",
      project_id: p.project.projectId,
      private_key_id: id,
      private_key: pem,
      client_email: sa.email,
      client_id: sa.uniqueId,
      auth_uri: "https://accounts.google.com/o/oauth2/auth",
      token_uri: "https://oauth2.googleapis.com/token",
      auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(sa.email ?? "")}`,
      universe_domain: "googleapis.com",
    };
    const key: ServiceAccountKey = {
      name: `${sa.name}/keys/${id}`,
      privateKeyType: "TYPE_GOOGLE_CREDENTIALS_FILE",
      privateKeyData: Buffer.from(JSON.stringify(file, null, 2)).toString("base64"),
      validAfterTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      validBeforeTime: "9999-12-31T23:59:59Z",
      keyAlgorithm: "KEY_ALG_RSA_2048",
      keyOrigin: "GOOGLE_PROVIDED",
      keyType: "USER_MANAGED",
      disabled: false,
    };
    keys.push(key);
    this.realism.delay(this.realism.keyAt, id, "key-lag", this.realism.lags.key);
    return [200, key];
  }

  /** `/_sim/…` control for the standalone simulator: the log, and the org-policy switch. */
  private control(method: string, path: string, query: URLSearchParams): [number, unknown] {
    if (method === "GET" && path === "/_sim/requests")
      return [200, this.log.map(({ headers: _h, response: _r, ...r }) => r)];
    // Switches a documented behaviour (realism.ts) on or off: POST /_sim/fault?name=key-lag&value=true|false.
    if (method === "POST" && path === "/_sim/fault") {
      const name = (query.get("name") ?? "") as GcpFaultName;
      if (query.get("value") === "false") this.disable(name);
      else this.enable(name);
      return [200, { on: [...this.realism.on.keys()] }];
    }
    if (method === "POST" && path === "/_sim/keys-forbidden") {
      this.keysForbidden = query.get("value") !== "false";
      return [200, { keysForbidden: this.keysForbidden }];
    }
    if (method === "GET" && path === "/_sim/state") {
      const out: Record<string, unknown> = {};
      for (const [id, p] of this.projects) {
        out[id] = {
          services: [...p.services],
          policy: p.policy,
          serviceAccounts: [...p.serviceAccounts.keys()],
          keys: Object.fromEntries([...p.keys].map(([e, k]) => [e, k.map((x) => x.name)])),
          repositories: [...p.repositories.keys()],
        };
      }
      return [200, out];
    }
    return [404, envelope(404, "NOT_FOUND", `No simulator control ${method} ${path}.`)];
  }

  /** A digest of the state (tests compare before and after a run that must change nothing). */
  digest(): string {
    const state = [...this.projects.values()].map((p) => ({
      s: [...p.services].sort(),
      p: p.policy,
      a: [...p.serviceAccounts.keys()].sort(),
      k: [...p.keys.values()].flat().map((k) => k.name),
      r: [...p.repositories.keys()].sort(),
    }));
    return createHash("sha256").update(JSON.stringify(state)).digest("hex");
  }
}

/** Google's answer to a call the caller lacks `permission` for. */
function denied(permission: string, resource: string): [number, unknown] {
  return [
    403,
    envelope(
      403,
      "PERMISSION_DENIED",
      `Permission '${permission}' denied on resource '${resource}' (or resource may not exist).`,
    ),
  ];
}

/**
 * The part of the Logging query language wp sends: comparisons joined by AND, each `field = "value"`,
 * `field : "value"` (substring, case-insensitive) or `field = ("a" OR "b")`; a field is dotted names,
 * quoted where needed (`labels."run.googleapis.com/execution_name"`). Anything else: an error text
 * (answered 400 INVALID_ARGUMENT, as Google answers a filter it cannot parse).
 */
export function parseLogFilter(filter: string): ((e: LogEntry) => boolean) | string {
  const tokens: Array<{ t: "str" | "name" | "op" | "(" | ")" | "AND" | "OR"; v: string; at: number }> = [];
  const re = /\s+|"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*)|(=|:)|(\.)|(\()|(\))/y;
  let i = 0;
  while (i < filter.length) {
    re.lastIndex = i;
    const m = re.exec(filter);
    if (!m) return `unexpected character at column ${i + 1}`;
    const at = i;
    i = re.lastIndex;
    if (m[1] !== undefined) tokens.push({ t: "str", v: m[1].replace(/\\(.)/g, "$1"), at });
    else if (m[2] !== undefined) tokens.push({ t: m[2] === "AND" || m[2] === "OR" ? m[2] : "name", v: m[2], at });
    else if (m[3] !== undefined) tokens.push({ t: "op", v: m[3], at });
    else if (m[4] !== undefined) tokens.push({ t: "name", v: ".", at });
    else if (m[5] !== undefined) tokens.push({ t: "(", v: "(", at });
    else if (m[6] !== undefined) tokens.push({ t: ")", v: ")", at });
  }
  if (!tokens.length) return () => true;
  const tests: Array<(e: LogEntry) => boolean> = [];
  let k = 0;
  const err = (what: string) => `${what} at column ${(tokens[k]?.at ?? filter.length) + 1}`;
  for (;;) {
    const field: string[] = [];
    for (;;) {
      const tok = tokens[k];
      if (!tok || (tok.t !== "name" && tok.t !== "str") || tok.v === ".") return err("expected a field name");
      field.push(tok.v);
      k++;
      if (tokens[k]?.t === "name" && tokens[k]?.v === ".") k++;
      else break;
    }
    const op = tokens[k];
    if (op?.t !== "op") return err("expected = or :");
    k++;
    const values: string[] = [];
    if (tokens[k]?.t === "str") values.push(tokens[k++]?.v ?? "");
    else if (tokens[k]?.t === "(") {
      k++;
      for (;;) {
        if (tokens[k]?.t !== "str") return err("expected a quoted value");
        values.push(tokens[k++]?.v ?? "");
        if (tokens[k]?.t === "OR") k++;
        else break;
      }
      if (tokens[k]?.t !== ")") return err("expected )");
      k++;
    } else return err("expected a quoted value");
    const get = (e: LogEntry): unknown =>
      field.reduce<unknown>((o, f) => (o && typeof o === "object" ? (o as Record<string, unknown>)[f] : undefined), e);
    const has = op.v === ":";
    tests.push((e) => {
      const v = get(e);
      if (typeof v !== "string") return false;
      return values.some((x) => (has ? v.toLowerCase().includes(x.toLowerCase()) : v === x));
    });
    if (k >= tokens.length) break;
    if (tokens[k]?.t !== "AND") return err("expected AND");
    k++;
  }
  return (e) => tests.every((t) => t(e));
}

export const KEY_CONSTRAINT = "constraints/iam.disableServiceAccountKeyCreation";
export const MANAGED_KEY_CONSTRAINT = "iam.managed.disableServiceAccountKeyCreation";

const TITLES: Record<string, string> = {
  "run.googleapis.com": "Cloud Run Admin API",
  "artifactregistry.googleapis.com": "Artifact Registry API",
};

const LEGACY_REASON: Record<string, string> = {
  NOT_FOUND: "notFound",
  ALREADY_EXISTS: "alreadyExists",
  PERMISSION_DENIED: "forbidden",
  INVALID_ARGUMENT: "badRequest",
  FAILED_PRECONDITION: "failedPrecondition",
  ABORTED: "aborted",
  UNAUTHENTICATED: "authError",
};

/** Google's JSON error envelope. */
export function envelope(code: number, status: string, message: string, reason?: string, resourceName?: string) {
  return {
    error: {
      code,
      message,
      status,
      errors: [{ message, domain: "global", reason: reason ?? LEGACY_REASON[status] ?? "backendError" }],
      ...(resourceName ? { details: [{ "@type": "type.googleapis.com/google.rpc.ResourceInfo", resourceName }] } : {}),
    },
  };
}

function disabledError(p: ProjectState, service: string): [number, unknown] {
  const num = p.project.projectNumber;
  const title = TITLES[service] ?? service;
  const activationUrl = `https://console.developers.google.com/apis/api/${service}/overview?project=${num}`;
  return [
    403,
    {
      error: {
        code: 403,
        message: `${title} has not been used in project ${num} before or it is disabled. Enable it by visiting ${activationUrl} then retry.`,
        status: "PERMISSION_DENIED",
        details: [
          {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            reason: "SERVICE_DISABLED",
            domain: "googleapis.com",
            metadata: { service, consumer: `projects/${num}`, activationUrl },
          },
        ],
      },
    },
  ];
}
