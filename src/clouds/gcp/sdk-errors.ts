/**
 * Google API failures as wp errors: the JSON error envelope (RPC status, ErrorInfo reasons,
 * PreconditionFailure violations) read into a GcpError, and the two call wrappers every adapter
 * method uses (`call`, and `find`, where NOT_FOUND is null). "Already gone" and "exists" are
 * decided by these codes, never by message text.
 */
import { retryAfterMs, retryTransient, type Transient } from "../../engine/wait.js";
import { AuthError, CloudError } from "../../errors.js";

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
    /** Retry-After of a 429/503, in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message, code, hint);
  }
}

const TRANSIENT_STATUS = new Set([429, 500, 502, 503, 504]);
// Not ECONNREFUSED: nothing listening is a wrong endpoint or proxy, which waiting does not fix.
const DROPPED = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "UND_ERR_SOCKET", "NETWORK"]);

/**
 * A Google answer worth another try: 429/500/502/503/504 (with its Retry-After), or a dropped
 * connection (https://cloud.google.com/apis/design/errors#handling_errors).
 */
export function gcpTransient(err: unknown): Transient | undefined {
  if (err instanceof GcpError && TRANSIENT_STATUS.has(err.httpStatus))
    return { reason: `Google answered ${err.httpStatus} ${err.code}`, retryAfterMs: err.retryAfterMs };
  if (err instanceof CloudError && DROPPED.has(err.code ?? "")) return { reason: "the connection dropped" };
  return undefined;
}

/** A header of a gaxios/fetch response (a Headers object or a plain record). */
function header(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== "object") return undefined;
  const h = headers as { get?: (n: string) => string | null } & Record<string, unknown>;
  if (typeof h.get === "function") return h.get(name) ?? undefined;
  const v = h[name] ?? h[name.toLowerCase()];
  return typeof v === "string" ? v : undefined;
}

export const SCOPE = "https://www.googleapis.com/auth/cloud-platform";
export const KEY_CONSTRAINT = "constraints/iam.disableServiceAccountKeyCreation";
/** The managed constraint Google enforces alongside (Org Policy v2): https://cloud.google.com/organization-policy/restrict-service-accounts#disable_service_account_key_creation */
export const MANAGED_KEY_CONSTRAINT = "iam.managed.disableServiceAccountKeyCreation";

export const AUTH_HINT =
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
    response?: { status?: number; data?: unknown; headers?: unknown };
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
  const after = retryAfterMs(header(e.response?.headers, "retry-after"));
  return new GcpError(`Google Cloud ${op} failed: ${text} (${rpc})`, rpc, status, reasons, violations, hint, after);
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

/**
 * One call. A 429 or 503 answer (the request was not carried out) is tried again with backoff,
 * honouring Retry-After; a dropped connection is not (a create may have happened: see the
 * credential guard for keys).
 */
export async function call<T>(op: string, fn: () => Promise<{ data: T }>): Promise<T> {
  return retryTransient(
    async () => {
      try {
        return (await fn()).data;
      } catch (err) {
        throw toGcpError(op, err);
      }
    },
    { transient: refusedForNow, what: op, attempts: 6 },
  );
}

/** 429 RESOURCE_EXHAUSTED / 503 UNAVAILABLE: Google did not carry the request out; it may be sent again. */
export function refusedForNow(err: unknown): Transient | undefined {
  if (err instanceof GcpError && (err.httpStatus === 429 || err.httpStatus === 503))
    return { reason: `Google answered ${err.httpStatus} ${err.code}`, retryAfterMs: err.retryAfterMs };
  return undefined;
}

/** Like `call`, but NOT_FOUND (and the listed codes) give null. */
export async function find<T>(op: string, fn: () => Promise<{ data: T }>, missing = ["NOT_FOUND"]): Promise<T | null> {
  try {
    return await call(op, fn);
  } catch (err) {
    if (missing.includes(gcpCode(err) ?? "")) return null;
    throw err;
  }
}

export function rpcName(code: number | undefined): string {
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
