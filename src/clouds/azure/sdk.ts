/**
 * Azure, narrowly: the credential (the standard chain of @azure/identity), the endpoints (ARM, Graph,
 * authority host, ACR token exchange; overridable for sovereign clouds and tests), HTTPS trust, error
 * codes, retries. The SDK packages are imported only when a client is first needed (azure-arm.ts);
 * Microsoft Graph and the ACR token exchange are plain HTTPS requests (azure-graph.ts, azure-arm.ts)
 * with a token from the same credential.
 *
 * Endpoints (env):
 *  - WP_AZURE_ARM_ENDPOINT    Azure Resource Manager, default https://management.azure.com
 *  - WP_AZURE_GRAPH_ENDPOINT  Microsoft Graph, default https://graph.microsoft.com (v1.0 is appended)
 *  - AZURE_AUTHORITY_HOST     Entra ID, default https://login.microsoftonline.com (as @azure/identity)
 *  - WP_AZURE_ACR_ENDPOINT    ACR token exchange base, default https://<registry login server>
 * Token scopes follow the endpoints (`<endpoint>/.default`), as for the sovereign clouds.
 * NODE_EXTRA_CA_CERTS of wp's environment is trusted in addition to Node's roots (also when wp runs
 * in-process with an environment of its own, where Node did not read it at start-up).
 */
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { rootCertificates } from "node:tls";
import type { TokenCredential } from "@azure/identity";
import { AuthError, CloudError, UsageError } from "../../errors.js";

export type Env = Record<string, string | undefined>;

export const DEFAULT_ARM = "https://management.azure.com";
export const DEFAULT_GRAPH = "https://graph.microsoft.com";
export const DEFAULT_AUTHORITY = "https://login.microsoftonline.com";

export interface AzureEndpoints {
  arm: string;
  graph: string;
  authorityHost: string;
  /** Base URL of the ACR token exchange; undefined: the registry's own login server. */
  acr: string | undefined;
}

const trim = (u: string) => u.replace(/\/+$/, "");

export function azureEndpoints(env: Env): AzureEndpoints {
  return {
    arm: trim(env.WP_AZURE_ARM_ENDPOINT || DEFAULT_ARM),
    graph: trim(env.WP_AZURE_GRAPH_ENDPOINT || DEFAULT_GRAPH),
    authorityHost: trim(env.AZURE_AUTHORITY_HOST || DEFAULT_AUTHORITY),
    acr: env.WP_AZURE_ACR_ENDPOINT ? trim(env.WP_AZURE_ACR_ENDPOINT) : undefined,
  };
}

/** Node's roots plus NODE_EXTRA_CA_CERTS of `env`; undefined when that is unset (Node's defaults apply). */
export function trustedCas(env: Env): string[] | undefined {
  const file = env.NODE_EXTRA_CA_CERTS;
  if (!file) return undefined;
  try {
    return [...rootCertificates, readFileSync(file, "utf8")];
  } catch {
    throw new UsageError(`NODE_EXTRA_CA_CERTS names ${file}, which cannot be read.`, "Fix or unset it.");
  }
}

export interface AzureAuth {
  credential: TokenCredential;
  endpoints: AzureEndpoints;
  ca: string[] | undefined;
}

/**
 * The credential: the environment's service principal (AZURE_TENANT_ID, AZURE_CLIENT_ID and
 * AZURE_CLIENT_SECRET of wp's env) when set, else @azure/identity's DefaultAzureCredential (environment,
 * workload identity, managed identity, the Azure CLI's login, …).
 */
export async function azureAuth(env: Env, credential?: TokenCredential): Promise<AzureAuth> {
  const endpoints = azureEndpoints(env);
  const ca = trustedCas(env);
  if (credential) return { credential, endpoints, ca };
  const identity = await import("@azure/identity");
  const custom = endpoints.authorityHost !== DEFAULT_AUTHORITY;
  const common = {
    authorityHost: endpoints.authorityHost,
    ...(custom ? { disableInstanceDiscovery: true } : {}),
    ...(ca ? { tlsOptions: { ca } } : {}),
  };
  const { AZURE_TENANT_ID: tenant, AZURE_CLIENT_ID: client, AZURE_CLIENT_SECRET: secret } = env;
  const made =
    tenant && client && secret
      ? new identity.ClientSecretCredential(tenant, client, secret, common)
      : new identity.DefaultAzureCredential(common);
  return { credential: made, endpoints, ca };
}

const AUTH_HINT =
  "Sign in to Azure: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal, " +
  "use a managed or workload identity, or run `az login`.";

/** Access token for `resource` (an endpoint), as an AuthError when the credential cannot get one. */
export async function tokenFor(auth: AzureAuth, resource: string): Promise<string> {
  try {
    // As the Azure SDK clients ask (continuous access evaluation on): @azure/identity keeps one token cache
    // per CAE setting, and a second one cost every run its own metadata and token requests.
    const t = await auth.credential.getToken(`${resource}/.default`, { enableCae: true });
    if (!t?.token) throw new Error("no token");
    return t.token;
  } catch (err) {
    const msg = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new AuthError(`Could not get an Azure access token for ${resource}: ${msg}`, AUTH_HINT);
  }
}

/** Claims of an access token, read (not verified) for the permission preflight. */
export function tokenClaims(token: string): Record<string, unknown> {
  try {
    const part = token.split(".")[1] ?? "";
    const parsed: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The service error code of an Azure SDK or Graph failure (`RestError.code`, `CloudError.code`, a network code). */
export function azureErrorCode(err: unknown): string | undefined {
  if (err instanceof CloudError) return err.code;
  if (typeof err !== "object" || err === null) return undefined;
  const { code } = err as { code?: unknown };
  return typeof code === "string" ? code : undefined;
}

/** The HTTP status of an Azure failure, when it has one. */
export function azureStatus(err: unknown): number | undefined {
  if (err instanceof AzureHttpError) return err.status;
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === "number" ? s : undefined;
}

/** A failed Graph or token-exchange request: `code` from the service's error envelope. */
export class AzureHttpError extends CloudError {
  constructor(
    message: string,
    code: string,
    readonly status: number,
  ) {
    super(message, code);
  }
}

const IDENTITY_ERRORS = new Set([
  "AuthenticationError",
  "AuthenticationRequiredError",
  "CredentialUnavailableError",
  "AggregateAuthenticationError",
]);
const DENIED = new Set(["AuthorizationFailed", "Authorization_RequestDenied", "LinkedAuthorizationFailed"]);
const AUTH = new Set(["InvalidAuthenticationToken", "ExpiredAuthenticationToken", "InvalidAuthenticationTokenTenant"]);

/** Converts an SDK or Graph failure into a wp error carrying the Azure code; `op` names the operation. */
export function toAzureError(op: string, err: unknown): Error {
  if (err instanceof AuthError || err instanceof UsageError) return err;
  // @azure/identity's failures (the SDK's bearer policy passes them through): no token, no request.
  const name = (err as { name?: unknown } | null)?.name;
  if (typeof name === "string" && IDENTITY_ERRORS.has(name)) {
    const msg = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    return new AuthError(`Could not sign in to Azure for ${op}: ${msg}`, AUTH_HINT);
  }
  const code = azureErrorCode(err) ?? "Unknown";
  const message = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
  if (AUTH.has(code)) return new AuthError(`Azure rejected the credentials for ${op}: ${message}`, AUTH_HINT);
  if (DENIED.has(code)) return new CloudError(`Azure denied ${op}: ${message}`, code);
  if (code === "RequestDisallowedByPolicy") return policyDenial(op, err);
  if (err instanceof CloudError) return err;
  return new CloudError(`${op} failed: ${message}${code !== "Unknown" ? ` (${code})` : ""}`, code);
}

/**
 * An Azure Policy deny (403 RequestDisallowedByPolicy) as one line naming the policy assignment and the way out
 * (https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-policy-requestdisallowedbypolicy).
 * The assignment comes from the error's additionalInfo (PolicyViolation), else from its "Policy identifiers".
 */
export function policyDenial(op: string, err: unknown): CloudError {
  const e = err as { details?: unknown; message?: unknown };
  const envelope = (e.details ?? {}) as { error?: unknown; additionalInfo?: unknown };
  const body = (envelope.error ?? envelope) as {
    additionalInfo?: Array<{ type?: string; info?: Record<string, unknown> }>;
  };
  const info = (body.additionalInfo ?? []).find((a) => a.type === "PolicyViolation")?.info ?? {};
  const text = typeof e.message === "string" ? e.message : "";
  const fromText = /"policyAssignment":\{"name":"([^"]*)","id":"([^"]*)"\}/.exec(text);
  const name = String(info.policyAssignmentDisplayName ?? fromText?.[1] ?? "(unnamed)");
  const id = String(info.policyAssignmentId ?? fromText?.[2] ?? "");
  return new CloudError(
    `Azure Policy '${name}'${id ? ` (assignment ${id})` : ""} does not allow ${op}; ask an admin for a policy ` +
      `exemption (az policy exemption create --policy-assignment ${id || "<assignment id>"} --scope <resource group id>) ` +
      "or for a change to the assignment, or pass names and --location the policy allows.",
    "RequestDisallowedByPolicy",
  );
}

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTPS request with wp's CA trust (Graph, ACR token exchange). */
export function httpsRequest(
  url: string,
  o: {
    method: string;
    headers?: Record<string, string>;
    body?: string;
    ca: string[] | undefined;
    signal?: AbortSignal;
  },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    if (u.protocol !== "https:") return reject(new UsageError(`${url} is not an https URL.`));
    const req = request(
      u,
      {
        method: o.method,
        headers: {
          ...(o.body !== undefined ? { "content-length": String(Buffer.byteLength(o.body)) } : {}),
          ...o.headers,
        },
        ...(o.ca ? { ca: o.ca } : {}),
        timeout: 60_000,
        ...(o.signal ? { signal: o.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`request to ${u.host} timed out`)));
    req.on("error", reject);
    req.end(o.body);
  });
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });

export interface RetryOptions {
  /** First wait; doubled each time up to 8 s. */
  baseMs?: number;
  attempts?: number;
  /** Long-running operations: the wait between polls when Azure gives no Retry-After (SDK default 2 s). */
  pollMs?: number;
  /** Called before each wait, with what is being waited for. */
  note?: (message: string) => void;
  signal?: AbortSignal;
}

/**
 * Runs `fn` again while `transient(err)` says the failure is a replication delay (a new principal
 * or app not yet visible); other failures and the last attempt's failure are thrown.
 */
export async function retrying<T>(
  what: string,
  fn: () => Promise<T>,
  transient: (err: unknown) => boolean,
  o: RetryOptions = {},
): Promise<T> {
  const attempts = o.attempts ?? 10;
  let wait = o.baseMs ?? 500;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !transient(err) || o.signal?.aborted) throw err;
      if (i === 1) o.note?.(`${what}: waiting for Azure to replicate the new principal…`);
      await sleep(wait, o.signal);
      wait = Math.min(wait * 2, 8000);
    }
  }
}

/** An ARM access token for a client secret as its own identity (ClientSecretCredential against the authority host). */
export async function clientSecretToken(
  env: Env,
  o: { tenantId: string; clientId: string; clientSecret: string },
): Promise<string> {
  const endpoints = azureEndpoints(env);
  const ca = trustedCas(env);
  const { ClientSecretCredential } = await import("@azure/identity");
  const cred = new ClientSecretCredential(o.tenantId, o.clientId, o.clientSecret, {
    authorityHost: endpoints.authorityHost,
    ...(endpoints.authorityHost !== DEFAULT_AUTHORITY ? { disableInstanceDiscovery: true } : {}),
    ...(ca ? { tlsOptions: { ca } } : {}),
  });
  try {
    const t = await cred.getToken(`${endpoints.arm}/.default`);
    if (!t?.token) throw new Error("no token");
    return t.token;
  } catch (err) {
    const msg = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "refused";
    throw new AuthError(`The client secret of ${o.clientId} does not sign in: ${msg}`, AUTH_HINT);
  }
}

/** Whether a client secret signs in as its own identity: null, or why not. */
export async function secretSignsIn(
  env: Env,
  o: { tenantId: string; clientId: string; clientSecret: string },
): Promise<string | null> {
  return clientSecretToken(env, o).then(
    () => null,
    (err: unknown) =>
      err instanceof Error ? err.message.replace(/^The client secret of \S+ does not sign in: /, "") : String(err),
  );
}
