/**
 * Microsoft Graph v1.0, narrowly: app registrations, their client secrets, service principals, and
 * what the permission preflight reads. Plain HTTPS with a token for the Graph endpoint from the same
 * credential as ARM; errors carry Graph's `error.code` (never matched by message text).
 */
import { retryAfterMs, retryTransient, type Transient, waitUntil } from "../../engine/wait.js";
import {
  type AzureAuth,
  AzureHttpError,
  type HttpsAnswer,
  httpsRequest,
  type RetryOptions,
  retrying,
  tokenFor,
} from "./sdk.js";

const BUSY = [429, 503, 504];

/** A throttled or unavailable answer, thrown so that retryTransient tries again. */
class Busy extends Error {
  constructor(readonly answer: HttpsAnswer) {
    super(`HTTP ${answer.status}`);
  }
}

function graphTransient(err: unknown): Transient | undefined {
  if (err instanceof Busy) {
    const after = err.answer.headers["retry-after"];
    return { retryAfterMs: retryAfterMs(Array.isArray(after) ? after[0] : after), reason: `HTTP ${err.answer.status}` };
  }
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ECONNRESET" || code === "EPIPE" || code === "ETIMEDOUT"
    ? { reason: "the connection dropped" }
    : undefined;
}

export interface PasswordCredential {
  keyId: string;
  /** The first characters of the secret (Graph's `hint`). */
  hint: string;
  startDateTime?: string;
  endDateTime?: string;
  displayName?: string | null;
}

export interface GraphApp {
  /** Object id. */
  id: string;
  /** Client id. */
  appId: string;
  displayName: string;
  passwordCredentials: PasswordCredential[];
  /** When the app was registered (Graph's createdDateTime), when known. */
  createdDateTime?: string;
}

export interface GraphServicePrincipal {
  id: string;
  appId: string;
}

export interface NewSecret {
  keyId: string;
  secretText: string;
  hint: string;
}

/** Directory role template ids that may create app registrations even when users may not. */
export const APP_CREATOR_ROLES: Record<string, string> = {
  "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
  "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
  "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
  "cf1c38e5-3621-4004-a7cb-879624dced7c": "Application Developer",
};

export interface GraphApi {
  token(): Promise<string>;
  findApps(displayName: string): Promise<GraphApp[]>;
  getApp(objectId: string): Promise<GraphApp | null>;
  /** The app registration with this client id. */
  findAppByAppId(appId: string): Promise<GraphApp | null>;
  /** Deletes an app registration (with its service principal and secrets); one already gone is success. */
  deleteApp(objectId: string): Promise<void>;
  createApp(displayName: string, notes: string, tags: string[]): Promise<GraphApp>;
  addPassword(objectId: string, displayName: string): Promise<NewSecret>;
  /** A secret already gone is not an error. */
  removePassword(objectId: string, keyId: string): Promise<void>;
  findServicePrincipal(appId: string): Promise<GraphServicePrincipal | null>;
  /**
   * Creates the app's service principal; one created meanwhile is returned instead. Waits while Graph has not
   * replicated the app yet (NoBackingApplicationObject; for an app registered within NEW_APP_MS, also 403
   * Authorization_RequestDenied), up to a deadline.
   */
  createServicePrincipal(appId: string, o?: { appCreated?: string | undefined }): Promise<GraphServicePrincipal>;
  allowedToCreateApps(): Promise<boolean>;
  /**
   * Directory role template ids `principalId` holds, directly or through groups (a user's transitive
   * memberships, as Graph's transitiveRoleAssignments would list them).
   */
  directoryRoles(principalId: string): Promise<string[]>;
}

const q = (v: string) => `'${v.replace(/'/g, "''")}'`;

/** An app registered this recently may not have replicated yet (its principal can be refused meanwhile). */
export const NEW_APP_MS = 10 * 60_000;
/** How long a replication delay of something not new is waited out. */
const REPLICATION_MS = 2 * 60_000;

type Call = <T>(method: string, path: string, body?: unknown) => Promise<T>;
/** Every item of a Graph collection, following `@odata.nextLink` (https://learn.microsoft.com/graph/paging). */
type List = <T>(path: string) => Promise<T[]>;

/** A Graph request with the caller's token: throttling waited out, errors as AzureHttpError with Graph's most precise code. */
function graphCaller(auth: AzureAuth): { call: Call; list: List; getToken(): Promise<string> } {
  const base = `${auth.endpoints.graph}/v1.0`;
  let token: Promise<string> | undefined;
  const getToken = () => {
    token ??= tokenFor(auth, auth.endpoints.graph);
    return token;
  };

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const send = async () =>
      // A next page's link is absolute.
      httpsRequest(/^https:/.test(path) ? path : `${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${await getToken()}`,
          accept: "application/json",
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ca: auth.ca,
      });
    // Throttled or briefly unavailable (https://learn.microsoft.com/graph/throttling), or the connection dropped:
    // tried again as told (Retry-After) with backoff; the last such answer is then reported as it is.
    const answer = await retryTransient(
      async () => {
        const a = await send();
        if (BUSY.includes(a.status)) throw new Busy(a);
        return a;
      },
      { what: `Microsoft Graph ${method} ${path.split("?")[0]}`, attempts: 4, baseMs: 1000, transient: graphTransient },
    ).catch((err: unknown) => {
      if (err instanceof Busy) return err.answer;
      throw err;
    });
    if (answer.status >= 200 && answer.status < 300) return (answer.text ? JSON.parse(answer.text) : {}) as T;
    let code = `HTTP${answer.status}`;
    let message = answer.text.slice(0, 300);
    let details: string[] = [];
    try {
      const e = (
        JSON.parse(answer.text) as { error?: { code?: string; message?: string; details?: { code?: string }[] } }
      ).error;
      code = e?.code ?? code;
      message = e?.message ?? message;
      details = (e?.details ?? []).map((d) => d.code ?? "").filter(Boolean);
    } catch {
      // not JSON: keep the status
    }
    // A detail code is more precise (NoBackingApplicationObject under Request_BadRequest).
    throw new AzureHttpError(
      `Microsoft Graph ${method} ${path.split("?")[0]}: ${message}`,
      details[0] ?? code,
      answer.status,
    );
  }
  async function list<T>(path: string): Promise<T[]> {
    const out: T[] = [];
    for (let next: string | undefined = path; next; ) {
      const page: { value?: T[]; "@odata.nextLink"?: string } = await call("GET", next);
      out.push(...(page.value ?? []));
      next = page["@odata.nextLink"];
    }
    return out;
  }
  return { call, list, getToken };
}

const app = (a: GraphApp): GraphApp => ({
  id: a.id,
  appId: a.appId,
  displayName: a.displayName,
  ...(a.createdDateTime ? { createdDateTime: a.createdDateTime } : {}),
  passwordCredentials: (a.passwordCredentials ?? []).map((p) => ({
    keyId: p.keyId,
    hint: p.hint ?? "",
    ...(p.startDateTime ? { startDateTime: p.startDateTime } : {}),
    ...(p.endDateTime ? { endDateTime: p.endDateTime } : {}),
    displayName: p.displayName ?? null,
  })),
});
const notYet = (codes: string[]) => (err: unknown) => err instanceof AzureHttpError && codes.includes(err.code ?? "");

/**
 * addPassword refused by the tenant's app management policy (restrictionType passwordAddition or
 * passwordLifetime, https://learn.microsoft.com/graph/api/resources/passwordcredentialconfiguration): one line
 * naming the policy and the way out; undefined for any other failure.
 */
export function appPolicyRefusal(err: unknown): AzureHttpError | undefined {
  if (!(err instanceof AzureHttpError)) return undefined;
  const policy = /policy '([^']+)'/.exec(err.message)?.[1] ?? "(unnamed)";
  const fix =
    "ask an admin to exempt this app registration from the policy (or pass --app-name with an app it does not " +
    "cover), then run again.";
  if (err.code === "CredentialTypeNotAllowedAsPerAppPolicy")
    return new AzureHttpError(
      `The tenant's app management policy ${policy} blocks new client secrets, and the credentials block needs one; ${fix}`,
      err.code,
      err.status,
    );
  if (err.code === "CredentialInvalidLifetimeAsPerAppPolicy" || err.code === "InvalidKeyEndDate")
    return new AzureHttpError(
      `The tenant's app management policy ${policy} caps client secret lifetimes below the two years Microsoft Graph gives a new secret; ${fix}`,
      "CredentialInvalidLifetimeAsPerAppPolicy",
      err.status,
    );
  return undefined;
}

/** App registrations and their client secrets. */
function appMethods(
  call: Call,
  list: List,
  retry: RetryOptions,
): Pick<
  GraphApi,
  "findApps" | "getApp" | "findAppByAppId" | "deleteApp" | "createApp" | "addPassword" | "removePassword"
> {
  return {
    async findApps(displayName) {
      const r = await list<GraphApp>(`/applications?$filter=${encodeURIComponent(`displayName eq ${q(displayName)}`)}`);
      return r.map(app);
    },
    async getApp(objectId) {
      try {
        return app(await call<GraphApp>("GET", `/applications/${encodeURIComponent(objectId)}`));
      } catch (err) {
        if (err instanceof AzureHttpError && err.code === "Request_ResourceNotFound") return null;
        throw err;
      }
    },
    async findAppByAppId(appId) {
      const r = await list<GraphApp>(`/applications?$filter=${encodeURIComponent(`appId eq ${q(appId)}`)}`);
      const a = r[0];
      return a ? app(a) : null;
    },
    async deleteApp(objectId) {
      try {
        await call("DELETE", `/applications/${encodeURIComponent(objectId)}`);
      } catch (err) {
        if (err instanceof AzureHttpError && err.code === "Request_ResourceNotFound") return;
        throw err;
      }
    },
    async createApp(displayName, notes, tags) {
      return app(await call<GraphApp>("POST", "/applications", { displayName, notes, tags }));
    },
    async addPassword(objectId, displayName) {
      // Right after the app is created, Graph may not see it yet (404): retried.
      const s = await retrying(
        "Client secret",
        () =>
          call<NewSecret>("POST", `/applications/${encodeURIComponent(objectId)}/addPassword`, {
            passwordCredential: { displayName },
          }).catch((err: unknown) => {
            throw appPolicyRefusal(err) ?? err;
          }),
        notYet(["Request_ResourceNotFound"]),
        retry,
      );
      return { keyId: s.keyId, secretText: s.secretText, hint: s.hint };
    },
    async removePassword(objectId, keyId) {
      const current = await this.getApp(objectId);
      if (!current?.passwordCredentials.some((p) => p.keyId === keyId)) return;
      await call("POST", `/applications/${encodeURIComponent(objectId)}/removePassword`, { keyId });
    },
  };
}

/** Service principals and what the caller may do in the directory. */
function principalMethods(
  call: Call,
  list: List,
  retry: RetryOptions,
): Pick<GraphApi, "findServicePrincipal" | "createServicePrincipal" | "allowedToCreateApps" | "directoryRoles"> {
  return {
    async findServicePrincipal(appId) {
      const r = await list<GraphServicePrincipal>(
        `/servicePrincipals?$filter=${encodeURIComponent(`appId eq ${q(appId)}`)}`,
      );
      const sp = r[0];
      return sp ? { id: sp.id, appId: sp.appId } : null;
    },
    async createServicePrincipal(appId, o = {}) {
      const created = o.appCreated ? Date.parse(o.appCreated) : Number.NaN;
      const age = Number.isFinite(created) ? Date.now() - created : Number.POSITIVE_INFINITY;
      // A brand-new app: Graph may refuse its principal (403) until the app has replicated.
      const young = age < NEW_APP_MS;
      try {
        const sp = await waitUntil({
          what: `the service principal of app ${appId} to be accepted`,
          why: "Entra ID replicates a brand-new app registration for a while before its service principal can be made",
          timeoutMs: young ? NEW_APP_MS - age : REPLICATION_MS,
          intervalMs: retry.baseMs ?? 500,
          note: retry.note ?? (() => {}),
          signal: retry.signal,
          attempt: async () => {
            try {
              return { done: true, value: await call<GraphServicePrincipal>("POST", "/servicePrincipals", { appId }) };
            } catch (err) {
              const code = err instanceof AzureHttpError ? err.code : undefined;
              if (code === "NoBackingApplicationObject" || (young && code === "Authorization_RequestDenied"))
                return { done: false, reason: code };
              throw err;
            }
          },
        });
        return { id: sp.id, appId: sp.appId };
      } catch (err) {
        if (err instanceof AzureHttpError && err.code === "Request_MultipleObjectsWithSameKeyValue") {
          const found = await this.findServicePrincipal(appId);
          if (found) return found;
        }
        throw err;
      }
    },
    async allowedToCreateApps() {
      const p = await call<{ defaultUserRolePermissions?: { allowedToCreateApps?: boolean } }>(
        "GET",
        "/policies/authorizationPolicy",
      );
      return p.defaultUserRolePermissions?.allowedToCreateApps === true;
    },
    async directoryRoles(principalId) {
      const direct = await list<{ roleDefinitionId: string }>(
        `/roleManagement/directory/roleAssignments?$filter=${encodeURIComponent(`principalId eq ${q(principalId)}`)}`,
      );
      // Roles held through a group: the directoryRole objects among the user's transitive memberships
      // (https://learn.microsoft.com/graph/api/user-list-transitivememberof).
      const member = await list<{ "@odata.type"?: string; roleTemplateId?: string }>(
        `/users/${encodeURIComponent(principalId)}/transitiveMemberOf`,
      );
      const viaGroups = member
        .filter((x) => x["@odata.type"] === "#microsoft.graph.directoryRole" && x.roleTemplateId)
        .map((x) => x.roleTemplateId ?? "");
      return [...new Set([...direct.map((a) => a.roleDefinitionId), ...viaGroups])];
    },
  };
}

export function graphApi(auth: AzureAuth, retry: RetryOptions = {}): GraphApi {
  const { call, list, getToken } = graphCaller(auth);
  return { token: getToken, ...appMethods(call, list, retry), ...principalMethods(call, list, retry) };
}
