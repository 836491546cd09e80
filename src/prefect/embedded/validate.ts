/** Route results and the error bodies of Prefect's server (FastAPI + pydantic v2); request checks are in model.ts. */

export interface Result {
  status: number;
  /** JSON body; undefined for an empty body (204). */
  body?: unknown;
  /** Extra response headers (Retry-After on a 423). */
  headers?: Record<string, string>;
}

export type Json = Record<string, unknown>;

export interface FieldError {
  loc: (string | number)[];
  msg: string;
  type: string;
  input?: unknown;
  ctx?: Json;
}

export const ok = (body: unknown, status = 200): Result => ({ status, body });
export const noContent = (): Result => ({ status: 204 });
export const detail = (status: number, message: string): Result => ({ status, body: { detail: message } });

/** Prefect's 422 body for a request that failed validation. */
export function invalid(requestBody: unknown, errors: FieldError[]): Result {
  return {
    status: 422,
    body: {
      exception_message: "Invalid request received.",
      exception_detail: errors,
      request_body: requestBody === undefined ? null : requestBody,
    },
  };
}

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** Starlette's `uuid` path convertor: lowercase, hyphenated. */
export const PATH_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(v: unknown): v is string {
  return typeof v === "string" && UUID.test(v);
}

/**
 * Prefect's filter semantics: each field's criteria (`any_`, `like_` case-insensitive, `all_` a superset), the
 * fields combined by the filter's `operator` (`and_` unless `or_`). `value` reads a row's value for a field name.
 */
export function matches(filter: unknown, value: (field: string) => unknown): boolean {
  if (!isObject(filter)) return true;
  const results: boolean[] = [];
  for (const [field, criteria] of Object.entries(filter)) {
    if (field === "operator" || !isObject(criteria)) continue;
    const v = value(field);
    if (Array.isArray(criteria.any_)) results.push(criteria.any_.includes(v));
    if (typeof criteria.like_ === "string") {
      results.push(typeof v === "string" && v.toLowerCase().includes(criteria.like_.toLowerCase()));
    }
    if (Array.isArray(criteria.all_)) {
      const have = Array.isArray(v) ? v : [];
      results.push(criteria.all_.every((x) => have.includes(x)));
    }
  }
  if (results.length === 0) return true;
  return filter.operator === "or_" ? results.some(Boolean) : results.every(Boolean);
}
