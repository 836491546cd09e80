/**
 * Serves the embedded API over HTTP under `/api` (like `prefect server start`), JSON in and out. With an auth string
 * every `/api` request needs HTTP Basic credentials matching it, as Prefect's PREFECT_SERVER_API_AUTH_STRING does.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { lookup } from "node:dns/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type AddressInfo, isIP } from "node:net";
import type { ApiRequest } from "../transport.js";
import { createEmbeddedApi, type EmbeddedOptions } from "./api.js";
import { parseBody } from "./body.js";

const METHODS: readonly string[] = ["GET", "POST", "PATCH", "PUT", "DELETE"];
/** Largest request body accepted (16 MiB); a larger one is answered 413. */
export const MAX_BODY = 16 * 1024 * 1024;
const TOO_LARGE = { detail: `Request body too large (the limit is ${MAX_BODY / 1024 / 1024} MiB)` };
const UNAUTHORIZED = { exception_message: "Unauthorized" };
const INTERNAL = { exception_message: "Internal Server Error" };

export interface ServerOptions extends EmbeddedOptions {
  host: string;
  port: number;
  /** `user:password` required as HTTP Basic auth on every `/api` request; null or absent for none. */
  authString?: string | null;
  /** Receives the details of internal errors (they are never sent to clients). */
  log?: (line: string) => void;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  res
    .writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) })
    .end(text);
}

/** How long the rest of a refused request body is read and dropped before the connection is cut. */
const LINGER_MS = 2000;

/**
 * Answers without reading (the rest of) the request body. What the client still sends is dropped, for LINGER_MS at
 * most: closing at once would reset the connection under a client still sending, which then never sees this answer.
 */
function refuse(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const req = res.req;
  send(res, status, body, headers);
  if (req.complete) return;
  const timer = setTimeout(() => req.socket.destroy(), LINGER_MS);
  timer.unref();
  const clear = () => {
    clearTimeout(timer);
    // A kept-alive socket serves many requests: one listener per refused request would pile up on it.
    req.socket.off("close", clear);
  };
  req.once("end", clear);
  req.socket.once("close", clear);
  req.resume();
}

/** The body as text, or null as soon as it passes `limit` bytes (what is left is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    const onData = (chunk: Buffer | string) => {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += buf.length;
      if (size > limit) {
        done();
        chunks.length = 0;
        resolve(null);
        return;
      }
      chunks.push(buf);
    };
    const onEnd = () => {
      done();
      resolve(Buffer.concat(chunks).toString("utf8"));
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}

const digest = (data: Buffer | string): Buffer => createHash("sha256").update(data).digest();

/**
 * Prefect's check: `Authorization: Basic <base64>` whose decoded value equals the auth string. Compared as SHA-256
 * digests with timingSafeEqual, so the time taken says nothing about the expected value.
 */
function authorized(header: string | undefined, expected: Buffer): boolean {
  const parts = header?.trim().split(/\s+/) ?? [];
  if (parts.length !== 2 || parts[0] !== "Basic" || !parts[1]) return false;
  return timingSafeEqual(digest(Buffer.from(parts[1], "base64")), expected);
}

/** The request target's path and query; null when it cannot be parsed. */
function target(raw: string | undefined): URL | null {
  try {
    const text = raw ?? "/";
    return text.startsWith("/") ? new URL(`http://localhost${text}`) : new URL(text);
  } catch {
    return null;
  }
}

/** 127.0.0.0/8 and ::1 (also as ::ffff:127.x.y.z). */
export function isLoopbackAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return address.startsWith("127.");
  if (family !== 6) return false;
  const canonical = new URL(`http://[${address}]/`).hostname;
  return canonical === "[::1]" || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

/** Whether `host` (an address or a name) is loopback only; a name that does not resolve rejects (ENOTFOUND). */
export async function isLoopbackHost(host: string): Promise<boolean> {
  if (isIP(host)) return isLoopbackAddress(host);
  if (/^localhost\.?$/i.test(host)) return true;
  // Not a host name at all (a space, "300.1.2.3"): refused without asking DNS.
  const label = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
  const labels = host.replace(/\.$/, "").split(".");
  if (host.length > 253 || !labels.every((l) => label.test(l)) || labels.every((l) => /^\d+$/.test(l))) {
    throw Object.assign(new Error(`${host} is not a host name`), { code: "ENOTFOUND" });
  }
  const addresses = await lookup(host, { all: true });
  return addresses.length > 0 && addresses.every((a) => isLoopbackAddress(a.address));
}

/**
 * Starts the server on `host:port` (port 0 picks a free port). `url` is the API base including `/api`,
 * e.g. `http://127.0.0.1:4200/api`.
 */
export async function startServer(opts: ServerOptions): Promise<{ url: string; close(): Promise<void> }> {
  const api = createEmbeddedApi(opts);
  const expected = opts.authString ? digest(Buffer.from(opts.authString, "utf8")) : null;
  const log = opts.log ?? (() => {});
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`${req.method ?? "?"} ${req.url ?? ""} failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) refuse(res, 500, INTERNAL);
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = target(req.url);
    const method = (req.method ?? "GET").toUpperCase();
    if (!url) return refuse(res, 400, { detail: "Bad request target" });
    if (url.pathname !== "/api" && !url.pathname.startsWith("/api/")) return refuse(res, 404, { detail: "Not Found" });
    if (expected && !authorized(req.headers.authorization, expected)) {
      return refuse(res, 401, UNAUTHORIZED, { "www-authenticate": 'Basic realm="wp"' });
    }
    if (!METHODS.includes(method)) return refuse(res, 405, { detail: "Method Not Allowed" });
    if (Number(req.headers["content-length"] ?? 0) > MAX_BODY) return refuse(res, 413, TOO_LARGE);
    const text = await readBody(req, MAX_BODY);
    if (text === null) return refuse(res, 413, TOO_LARGE);
    const path = url.pathname.slice("/api".length) || "/";
    const parsed = parseBody(path, text);
    if (!parsed.ok) {
      send(res, parsed.result.status, parsed.result.body);
      return;
    }
    const body = parsed.body;
    const response = await api.handle({
      method: method as ApiRequest["method"],
      path,
      query: Object.fromEntries(url.searchParams),
      body,
    });
    if (response.status >= 500) {
      // The embedded API's detail can hold file paths and SQLite messages: log it, answer as Prefect does.
      const detail = (response.body as { detail?: unknown } | undefined)?.detail;
      log(`${method} ${url.pathname} failed: ${typeof detail === "string" ? detail : response.status}`);
      send(res, 500, INTERNAL);
      return;
    }
    const extra = Object.fromEntries(Object.entries(response.headers).filter(([k]) => k !== "content-type"));
    send(res, response.status, response.body, extra);
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port, opts.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    api.close();
    throw err;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/api`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => {
          api.close();
          if (err) reject(err);
          else resolve();
        });
      }),
  };
}
