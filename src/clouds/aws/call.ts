/** Error mapping and call helpers shared by the AWS adapters (aws-*.ts). */
import { retryTransient, type Transient } from "../../engine/wait.js";
import { AuthError, CloudError } from "../../errors.js";

const AUTH_CODES = new Set([
  "CredentialsProviderError",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "ExpiredTokenException",
  "UnrecognizedClientException",
  "AuthFailure",
  "InvalidAccessKeyId",
]);
const DENIED_CODES = new Set(["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"]);
const AUTH_HINT =
  "Configure AWS credentials as for the AWS CLI: `aws configure` / `aws sso login`, AWS_PROFILE or --aws-profile, " +
  "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.";

/** AWS refused the credentials; `code` is AWS's (InvalidClientTokenId, ExpiredToken, …). */
export class AwsAuthError extends AuthError {
  constructor(
    message: string,
    readonly code: string,
    hint?: string,
  ) {
    super(message, hint);
  }
}

/** The AWS error code of an SDK error (`err.name`, or a network code such as ECONNREFUSED). */
export function awsErrorCode(err: unknown): string | undefined {
  if (err instanceof CloudError || err instanceof AwsAuthError) return err.code;
  if (typeof err !== "object" || err === null) return undefined;
  const { name, code } = err as { name?: unknown; code?: unknown };
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code;
  return typeof name === "string" ? name : undefined;
}

/** Converts an SDK failure into a wp error with the AWS code; `op` is e.g. "iam:CreateRole". */
export function toCloudError(op: string, err: unknown): Error {
  if (err instanceof CloudError || err instanceof AuthError) return err;
  let code = awsErrorCode(err) ?? "Unknown";
  const message = err instanceof Error ? err.message : String(err);
  // A 403 whose body could not be parsed (an emulator answering XML to a JSON protocol) is a refusal too.
  const e = err as { $metadata?: { httpStatusCode?: number }; $response?: { statusCode?: number } };
  if (code === "SyntaxError" && (e.$metadata?.httpStatusCode === 403 || e.$response?.statusCode === 403))
    code = "AccessDenied";
  if (AUTH_CODES.has(code))
    return new AwsAuthError(`AWS rejected the request ${op}: ${message} (${code}).`, code, AUTH_HINT);
  if (DENIED_CODES.has(code)) {
    return new CloudError(
      `AWS denied ${op}: ${message}`,
      code,
      "Use an identity allowed to manage IAM, EC2, ECS and ECR in this account.",
    );
  }
  return new CloudError(`AWS ${op} failed: ${message} (${code})`, code);
}

/**
 * AWS's throttling answers: the request was refused before it did anything, so any call may be
 * retried (https://docs.aws.amazon.com/general/latest/gr/api-retries.html,
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/throttling.html).
 */
const THROTTLED = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
  "PriorRequestNotComplete",
]);
/** Answers that leave unknown whether the call acted (a dropped connection, a 5xx). */
const UNKNOWN_OUTCOME = new Set([
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "InternalFailure",
  "InternalError",
  "ServerException",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "TimeoutError",
]);
/** Calls that may be repeated when their outcome is unknown: reads, and writes whose repeat changes nothing. */
const REPEATABLE = /^[a-z0-9-]+:(Get|List|Describe|Simulate|Delete|Detach|Attach|Put|Tag|Untag|Deregister|Stop)/;

/** Whether an SDK failure is worth another try of `op`, and after how long the service asked. */
export function transientAws(op: string, err: unknown): Transient | undefined {
  const code = awsErrorCode(err) ?? "";
  const e = err as { $metadata?: { httpStatusCode?: number }; $response?: { headers?: Record<string, string> } };
  const status = e?.$metadata?.httpStatusCode;
  const after = e?.$response?.headers?.["retry-after"];
  const retryAfterMs = after && Number.isFinite(Number(after)) ? Number(after) * 1000 : undefined;
  if (THROTTLED.has(code) || status === 429) return { reason: `throttled (${code || status})`, retryAfterMs };
  // Nothing listening, or no such host: the request never left, and a wrong endpoint or proxy is not fixed by
  // waiting (it cost 15 s of retries before the error).
  if (code === "ECONNREFUSED" || code === "ENOTFOUND") return undefined;
  const unknown = UNKNOWN_OUTCOME.has(code) || status === 503 || (status === undefined && /^E[A-Z]+$/.test(code));
  if (unknown && REPEATABLE.test(op)) return { reason: `answered ${code || status}`, retryAfterMs };
  return undefined;
}

export interface Calls {
  /** Runs one SDK call: throttling (and, for repeatable calls, 503s and dropped connections) retried with backoff; failures as wp errors. */
  call<T>(op: string, fn: () => Promise<T>): Promise<T>;
  /** Like `call`, but the listed codes mean "not there" and give null. */
  find<T>(op: string, missing: string[], fn: () => Promise<T>): Promise<T | null>;
}

/** `call` and `find` whose retries say so on `note` (the progress line). */
export function calls(note?: (m: string) => void): Calls {
  const retried = <T>(op: string, fn: () => Promise<T>) =>
    retryTransient(fn, {
      transient: (err) => transientAws(op, err),
      what: `AWS ${op}`,
      attempts: 6,
      ...(note ? { note } : {}),
    });
  return {
    async call(op, fn) {
      try {
        return await retried(op, fn);
      } catch (err) {
        throw toCloudError(op, err);
      }
    },
    async find(op, missing, fn) {
      try {
        return await retried(op, fn);
      } catch (err) {
        if (missing.includes(awsErrorCode(err) ?? "")) return null;
        throw toCloudError(op, err);
      }
    },
  };
}

const quiet = calls();
export const call: Calls["call"] = quiet.call;
export const find: Calls["find"] = quiet.find;

/** Collects every page of a paginated call. */
export async function pages<T>(
  fetch: (token?: string) => Promise<{ items: T[] | undefined; next: string | undefined }>,
) {
  const all: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    all.push(...(page.items ?? []));
    token = page.next;
  } while (token);
  return all;
}

export function must<T>(value: T | undefined, what: string): T {
  if (value === undefined || value === null) throw new CloudError(`AWS returned no ${what}.`);
  return value;
}

export const decode = (doc: string | undefined): string => decodeURIComponent(must(doc, "policy document"));
