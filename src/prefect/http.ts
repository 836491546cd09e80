/**
 * HTTP transport to a Prefect API (Cloud or self-hosted): auth, API version header, CSRF tokens
 * for servers that enable them, retries on 408/429/502/503 honouring Retry-After, timeouts.
 */
import { randomUUID } from "node:crypto";
import { WpError } from "../errors.js";
import { type NotPrefectError, notPrefect } from "./not-prefect.js";
import { request, type SimpleResponse } from "./request.js";
import type { Settings } from "./settings.js";
import type { ApiRequest, ApiResponse, Transport } from "./transport.js";

export const API_VERSION = "0.8.4";
const RETRY_STATUSES = new Set([408, 429, 502, 503]);
const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export interface HttpOptions {
  settings: Settings;
  cloud: boolean;
  userAgent: string;
  /** Called for each request in --debug mode; never receives the Authorization header. */
  debug?: (line: string) => void;
  /** Injected for tests; defaults to setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

export function httpTransport(opts: HttpOptions): Transport {
  const { settings } = opts;
  const base = settings.apiUrl ?? "";
  const target = `${opts.cloud ? "Prefect Cloud" : "Prefect server"} ${base}`;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const headers: Record<string, string> = {
    "x-prefect-api-version": API_VERSION,
    "user-agent": opts.userAgent,
    accept: "application/json",
  };
  if (settings.authString) headers.authorization = `Basic ${Buffer.from(settings.authString).toString("base64")}`;
  else if (settings.apiKey) headers.authorization = `Bearer ${settings.apiKey}`;

  let csrf: { enabled: boolean; token?: string; client: string; expires?: number } = {
    enabled: settings.csrf && !opts.cloud,
    client: randomUUID(),
  };

  async function send(req: ApiRequest, extra: Record<string, string>): Promise<ApiResponse> {
    const url = new URL(base + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, v);
    const h: Record<string, string> = { ...headers, ...extra, ...(req.headers ?? {}) };
    if (req.body !== undefined) h["content-type"] = "application/json";
    let attempt = 0;
    for (;;) {
      opts.debug?.(`${req.method} ${url.toString()}`);
      let res: SimpleResponse;
      try {
        res = await request(url, {
          method: req.method,
          headers: h,
          body: req.body === undefined ? null : JSON.stringify(req.body),
          timeoutMs: settings.timeoutMs,
        });
      } catch (err) {
        throw unreachable(base, err);
      }
      opts.debug?.(`→ ${res.status}`);
      if (RETRY_STATUSES.has(res.status) && attempt < settings.maxRetries) {
        attempt += 1;
        await res.arrayBuffer().catch(() => undefined);
        await sleep(retryDelay(res.headers.get("retry-after"), attempt));
        continue;
      }
      const text = await res.text();
      let body: unknown;
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          // A proxy's login or error page: for 401/403 the status says enough (AuthError); otherwise it is not Prefect.
          if (res.status !== 401 && res.status !== 403) throw notJson(target, res);
        }
      }
      const out: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        out[k] = v;
      });
      return { status: res.status, headers: out, body };
    }
  }

  async function csrfHeaders(force = false): Promise<Record<string, string>> {
    if (!csrf.enabled) return {};
    if (!force && csrf.token && (csrf.expires ?? 0) > Date.now()) {
      return { "prefect-csrf-token": csrf.token, "prefect-csrf-client": csrf.client };
    }
    const res = await send({ method: "GET", path: "/csrf-token", query: { client: csrf.client } }, {});
    if (res.status === 404 || res.status === 422) {
      csrf = { enabled: false, client: csrf.client };
      return {};
    }
    const body = res.body as { token?: string; expiration?: string } | undefined;
    if (res.status !== 200 || !body?.token) return {};
    csrf.token = body.token;
    csrf.expires = body.expiration ? Date.parse(body.expiration) : Date.now() + 3600_000;
    return { "prefect-csrf-token": body.token, "prefect-csrf-client": csrf.client };
  }

  return async (req) => {
    const mutating = MUTATING.has(req.method);
    const res = await send(req, mutating ? await csrfHeaders() : {});
    if (mutating && res.status === 403 && JSON.stringify(res.body ?? "").includes("Invalid CSRF token")) {
      return send(req, await csrfHeaders(true));
    }
    return res;
  };
}

/** Retry-After in seconds or as an HTTP date; otherwise 2**attempt seconds with ±20% jitter. */
export function retryDelay(retryAfter: string | null, attempt: number): number {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const at = Date.parse(retryAfter);
    if (Number.isFinite(at)) return Math.max(0, at - Date.now());
  }
  return 2 ** attempt * 1000 * (0.8 + Math.random() * 0.4);
}

/** One line for a body that is not JSON: status, content type and any redirect, never the body itself. */
function notJson(target: string, res: SimpleResponse): NotPrefectError {
  const type = res.headers.get("content-type")?.split(";")[0]?.trim() || "no content type";
  const status = `${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
  let redirect = "";
  if (res.redirected && res.url) {
    const to = new URL(res.url);
    redirect = ` after a redirect to ${to.origin}${to.pathname}`;
  }
  return notPrefect(target, `${status} (${type})${redirect}, not JSON`);
}

function unreachable(base: string, err: unknown): WpError {
  const e = err as { name?: string; cause?: { code?: string; message?: string }; message?: string };
  if (e.name === "TimeoutError") {
    return new WpError(
      `The Prefect API at ${base} did not answer in time.`,
      "Raise PREFECT_API_REQUEST_TIMEOUT or check the server.",
    );
  }
  const why = e.cause?.code ?? e.cause?.message ?? e.message ?? "connection failed";
  return new WpError(
    `Cannot reach the Prefect API at ${base} (${why}).`,
    "Check PREFECT_API_URL and that the server is running (`wp server start` serves a local API).",
  );
}
