/**
 * One request/response shape shared by every way wp talks to a Prefect API:
 * HTTP (Cloud or a self-hosted server), and the embedded API called in-process.
 * Paths are relative to the API root (`/work_pools/x`, not `/api/work_pools/x`).
 */
export interface ApiRequest {
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  /** Path relative to the API root, already percent-encoded per segment. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** JSON body (already parsed); undefined for none. */
  body?: unknown;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON body, or undefined for an empty body (204). */
  body: unknown;
}

export type Transport = (req: ApiRequest) => Promise<ApiResponse>;

/** Encodes one path segment (work pool and block names may hold spaces, `?`, `#`). */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
