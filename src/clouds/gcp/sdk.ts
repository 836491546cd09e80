/**
 * The Google Cloud calls wp makes, as a narrow adapter over the per-API REST clients
 * (`@googleapis/iam`, `@googleapis/cloudresourcemanager`, `@googleapis/serviceusage`) and plain
 * authorised requests for Artifact Registry (no `@googleapis` package exists for it). Credentials
 * are Application Default Credentials (google-auth-library): the ADC file (GOOGLE_APPLICATION_CREDENTIALS
 * or gcloud's `application_default_credentials.json`), else gcloud's own login when gcloud is installed,
 * else the metadata server / workload identity. Imported only when a Google provisioner runs.
 *
 * Endpoints for tests: WP_GCP_ENDPOINT (one base URL for every API and `<base>token` for OAuth), or
 * WP_GCP_{IAM,CRM,SERVICEUSAGE,ARTIFACTREGISTRY}_ENDPOINT and WP_GCP_TOKEN_URL one by one.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { cloudresourcemanager_v1 } from "@googleapis/cloudresourcemanager";
import type { iam_v1 } from "@googleapis/iam";
import type { serviceusage_v1 } from "@googleapis/serviceusage";
import { AuthError, CloudError } from "../../errors.js";
import { adcPath, type Env } from "./config.js";

export type Policy = cloudresourcemanager_v1.Schema$Policy;
export type Binding = cloudresourcemanager_v1.Schema$Binding;
export type ServiceAccount = iam_v1.Schema$ServiceAccount;
export type ServiceAccountKey = iam_v1.Schema$ServiceAccountKey;
export type Operation = serviceusage_v1.Schema$Operation;

/** An Artifact Registry repository (v1 REST resource; the fields wp reads and writes). */
export interface Repository {
  name?: string;
  format?: string;
  mode?: string;
  description?: string;
  labels?: Record<string, string>;
  registryUri?: string;
  createTime?: string;
  updateTime?: string;
}

/** A Google API failure: `code` is the RPC status ("NOT_FOUND", "ALREADY_EXISTS", "ABORTED"...). */
export class GcpError extends CloudError {
  constructor(
    message: string,
    code: string,
    readonly httpStatus: number,
    /** ErrorInfo / legacy `errors[].reason`, e.g. "SERVICE_DISABLED", "alreadyExists". */
    readonly reasons: string[],
    /** PreconditionFailure violation types, e.g. "constraints/iam.disableServiceAccountKeyCreation". */
    readonly violations: string[],
    hint?: string,
  ) {
    super(message, code, hint);
  }
}

export const SCOPE = "https://www.googleapis.com/auth/cloud-platform";
export const KEY_CONSTRAINT = "constraints/iam.disableServiceAccountKeyCreation";

const AUTH_HINT =
  "Sign in with `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a " +
  "service-account key file (wp does not need gcloud otherwise).";
const DENIED_HINT =
  "Use an identity with Owner, or Service Usage Admin, Artifact Registry Administrator, Service Account Admin, " +
  "Service Account Key Admin and Project IAM Admin on the project.";

interface ErrorBody {
  error?: {
    code?: number;
    message?: string;
    status?: string;
    errors?: Array<{ reason?: string }>;
    details?: Array<{ "@type"?: string; reason?: string; violations?: Array<{ type?: string }> }>;
  };
}

/** The Google error envelope of a failed call, as a wp error. */
export function toGcpError(op: string, err: unknown): Error {
  if (err instanceof CloudError || err instanceof AuthError) return err;
  const e = err as {
    status?: number;
    response?: { status?: number; data?: unknown };
    message?: string;
    code?: unknown;
  };
  const status = e.response?.status ?? e.status;
  const message = e.message ?? String(err);
  if (
    /Could not load the default credentials|Unable to detect a Project Id|invalid_grant|invalid_client/i.test(message)
  ) {
    return new AuthError(
      `Google Cloud credentials were not found or were refused (${message.split("\n")[0]}).`,
      AUTH_HINT,
    );
  }
  if (status === undefined) {
    const code = typeof e.code === "string" ? e.code : "NETWORK";
    return new CloudError(`Google Cloud ${op} failed: ${message}`, code);
  }
  let body: ErrorBody = {};
  const data = e.response?.data;
  if (typeof data === "object" && data !== null) body = data as ErrorBody;
  else if (typeof data === "string") {
    try {
      body = JSON.parse(data) as ErrorBody;
    } catch {
      // not the JSON envelope
    }
  }
  const env = body.error ?? {};
  const rpc = env.status ?? httpToRpc(status);
  const text = env.message ?? message;
  const reasons = [
    ...(env.details ?? []).flatMap((d) => (d.reason ? [d.reason] : [])),
    ...(env.errors ?? []).flatMap((x) => (x.reason ? [x.reason] : [])),
  ];
  const violations = (env.details ?? []).flatMap((d) => (d.violations ?? []).flatMap((v) => (v.type ? [v.type] : [])));
  if (status === 401) return new AuthError(`Google Cloud rejected the credentials for ${op}: ${text}`, AUTH_HINT);
  const hint = status === 403 && !reasons.includes("SERVICE_DISABLED") ? DENIED_HINT : undefined;
  return new GcpError(`Google Cloud ${op} failed: ${text} (${rpc})`, rpc, status, reasons, violations, hint);
}

function httpToRpc(status: number): string {
  const map: Record<number, string> = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
  };
  return map[status] ?? (status >= 500 ? "INTERNAL" : `HTTP_${status}`);
}

export const gcpCode = (err: unknown): string | undefined => (err instanceof CloudError ? err.code : undefined);

async function call<T>(op: string, fn: () => Promise<{ data: T }>): Promise<T> {
  try {
    return (await fn()).data;
  } catch (err) {
    throw toGcpError(op, err);
  }
}

/** Like `call`, but NOT_FOUND (and the listed codes) give null. */
async function find<T>(op: string, fn: () => Promise<{ data: T }>, missing = ["NOT_FOUND"]): Promise<T | null> {
  try {
    return await call(op, fn);
  } catch (err) {
    if (missing.includes(gcpCode(err) ?? "")) return null;
    throw err;
  }
}

export interface GcpOptions {
  project: string;
  region: string;
  env: Env;
  /** An auth client to use instead of ADC (tests, or a caller that has one). */
  authClient?: AuthLike;
  /** Operation poll interval start (ms); WP_GCP_POLL_MS overrides. */
  pollMs?: number;
}

/** What wp needs of an auth client: authorised requests and an access token. */
export interface AuthLike {
  request<T>(opts: { url: string; method?: string; params?: Record<string, unknown>; data?: unknown }): Promise<{
    data: T;
  }>;
  getAccessToken(): Promise<string | null | undefined | { token?: string | null }>;
}

export interface GcpApi {
  project: string;
  region: string;
  /** How the credentials were found, for the plan: "ADC file ...", "gcloud login", "metadata server". */
  credentialSource: string;
  getProject(): Promise<cloudresourcemanager_v1.Schema$Project | null>;
  listProjects(): Promise<cloudresourcemanager_v1.Schema$Project[]>;
  serviceEnabled(service: string): Promise<boolean>;
  /** Enables a service and waits for its operation. */
  enableService(service: string, progress: (m: string) => void): Promise<void>;
  getRepository(id: string): Promise<Repository | null>;
  /** Creates a repository and waits for its operation; null when it already exists. */
  createRepository(id: string, body: Repository, progress: (m: string) => void): Promise<Repository | null>;
  getServiceAccount(email: string): Promise<ServiceAccount | null>;
  /** null when it already exists. */
  createServiceAccount(accountId: string, displayName: string): Promise<ServiceAccount | null>;
  getIamPolicy(): Promise<Policy>;
  setIamPolicy(policy: Policy): Promise<Policy>;
  listKeys(email: string): Promise<ServiceAccountKey[]>;
  createKey(email: string): Promise<ServiceAccountKey>;
  /** Deletes a key by its full name; one already gone is not an error. */
  deleteKey(name: string): Promise<void>;
  /** Whether the org policy forbids key creation: null when it cannot be read (no permission). */
  keyCreationForbidden(): Promise<boolean | null>;
  /** Deletes a service account; one already gone is not an error. */
  deleteServiceAccount(email: string): Promise<void>;
  /** How many Docker images a repository holds. */
  dockerImageCount(id: string): Promise<number>;
  /** Deletes a repository (and its images) and waits for the operation; one already gone is not an error. */
  deleteRepository(id: string, progress: (m: string) => void): Promise<void>;
  accessToken(): Promise<string>;
}

/** The base URL of one API: its WP_GCP_<API>_ENDPOINT, else WP_GCP_ENDPOINT, else Google's. */
export function endpointFor(api: "IAM" | "CRM" | "SERVICEUSAGE" | "ARTIFACTREGISTRY", env: Env): string {
  const hosts = {
    IAM: "https://iam.googleapis.com/",
    CRM: "https://cloudresourcemanager.googleapis.com/",
    SERVICEUSAGE: "https://serviceusage.googleapis.com/",
    ARTIFACTREGISTRY: "https://artifactregistry.googleapis.com/",
  };
  const v = env[`WP_GCP_${api}_ENDPOINT`] || env.WP_GCP_ENDPOINT;
  if (!v) return hosts[api];
  return v.endsWith("/") ? v : `${v}/`;
}

function tokenUrl(env: Env): string | undefined {
  if (env.WP_GCP_TOKEN_URL) return env.WP_GCP_TOKEN_URL;
  return env.WP_GCP_ENDPOINT ? `${endpointFor("IAM", env)}token` : undefined;
}

/** The path of an executable on PATH, or null. */
export function onPath(name: string, env: Env): string | null {
  const exts = process.platform === "win32" ? [".cmd", ".exe", ""] : [""];
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) if (existsSync(join(dir, name + ext))) return join(dir, name + ext);
  }
  return null;
}

/** Runs a command without a shell; resolves with stdout (the token stays out of argv and logs). */
function run(file: string, args: string[], env: Env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`${args.join(" ")} exited with ${code}: ${err.trim()}`)),
    );
  });
}

type Modules = {
  iam: typeof import("@googleapis/iam");
  crm: typeof import("@googleapis/cloudresourcemanager");
  su: typeof import("@googleapis/serviceusage");
};

/** Finds credentials the way ADC does, from `env` (not process.env, so in-process callers can differ). */
async function resolveAuth(m: Modules, env: Env): Promise<{ auth: AuthLike; source: string }> {
  const endpoints = tokenUrl(env) ? { oauth2TokenUrl: tokenUrl(env) as string } : undefined;
  const clientOptions = endpoints ? { endpoints } : {};
  const adc = adcPath(env);
  if (existsSync(adc.path)) {
    const auth = new m.iam.auth.GoogleAuth({ keyFilename: adc.path, scopes: [SCOPE], clientOptions });
    return { auth: auth as unknown as AuthLike, source: `Application Default Credentials ${adc.path}` };
  }
  if (adc.explicit) {
    throw new AuthError(`GOOGLE_APPLICATION_CREDENTIALS names ${adc.path}, which does not exist.`, AUTH_HINT);
  }
  const gcloud = onPath("gcloud", env);
  if (gcloud) {
    const token = await run(gcloud, ["auth", "print-access-token"], env).catch((err: unknown) => {
      throw new AuthError(`gcloud has no usable login: ${err instanceof Error ? err.message : String(err)}`, AUTH_HINT);
    });
    const client = new m.iam.auth.OAuth2({ ...clientOptions });
    client.setCredentials({ access_token: token, expiry_date: Date.now() + 30 * 60_000 });
    return { auth: client as unknown as AuthLike, source: "gcloud's login" };
  }
  // The metadata server (GCE, Cloud Run, GKE workload identity) or external account config.
  const auth = new m.iam.auth.GoogleAuth({ scopes: [SCOPE], clientOptions });
  return { auth: auth as unknown as AuthLike, source: "the metadata server" };
}

export async function resolveGcp(o: GcpOptions): Promise<GcpApi> {
  const [iamM, crmM, suM] = await Promise.all([
    import("@googleapis/iam"),
    import("@googleapis/cloudresourcemanager"),
    import("@googleapis/serviceusage"),
  ]);
  const m: Modules = { iam: iamM, crm: crmM, su: suM };
  const { auth, source } = o.authClient
    ? { auth: o.authClient, source: "the given credentials" }
    : await resolveAuth(m, o.env);
  const { project, region, env } = o;
  // The clients' own type of `auth` is googleapis-common's copy of google-auth-library.
  const gauth = auth as unknown as NonNullable<iam_v1.Options["auth"]>;
  const iam = iamM.iam({ version: "v1", auth: gauth, rootUrl: endpointFor("IAM", env) });
  const crm = crmM.cloudresourcemanager({
    version: "v1",
    auth: gauth as unknown as NonNullable<cloudresourcemanager_v1.Options["auth"]>,
    rootUrl: endpointFor("CRM", env),
  });
  const su = suM.serviceusage({
    version: "v1",
    auth: gauth as unknown as NonNullable<serviceusage_v1.Options["auth"]>,
    rootUrl: endpointFor("SERVICEUSAGE", env),
  });
  const ar = endpointFor("ARTIFACTREGISTRY", env);
  const pollStart = Number(env.WP_GCP_POLL_MS) || o.pollMs || 1000;
  const saName = (email: string) => `projects/${project}/serviceAccounts/${email}`;
  const location = `projects/${project}/locations/${region}`;

  /** Polls an operation until done; an operation error is thrown like a call error. */
  async function wait<T extends { name?: string | null; done?: boolean | null; error?: unknown }>(
    op: string,
    first: T,
    get: (name: string) => Promise<T>,
    progress: (m: string) => void,
    what: string,
  ): Promise<T> {
    let cur = first;
    let delay = pollStart;
    const started = Date.now();
    let told = 0;
    while (!cur.done) {
      if (!cur.name) throw new CloudError(`Google Cloud ${op} returned an operation without a name.`);
      if (Date.now() - started > 10 * 60_000) {
        throw new CloudError(`Google Cloud ${op}: ${what} did not finish within 10 minutes.`, "DEADLINE_EXCEEDED");
      }
      const elapsed = Math.round((Date.now() - started) / 1000);
      if (told === 0 || elapsed - told >= 10) {
        progress(`Waiting for ${what} (operation ${cur.name}, ${elapsed}s)...`);
        told = Math.max(elapsed, 1);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 1.5, 10_000);
      cur = await get(cur.name);
    }
    if (cur.error) {
      const e = cur.error as { code?: number; message?: string; details?: unknown[] };
      throw toGcpError(op, {
        status: 400,
        response: { status: 400, data: { error: { ...e, status: rpcName(e.code) } } },
        message: e.message,
      });
    }
    return cur;
  }

  return {
    project,
    region,
    credentialSource: source,
    async getProject() {
      try {
        return await find("projects.get", () => crm.projects.get({ projectId: project }));
      } catch (err) {
        // Google answers 403 for a project the caller cannot see (it does not say whether it exists).
        if (err instanceof GcpError && err.httpStatus === 403 && !err.reasons.includes("SERVICE_DISABLED")) return null;
        throw err;
      }
    },
    async listProjects() {
      const all: cloudresourcemanager_v1.Schema$Project[] = [];
      let pageToken: string | undefined;
      do {
        const page = await call("projects.list", () =>
          crm.projects.list({ filter: "lifecycleState:ACTIVE", ...(pageToken ? { pageToken } : {}) }),
        );
        all.push(...(page.projects ?? []));
        pageToken = page.nextPageToken ?? undefined;
      } while (pageToken);
      return all;
    },
    async serviceEnabled(service) {
      const s = await call("services.get", () => su.services.get({ name: `projects/${project}/services/${service}` }));
      return s.state === "ENABLED";
    },
    async enableService(service, progress) {
      const op = await call("services.enable", () =>
        su.services.enable({ name: `projects/${project}/services/${service}`, requestBody: {} }),
      );
      await wait(
        "services.enable",
        op,
        (name) => call("operations.get", () => su.operations.get({ name })),
        progress,
        `${service} to be enabled`,
      );
    },
    getRepository: (id) =>
      find("repositories.get", () => auth.request<Repository>({ url: `${ar}v1/${location}/repositories/${id}` })),
    async createRepository(id, body, progress) {
      let op: Operation;
      try {
        op = await call("repositories.create", () =>
          auth.request<Operation>({
            url: `${ar}v1/${location}/repositories`,
            method: "POST",
            params: { repositoryId: id },
            data: body,
          }),
        );
      } catch (err) {
        if (gcpCode(err) === "ALREADY_EXISTS") return null;
        throw err;
      }
      const done = await wait(
        "repositories.create",
        op,
        (name) => call("operations.get", () => auth.request<Operation>({ url: `${ar}v1/${name}` })),
        progress,
        `Artifact Registry repository ${id}`,
      );
      return (done.response as Repository | undefined) ?? null;
    },
    getServiceAccount: (email) =>
      find("serviceAccounts.get", () => iam.projects.serviceAccounts.get({ name: saName(email) })),
    async createServiceAccount(accountId, displayName) {
      try {
        return await call("serviceAccounts.create", () =>
          iam.projects.serviceAccounts.create({
            name: `projects/${project}`,
            requestBody: { accountId, serviceAccount: { displayName } },
          }),
        );
      } catch (err) {
        if (gcpCode(err) === "ALREADY_EXISTS") return null;
        throw err;
      }
    },
    getIamPolicy: () =>
      call("projects.getIamPolicy", () =>
        crm.projects.getIamPolicy({ resource: project, requestBody: { options: { requestedPolicyVersion: 3 } } }),
      ),
    setIamPolicy: (policy) =>
      call("projects.setIamPolicy", () =>
        crm.projects.setIamPolicy({ resource: project, requestBody: { policy, updateMask: "bindings,etag" } }),
      ),
    async listKeys(email) {
      const out = await find("serviceAccounts.keys.list", () =>
        iam.projects.serviceAccounts.keys.list({ name: saName(email), keyTypes: ["USER_MANAGED"] }),
      );
      return out?.keys ?? [];
    },
    createKey: (email) =>
      call("serviceAccounts.keys.create", () =>
        iam.projects.serviceAccounts.keys.create({
          name: saName(email),
          requestBody: { privateKeyType: "TYPE_GOOGLE_CREDENTIALS_FILE", keyAlgorithm: "KEY_ALG_RSA_2048" },
        }),
      ),
    async deleteKey(name) {
      await find("serviceAccounts.keys.delete", () => iam.projects.serviceAccounts.keys.delete({ name }));
    },
    async deleteServiceAccount(email) {
      await find("serviceAccounts.delete", () => iam.projects.serviceAccounts.delete({ name: saName(email) }));
    },
    async dockerImageCount(id) {
      let count = 0;
      let pageToken: string | undefined;
      do {
        const page: { dockerImages?: unknown[]; nextPageToken?: string } | null = await find("dockerImages.list", () =>
          auth.request<{ dockerImages?: unknown[]; nextPageToken?: string }>({
            url: `${ar}v1/${location}/repositories/${id}/dockerImages`,
            params: { pageSize: 1000, ...(pageToken ? { pageToken } : {}) },
          }),
        );
        count += page?.dockerImages?.length ?? 0;
        pageToken = page?.nextPageToken || undefined;
      } while (pageToken);
      return count;
    },
    async deleteRepository(id, progress) {
      const op = await find("repositories.delete", () =>
        auth.request<Operation>({ url: `${ar}v1/${location}/repositories/${id}`, method: "DELETE" }),
      );
      if (!op) return;
      await wait(
        "repositories.delete",
        op,
        (name) => call("operations.get", () => auth.request<Operation>({ url: `${ar}v1/${name}` })),
        progress,
        `Artifact Registry repository ${id} to be deleted`,
      );
    },
    async keyCreationForbidden() {
      try {
        const p = await call("projects.getEffectiveOrgPolicy", () =>
          crm.projects.getEffectiveOrgPolicy({
            resource: `projects/${project}`,
            requestBody: { constraint: KEY_CONSTRAINT },
          }),
        );
        return p.booleanPolicy?.enforced === true;
      } catch (err) {
        if (err instanceof GcpError && (err.httpStatus === 403 || err.httpStatus === 404)) return null;
        throw err;
      }
    },
    async accessToken() {
      let t: Awaited<ReturnType<AuthLike["getAccessToken"]>>;
      try {
        t = await auth.getAccessToken();
      } catch (err) {
        throw toGcpError("access token", err);
      }
      const token = typeof t === "string" ? t : t?.token;
      if (!token) throw new AuthError("Google Cloud gave no access token.", AUTH_HINT);
      return token;
    },
  };
}

function rpcName(code: number | undefined): string {
  const names = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
  ];
  return (code !== undefined && names[code]) || "UNKNOWN";
}
