/**
 * Cloud Run Admin API v2 jobs, called as a service account from its JSON key (a Prefect
 * gcp-credentials block's `service_account_info`), for `wp verify`. The key signs an OAuth JWT
 * assertion (RS256, as google-auth-library's gtoken does) exchanged at the token endpoint; the
 * private key never leaves this process. Endpoints: WP_GCP_RUN_ENDPOINT, else WP_GCP_ENDPOINT, else
 * Google's; the token URL as in gcp.ts (WP_GCP_TOKEN_URL, `<WP_GCP_ENDPOINT>token`, the key's token_uri).
 * Also Cloud Logging v2 `entries:list`, to read what a verification job printed: WP_GCP_LOGGING_ENDPOINT,
 * else WP_GCP_ENDPOINT, else https://logging.googleapis.com/.
 */
import { createSign } from "node:crypto";
import { retryTransient } from "../../engine/wait.js";
import { AuthError, CloudError } from "../../errors.js";
import type { Env } from "./config.js";
import { gcpTransient, refusedForNow, SCOPE, toGcpError } from "./sdk-errors.js";

export interface ServiceAccountInfo {
  client_email?: unknown;
  private_key?: unknown;
  private_key_id?: unknown;
  token_uri?: unknown;
}

function runEndpoint(env: Env): string {
  const v = env.WP_GCP_RUN_ENDPOINT || env.WP_GCP_ENDPOINT || "https://run.googleapis.com/";
  return v.endsWith("/") ? v : `${v}/`;
}

function loggingEndpoint(env: Env): string {
  const v = env.WP_GCP_LOGGING_ENDPOINT || env.WP_GCP_ENDPOINT || "https://logging.googleapis.com/";
  return v.endsWith("/") ? v : `${v}/`;
}

/**
 * One call to a Google JSON API as a bearer token; an error answer becomes toGcpError's CloudError.
 * A 429/503 answer (not carried out) is tried again with backoff, honouring Retry-After.
 */
function gcpFetch<T>(
  op: string,
  url: string,
  token: string,
  init: { method?: string; body?: unknown } = {},
  missingOk = false,
): Promise<T | null> {
  return retryTransient(() => fetchOnce<T>(op, url, token, init, missingOk), {
    transient: refusedForNow,
    what: op,
    attempts: 6,
  });
}

async function fetchOnce<T>(
  op: string,
  url: string,
  token: string,
  init: { method?: string; body?: unknown },
  missingOk: boolean,
): Promise<T | null> {
  const res = await fetch(url, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const data: unknown = await res.json().catch(() => ({}));
  if (res.status === 404 && missingOk) return null;
  if (!res.ok)
    throw toGcpError(op, {
      status: res.status,
      response: { status: res.status, data, headers: res.headers },
      message: `HTTP ${res.status}`,
    });
  return data as T;
}

function tokenEndpoint(env: Env, info: ServiceAccountInfo): string {
  if (env.WP_GCP_TOKEN_URL) return env.WP_GCP_TOKEN_URL;
  if (env.WP_GCP_ENDPOINT) return `${env.WP_GCP_ENDPOINT.replace(/\/?$/, "/")}token`;
  return typeof info.token_uri === "string" && info.token_uri ? info.token_uri : "https://oauth2.googleapis.com/token";
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

/** An access token for the key's service account; an AuthError when Google refuses the key. */
export async function serviceAccountToken(info: ServiceAccountInfo, env: Env): Promise<string> {
  const email = typeof info.client_email === "string" ? info.client_email : "";
  const key = typeof info.private_key === "string" ? info.private_key : "";
  if (!email || !key) throw new AuthError("The block's service_account_info has no client_email or private_key.");
  const url = tokenEndpoint(env, info);
  const now = Math.floor(Date.now() / 1000);
  const header = {
    alg: "RS256",
    typ: "JWT",
    ...(typeof info.private_key_id === "string" ? { kid: info.private_key_id } : {}),
  };
  const claims = { iss: email, scope: SCOPE, aud: url, iat: now, exp: now + 3600 };
  const unsigned = `${b64(header)}.${b64(claims)}`;
  let signature: string;
  try {
    signature = createSign("RSA-SHA256").update(unsigned).sign(key).toString("base64url");
  } catch {
    throw new AuthError(`The private key of ${email} in the block cannot sign (it is not a valid RSA key).`);
  }
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      assertion: `${unsigned}.${signature}`,
    }).toString(),
  });
  const body = (await res.json().catch(() => ({}))) as {
    access_token?: string;
    error?: string;
    error_description?: string;
  };
  if (!res.ok || !body.access_token)
    throw new AuthError(
      `Google refused the key of ${email} held by the block (${body.error ?? res.status}: ${body.error_description ?? "no access token"}).`,
    );
  return body.access_token;
}

export interface RunOperation {
  name?: string;
  done?: boolean;
  error?: { code?: number; message?: string };
  metadata?: Record<string, unknown>;
  response?: Record<string, unknown>;
}

export interface Execution {
  name?: string;
  completionTime?: string;
  succeededCount?: number;
  failedCount?: number;
  cancelledCount?: number;
  runningCount?: number;
  conditions?: Array<{ type?: string; state?: string; message?: string }>;
}

export interface CloudRunJobs {
  createJob(jobId: string, job: Record<string, unknown>): Promise<RunOperation>;
  runJob(jobId: string): Promise<RunOperation>;
  getOperation(name: string): Promise<RunOperation>;
  getExecution(name: string): Promise<Execution>;
  /** Deletes a job; one already gone is not an error. */
  deleteJob(jobId: string): Promise<RunOperation | null>;
}

export function cloudRunJobs(token: string, project: string, region: string, env: Env): CloudRunJobs {
  const base = `${runEndpoint(env)}v2/`;
  const parent = `projects/${project}/locations/${region}`;
  const request = <T>(op: string, path: string, init: { method?: string; body?: unknown } = {}, missingOk = false) =>
    gcpFetch<T>(op, `${base}${path}`, token, init, missingOk);
  return {
    createJob: async (jobId, job) =>
      (await request<RunOperation>("jobs.create", `${parent}/jobs?jobId=${encodeURIComponent(jobId)}`, {
        method: "POST",
        body: job,
      })) ?? {},
    runJob: async (jobId) =>
      (await request<RunOperation>("jobs.run", `${parent}/jobs/${jobId}:run`, { method: "POST", body: {} })) ?? {},
    getOperation: async (name) => (await request<RunOperation>("operations.get", name)) ?? {},
    getExecution: async (name) => (await request<Execution>("executions.get", name)) ?? {},
    deleteJob: (jobId) => request<RunOperation>("jobs.delete", `${parent}/jobs/${jobId}`, { method: "DELETE" }, true),
  };
}

/** Polls an operation until done; its error becomes a CloudError. */
export async function waitOperation(
  jobs: CloudRunJobs,
  first: RunOperation,
  o: {
    pollMs: number;
    deadline: number;
    stop: () => boolean;
    sleep?: (ms: number) => Promise<void>;
    note?: (m: string) => void;
  },
): Promise<RunOperation> {
  let op = first;
  while (!op.done) {
    if (!op.name) throw new CloudError("Cloud Run returned an operation without a name.");
    if (o.stop() || Date.now() > o.deadline) return op;
    await (o.sleep ? o.sleep(o.pollMs) : new Promise((r) => setTimeout(r, o.pollMs)));
    if (o.stop()) return op;
    const name = op.name;
    // A transient answer to a poll (503, 429) is tried again: https://cloud.google.com/apis/design/errors#handling_errors
    op = await retryTransient(() => jobs.getOperation(name), {
      transient: gcpTransient,
      what: `reading Cloud Run operation ${name}`,
      baseMs: o.pollMs,
      ...(o.note ? { note: o.note } : {}),
    });
  }
  if (op.error)
    throw new CloudError(
      `Cloud Run operation ${op.name ?? ""} failed: ${op.error.message ?? "error"}`,
      "OPERATION_FAILED",
    );
  return op;
}

/** Cloud Logging v2 `LogEntry` (discovery document logging v2, the fields wp reads). */
export interface LogEntry {
  logName?: string;
  resource?: { type?: string; labels?: Record<string, string> };
  timestamp?: string;
  receiveTimestamp?: string;
  severity?: string;
  insertId?: string;
  labels?: Record<string, string>;
  textPayload?: string;
  jsonPayload?: Record<string, unknown>;
}

/** Cloud Logging v2 `ListLogEntriesRequest` (the fields wp sends). */
export interface ListLogEntriesRequest {
  resourceNames: string[];
  filter: string;
  orderBy: "timestamp desc" | "timestamp asc";
  pageSize: number;
  pageToken?: string;
}

export interface ListLogEntriesResponse {
  entries?: LogEntry[];
  nextPageToken?: string;
}

/** `POST v2/entries:list`: one page of log entries. A refusal is a CloudError with code PERMISSION_DENIED. */
export async function listLogEntries(
  token: string,
  request: ListLogEntriesRequest,
  env: Env,
): Promise<ListLogEntriesResponse> {
  return (
    (await gcpFetch<ListLogEntriesResponse>("entries.list", `${loggingEndpoint(env)}v2/entries:list`, token, {
      method: "POST",
      body: request,
    })) ?? {}
  );
}
