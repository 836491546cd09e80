/** Error mapping and call helpers shared by the AWS adapters (aws-*.ts). */
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

/** The AWS error code of an SDK error (`err.name`, or a network code such as ECONNREFUSED). */
export function awsErrorCode(err: unknown): string | undefined {
  if (err instanceof CloudError) return err.code;
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
  if (AUTH_CODES.has(code)) return new AuthError(`AWS rejected the request ${op}: ${message} (${code}).`, AUTH_HINT);
  if (DENIED_CODES.has(code)) {
    return new CloudError(
      `AWS denied ${op}: ${message}`,
      code,
      "Use an identity allowed to manage IAM, EC2, ECS and ECR in this account.",
    );
  }
  return new CloudError(`AWS ${op} failed: ${message} (${code})`, code);
}

export async function call<T>(op: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toCloudError(op, err);
  }
}

/** Like `call`, but the listed codes mean "not there" and give null. */
export async function find<T>(op: string, missing: string[], fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    if (missing.includes(awsErrorCode(err) ?? "")) return null;
    throw toCloudError(op, err);
  }
}

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
