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

/** What every request to one API shares. */
interface Connection {
  opts: HttpOptions;
  base: string;
  target: string;
  headers: Record<string, string>;
  sleep(ms: number): Promise<void>;
}

export function httpTransport(opts: HttpOptions): Transport {
  const { settings } = opts;
  const base = settings.apiUrl ?? "";
  const headers: Record<string, string> = {
    "x-prefect-api-version": API_VERSION,
    "user-agent": opts.userAgent,
    accept: "application/json",
  };
  if (settings.authString) headers.authorization = `Basic ${Buffer.from(settings.authString).toString("base64")}`;
  else if (settings.apiKey) headers.authorization = `Bearer ${settings.apiKey}`;
  const conn: Connection = {
    opts,
    base,
    target: `${opts.cloud ? "Prefect Cloud" : "Prefect server"} ${base}`,
    headers,
    sleep: opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
  };
  const csrf = new Csrf(conn, settings.csrf && !opts.cloud);
  return async (req) => {
    const mutating = MUTATING.has(req.method);
    const res = await send(conn, req, mutating ? await csrf.headers() : {});
    if (mutating && res.status === 403 && JSON.stringify(res.body ?? "").includes("Invalid CSRF token")) {
      return send(conn, req, await csrf.headers(true));
    }
    return res;
  };
}

/** One request, retried on 408/429/502/503 as Prefect's client does; the body parsed as JSON. */
async function send(conn: Connection, req: ApiRequest, extra: Record<string, string>): Promise<ApiResponse> {
  const { opts } = conn;
  const url = new URL(conn.base + req.path);
  for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, v);
  const h: Record<string, string> = { ...conn.headers, ...extra, ...(req.headers ?? {}) };
  if (req.body !== undefined) h["content-type"] = "application/json";
  for (let attempt = 0; ; ) {
    opts.debug?.(`${req.method} ${url.toString()}`);
    let res: SimpleResponse;
    try {
      res = await request(url, {
        method: req.method,
        headers: h,
        body: req.body === undefined ? null : JSON.stringify(req.body),
        timeoutMs: opts.settings.timeoutMs,
      });
    } catch (err) {
      throw unreachable(conn.base, err);
    }
    opts.debug?.(`→ ${res.status}`);
    if (RETRY_STATUSES.has(res.status) && attempt < opts.settings.maxRetries) {
      attempt += 1;
      await res.arrayBuffer().catch(() => undefined);
      await conn.sleep(retryDelay(res.headers.get("retry-after"), attempt));
      continue;
    }
    const body = await readBody(conn.target, res);
    const out: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      out[k] = v;
    });
    return { status: res.status, headers: out, body };
  }
}

async function readBody(target: string, res: SimpleResponse): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    // A proxy's login or error page: for 401/403 the status says enough (AuthError); otherwise it is not Prefect.
    if (res.status !== 401 && res.status !== 403) throw notJson(target, res);
    return undefined;
  }
}

/** CSRF tokens for servers that enable them (`GET /csrf-token`); turned off when the server has none. */
class Csrf {
  private token?: string;
  private expires = 0;
  private readonly client = randomUUID();

  constructor(
    private readonly conn: Connection,
    private enabled: boolean,
  ) {}

  async headers(force = false): Promise<Record<string, string>> {
    if (!this.enabled) return {};
    if (!force && this.token && this.expires > Date.now()) return this.pair(this.token);
    const res = await send(this.conn, { method: "GET", path: "/csrf-token", query: { client: this.client } }, {});
    if (res.status === 404 || res.status === 422) {
      this.enabled = false;
      return {};
    }
    const body = res.body as { token?: string; expiration?: string } | undefined;
    if (res.status !== 200 || !body?.token) return {};
    this.token = body.token;
    this.expires = body.expiration ? Date.parse(body.expiration) : Date.now() + 3600_000;
    return this.pair(body.token);
  }

  private pair(token: string): Record<string, string> {
    return { "prefect-csrf-token": token, "prefect-csrf-client": this.client };
  }
}

/** Retry-After in seconds or as an HTTP date; otherwise 2**attempt seconds with ±20% jitter. */
export function retryDelay(retryAfter: string | null, attempt: number): number {
  return retryAfterMs(retryAfter) ?? 2 ** attempt * 1000 * (0.8 + Math.random() * 0.4);
}

/** `Retry-After` as milliseconds (seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
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
