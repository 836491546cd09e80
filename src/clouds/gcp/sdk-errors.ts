/**
 * Google API failures as wp errors: the JSON error envelope (RPC status, ErrorInfo reasons,
 * PreconditionFailure violations) read into a GcpError, and the two call wrappers every adapter
 * method uses (`call`, and `find`, where NOT_FOUND is null). "Already gone" and "exists" are
 * decided by these codes, never by message text.
 */
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
  ) {
    super(message, code, hint);
  }
}

export const SCOPE = "https://www.googleapis.com/auth/cloud-platform";
export const KEY_CONSTRAINT = "constraints/iam.disableServiceAccountKeyCreation";

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

export async function call<T>(op: string, fn: () => Promise<{ data: T }>): Promise<T> {
  try {
    return (await fn()).data;
  } catch (err) {
    throw toGcpError(op, err);
  }
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
