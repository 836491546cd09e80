/** Route results and request-body checks that answer like Prefect's server (FastAPI + pydantic v2). */

export interface Result {
  status: number;
  /** JSON body; undefined for an empty body (204). */
  body?: unknown;
}

export type Json = Record<string, unknown>;

export interface FieldError {
  loc: (string | number)[];
  msg: string;
  type: string;
  input?: unknown;
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

export function isUuid(v: unknown): v is string {
  return typeof v === "string" && UUID.test(v);
}

/** Collects pydantic-style errors for one JSON body. */
export class Checker {
  readonly errors: FieldError[] = [];
  readonly body: Json;

  constructor(raw: unknown, allowed: readonly string[] | null) {
    if (raw === undefined) {
      this.body = {};
      if (allowed) this.add([], "Field required", "missing", null);
    } else if (!isObject(raw)) {
      this.body = {};
      this.add([], "Input should be a valid dictionary or object to extract fields from", "model_attributes_type", raw);
    } else {
      this.body = raw;
      if (allowed) {
        for (const k of Object.keys(raw)) {
          if (!allowed.includes(k)) this.add([k], "Extra inputs are not permitted", "extra_forbidden", raw[k]);
        }
      }
    }
  }

  add(loc: (string | number)[], msg: string, type: string, input?: unknown): void {
    this.errors.push({ loc: ["body", ...loc], msg, type, ...(input === undefined ? {} : { input }) });
  }

  has(key: string): boolean {
    return Object.hasOwn(this.body, key);
  }

  private present(key: string, required: boolean, nullable: boolean): boolean {
    if (!this.has(key)) {
      if (required) this.add([key], "Field required", "missing", this.body);
      return false;
    }
    return !(this.body[key] === null && nullable);
  }

  str(key: string, o: { required?: boolean; nullable?: boolean; pattern?: RegExp } = {}): void {
    if (!this.present(key, o.required ?? false, o.nullable ?? false)) return;
    const v = this.body[key];
    if (typeof v !== "string") this.add([key], "Input should be a valid string", "string_type", v);
    else if (o.pattern && !o.pattern.test(v)) {
      this.add([key], `String should match pattern '${o.pattern.source}'`, "string_pattern_mismatch", v);
    }
  }

  int(key: string, o: { nullable?: boolean; min?: number } = {}): void {
    if (!this.present(key, false, o.nullable ?? false)) return;
    const v = this.body[key];
    if (typeof v !== "number" || !Number.isInteger(v)) {
      const fractional = typeof v === "number";
      this.add(
        [key],
        fractional
          ? "Input should be a valid integer, got a number with a fractional part"
          : "Input should be a valid integer",
        fractional ? "int_from_float" : "int_type",
        v,
      );
    } else if (o.min !== undefined && v < o.min) {
      this.add([key], `Input should be greater than or equal to ${o.min}`, "greater_than_equal", v);
    }
  }

  bool(key: string, o: { nullable?: boolean } = {}): void {
    if (!this.present(key, false, o.nullable ?? false)) return;
    const v = this.body[key];
    if (typeof v !== "boolean") this.add([key], "Input should be a valid boolean", "bool_type", v);
  }

  obj(key: string, o: { nullable?: boolean } = {}): void {
    if (!this.present(key, false, o.nullable ?? false)) return;
    const v = this.body[key];
    if (!isObject(v)) this.add([key], "Input should be a valid dictionary", "dict_type", v);
  }

  uuid(key: string, o: { required?: boolean; nullable?: boolean } = {}): void {
    if (!this.present(key, o.required ?? false, o.nullable ?? false)) return;
    const v = this.body[key];
    if (!isUuid(v)) this.add([key], "Input should be a valid UUID", "uuid_parsing", v);
  }

  strList(key: string): void {
    if (!this.present(key, false, false)) return;
    const v = this.body[key];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
      this.add([key], "Input should be a valid list of strings", "list_type", v);
    }
  }

  /** The 422 result when any check failed, else null. */
  result(): Result | null {
    return this.errors.length > 0 ? invalid(this.body, this.errors) : null;
  }
}

/** Reads the body fields of a filter request: `limit` (default 200) and `offset`. */
export function paging(body: Json): { limit: number; offset: number } {
  const limit = typeof body.limit === "number" && body.limit >= 0 ? Math.floor(body.limit) : 200;
  const offset = typeof body.offset === "number" && body.offset >= 0 ? Math.floor(body.offset) : 0;
  return { limit, offset };
}

/** `filter[field].any_` when it is a list of strings, else null (no constraint). */
export function anyOf(filter: unknown, field: string): string[] | null {
  if (!isObject(filter)) return null;
  const f = filter[field];
  if (!isObject(f) || !Array.isArray(f.any_)) return null;
  return f.any_.filter((x): x is string => typeof x === "string");
}
