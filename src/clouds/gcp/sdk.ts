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
import type { cloudresourcemanager_v1 } from "@googleapis/cloudresourcemanager";
import type { iam_v1 } from "@googleapis/iam";
import type { serviceusage_v1 } from "@googleapis/serviceusage";
import { retryTransient, waitUntil } from "../../engine/wait.js";
import { AuthError, CloudError } from "../../errors.js";
import { type AuthLike, endpointFor, type Modules, resolveAuth } from "./sdk-auth.js";
import {
  AUTH_HINT,
  call,
  find,
  GcpError,
  gcpCode,
  gcpTransient,
  KEY_CONSTRAINT,
  MANAGED_KEY_CONSTRAINT,
  rpcName,
  toGcpError,
} from "./sdk-errors.js";
import type { GcpApi, GcpOptions, Operation, Policy, Repository } from "./sdk-types.js";

export { type AuthLike, endpointFor, onPath } from "./sdk-auth.js";
export {
  GcpError,
  gcpCode,
  gcpTransient,
  KEY_CONSTRAINT,
  MANAGED_KEY_CONSTRAINT,
  SCOPE,
  toGcpError,
} from "./sdk-errors.js";

export type {
  Binding,
  GcpApi,
  GcpOptions,
  Operation,
  Policy,
  Repository,
  ServiceAccount,
  ServiceAccountKey,
} from "./sdk-types.js";

/** The longest wait for one long-running operation. */
export const OPERATION_WAIT_MS = 10 * 60_000;

type Iam = iam_v1.Iam;
type Crm = cloudresourcemanager_v1.Cloudresourcemanager;
type Su = serviceusage_v1.Serviceusage;
type Op = { name?: string | null; done?: boolean | null; error?: unknown; response?: unknown };

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
  // The clients' own type of `auth` is googleapis-common's copy of google-auth-library.
  const gauth = auth as unknown as NonNullable<iam_v1.Options["auth"]>;
  const clients = {
    iam: iamM.iam({ version: "v1", auth: gauth, rootUrl: endpointFor("IAM", o.env) }),
    crm: crmM.cloudresourcemanager({
      version: "v1",
      auth: gauth as unknown as NonNullable<cloudresourcemanager_v1.Options["auth"]>,
      rootUrl: endpointFor("CRM", o.env),
    }),
    su: suM.serviceusage({
      version: "v1",
      auth: gauth as unknown as NonNullable<serviceusage_v1.Options["auth"]>,
      rootUrl: endpointFor("SERVICEUSAGE", o.env),
    }),
  };
  return new GoogleCloud(o, auth, source, clients);
}

/** The adapter: one method per call wp makes. */
class GoogleCloud implements GcpApi {
  readonly project: string;
  readonly region: string;
  private readonly iam: Iam;
  private readonly crm: Crm;
  private readonly su: Su;
  private readonly ar: string;
  private readonly orgPolicy: string;
  private readonly location: string;
  private readonly pollStart: number;

  constructor(
    o: GcpOptions,
    private readonly auth: AuthLike,
    readonly credentialSource: string,
    c: { iam: Iam; crm: Crm; su: Su },
  ) {
    this.project = o.project;
    this.region = o.region;
    this.iam = c.iam;
    this.crm = c.crm;
    this.su = c.su;
    this.ar = endpointFor("ARTIFACTREGISTRY", o.env);
    this.orgPolicy = endpointFor("ORGPOLICY", o.env);
    this.location = `projects/${o.project}/locations/${o.region}`;
    this.pollStart = Number(o.env.WP_GCP_POLL_MS) || o.pollMs || 1000;
  }

  private saName(email: string): string {
    return `projects/${this.project}/serviceAccounts/${email}`;
  }

  /**
   * Polls an operation until done, within OPERATION_WAIT_MS; a transient answer to a poll (503, 429)
   * is tried again; the operation's `error` stops the wait and is thrown like a call error.
   */
  private async wait<T extends Op>(
    op: string,
    first: T,
    get: (name: string) => Promise<T>,
    progress: (m: string) => void,
    what: string,
  ): Promise<T> {
    let cur = first;
    const done = await waitUntil<T>({
      what,
      why: `Google runs ${op} as a long-running operation`,
      timeoutMs: OPERATION_WAIT_MS,
      intervalMs: this.pollStart,
      maxIntervalMs: 10_000,
      note: progress,
      hint: `Check the operation in the Google Cloud console, then run the same command again (finished steps are kept).`,
      attempt: async () => {
        if (cur.done) return { done: true, value: cur };
        if (!cur.name) throw new CloudError(`Google Cloud ${op} returned an operation without a name.`);
        const name = cur.name;
        cur = await retryTransient(() => get(name), {
          transient: gcpTransient,
          what: `reading operation ${name}`,
          note: progress,
          baseMs: this.pollStart,
        });
        return cur.done ? { done: true, value: cur } : { done: false, reason: `operation ${name} still running` };
      },
    });
    if (done.error) {
      const e = done.error as { code?: number; message?: string; details?: unknown[] };
      throw toGcpError(op, {
        status: 400,
        response: { status: 400, data: { error: { ...e, status: rpcName(e.code) } } },
        message: e.message,
      });
    }
    return done;
  }

  /** An Artifact Registry operation, polled until done. */
  private arWait(op: string, first: Operation, progress: (m: string) => void, what: string): Promise<Operation> {
    const get = (name: string) =>
      call("operations.get", () => this.auth.request<Operation>({ url: `${this.ar}v1/${name}` }));
    return this.wait(op, first, get, progress, what);
  }

  async getProject() {
    try {
      return await find("projects.get", () => this.crm.projects.get({ projectId: this.project }));
    } catch (err) {
      // Google answers 403 for a project the caller cannot see (it does not say whether it exists).
      if (err instanceof GcpError && err.httpStatus === 403 && !err.reasons.includes("SERVICE_DISABLED")) return null;
      throw err;
    }
  }

  async listProjects() {
    const all: cloudresourcemanager_v1.Schema$Project[] = [];
    let pageToken: string | undefined;
    do {
      const page = await call("projects.list", () =>
        this.crm.projects.list({ filter: "lifecycleState:ACTIVE", ...(pageToken ? { pageToken } : {}) }),
      );
      all.push(...(page.projects ?? []));
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    return all;
  }

  async serviceEnabled(service: string) {
    const name = `projects/${this.project}/services/${service}`;
    const s = await call("services.get", () => this.su.services.get({ name }));
    return s.state === "ENABLED";
  }

  async enableService(service: string, progress: (m: string) => void) {
    const name = `projects/${this.project}/services/${service}`;
    const op = await call("services.enable", () => this.su.services.enable({ name, requestBody: {} }));
    const get = (n: string) => call("operations.get", () => this.su.operations.get({ name: n }));
    await this.wait("services.enable", op, get, progress, `${service} to be enabled`);
  }

  getRepository(id: string) {
    const url = `${this.ar}v1/${this.location}/repositories/${id}`;
    return find("repositories.get", () => this.auth.request<Repository>({ url }));
  }

  async createRepository(id: string, body: Repository, progress: (m: string) => void) {
    let op: Operation;
    try {
      op = await call("repositories.create", () =>
        this.auth.request<Operation>({
          url: `${this.ar}v1/${this.location}/repositories`,
          method: "POST",
          params: { repositoryId: id },
          data: body,
        }),
      );
    } catch (err) {
      if (gcpCode(err) === "ALREADY_EXISTS") return null;
      throw err;
    }
    const done = await this.arWait(
      "repositories.create",
      op,
      progress,
      `Artifact Registry repository ${id} to be created`,
    );
    return (done.response as Repository | undefined) ?? null;
  }

  getServiceAccount(email: string) {
    return find("serviceAccounts.get", () => this.iam.projects.serviceAccounts.get({ name: this.saName(email) }));
  }

  async createServiceAccount(accountId: string, displayName: string) {
    try {
      return await call("serviceAccounts.create", () =>
        this.iam.projects.serviceAccounts.create({
          name: `projects/${this.project}`,
          requestBody: { accountId, serviceAccount: { displayName } },
        }),
      );
    } catch (err) {
      if (gcpCode(err) === "ALREADY_EXISTS") return null;
      throw err;
    }
  }

  getIamPolicy() {
    const requestBody = { options: { requestedPolicyVersion: 3 } };
    return call("projects.getIamPolicy", () => this.crm.projects.getIamPolicy({ resource: this.project, requestBody }));
  }

  setIamPolicy(policy: Policy) {
    const requestBody = { policy, updateMask: "bindings,etag" };
    return call("projects.setIamPolicy", () => this.crm.projects.setIamPolicy({ resource: this.project, requestBody }));
  }

  async findKeys(email: string) {
    const out = await find("serviceAccounts.keys.list", () =>
      this.iam.projects.serviceAccounts.keys.list({ name: this.saName(email), keyTypes: ["USER_MANAGED"] }),
    );
    return out ? (out.keys ?? []) : null;
  }

  async listKeys(email: string) {
    return (await this.findKeys(email)) ?? [];
  }

  createKey(email: string) {
    return call("serviceAccounts.keys.create", () =>
      this.iam.projects.serviceAccounts.keys.create({
        name: this.saName(email),
        requestBody: { privateKeyType: "TYPE_GOOGLE_CREDENTIALS_FILE", keyAlgorithm: "KEY_ALG_RSA_2048" },
      }),
    );
  }

  async deleteKey(name: string) {
    await find("serviceAccounts.keys.delete", () => this.iam.projects.serviceAccounts.keys.delete({ name }));
  }

  async enableServiceAccount(email: string) {
    await call("serviceAccounts.enable", () =>
      this.iam.projects.serviceAccounts.enable({ name: this.saName(email), requestBody: {} }),
    );
  }

  async deleteServiceAccount(email: string) {
    await find("serviceAccounts.delete", () => this.iam.projects.serviceAccounts.delete({ name: this.saName(email) }));
  }

  async dockerImageCount(id: string) {
    type Page = { dockerImages?: unknown[]; nextPageToken?: string };
    let count = 0;
    let pageToken: string | undefined;
    do {
      const params = { pageSize: 1000, ...(pageToken ? { pageToken } : {}) };
      const url = `${this.ar}v1/${this.location}/repositories/${id}/dockerImages`;
      const page: Page | null = await find("dockerImages.list", () => this.auth.request<Page>({ url, params }));
      count += page?.dockerImages?.length ?? 0;
      pageToken = page?.nextPageToken || undefined;
    } while (pageToken);
    return count;
  }

  async deleteRepository(id: string, progress: (m: string) => void) {
    const url = `${this.ar}v1/${this.location}/repositories/${id}`;
    const op = await find("repositories.delete", () => this.auth.request<Operation>({ url, method: "DELETE" }));
    if (!op) return;
    await this.arWait("repositories.delete", op, progress, `Artifact Registry repository ${id} to be deleted`);
  }

  async keyCreationForbidden(): Promise<string | false | null> {
    const unreadable = (err: unknown) => {
      // No permission to read it, or the Org Policy API is not enabled: unknown.
      if (err instanceof GcpError && (err.httpStatus === 403 || err.httpStatus === 404)) return null;
      throw err;
    };
    const legacy = call("projects.getEffectiveOrgPolicy", () =>
      this.crm.projects.getEffectiveOrgPolicy({
        resource: `projects/${this.project}`,
        requestBody: { constraint: KEY_CONSTRAINT },
      }),
    ).then((p) => p.booleanPolicy?.enforced === true, unreadable);
    // Org Policy v2: https://cloud.google.com/resource-manager/docs/reference/orgpolicy/rest/v2/projects.policies/getEffectivePolicy
    type V2 = { spec?: { rules?: Array<{ enforce?: boolean }> } };
    const url = `${this.orgPolicy}v2/projects/${this.project}/policies/${MANAGED_KEY_CONSTRAINT}:getEffectivePolicy`;
    const managed = call("policies.getEffectivePolicy", () => this.auth.request<V2>({ url })).then(
      (p) => (p.spec?.rules ?? []).some((r) => r.enforce === true),
      unreadable,
    );
    const [l, m] = await Promise.all([legacy, managed]);
    if (l) return KEY_CONSTRAINT;
    if (m) return `constraints/${MANAGED_KEY_CONSTRAINT}`;
    return l === null || m === null ? null : false;
  }

  async testIamPermissions(permissions: string[]) {
    // https://cloud.google.com/resource-manager/reference/rest/v1/projects/testIamPermissions
    const out = await call("projects.testIamPermissions", () =>
      this.crm.projects.testIamPermissions({ resource: this.project, requestBody: { permissions } }),
    );
    return out.permissions ?? [];
  }

  async testServiceAccountPermissions(email: string, permissions: string[]) {
    // https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/testIamPermissions
    const out = await call("serviceAccounts.testIamPermissions", () =>
      this.iam.projects.serviceAccounts.testIamPermissions({
        resource: this.saName(email),
        requestBody: { permissions },
      }),
    );
    return out.permissions ?? [];
  }

  async accessToken() {
    let t: Awaited<ReturnType<AuthLike["getAccessToken"]>>;
    try {
      t = await this.auth.getAccessToken();
    } catch (err) {
      throw toGcpError("access token", err);
    }
    const token = typeof t === "string" ? t : t?.token;
    if (!token) throw new AuthError("Google Cloud gave no access token.", AUTH_HINT);
    return token;
  }
}
