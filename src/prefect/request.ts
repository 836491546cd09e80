/**
 * The few parts of `fetch` the Prefect client uses, on node:http/node:https. Node's fetch (undici) costs a
 * CLI that makes two requests dearly: ~100 ms to compile undici and instantiate its WebAssembly parser, ~30 MB
 * more memory, and a pooled keep-alive socket that holds the process open for a few hundred ms after the last
 * answer. node:http's pooled sockets never hold the process open.
 *
 * Same behaviour as fetch where it shows: redirects followed (at most 20; 303, and 301/302 after a POST,
 * become a GET without a body; the Authorization header is dropped on a move to another origin), a timeout
 * throws an error named TimeoutError, a network failure throws TypeError("fetch failed") with the cause.
 */
import type * as Http from "node:http";
import type { IncomingMessage } from "node:http";
import type * as Https from "node:https";
import { builtin } from "../builtin.js";

export interface RequestInit {
  method: string;
  headers: Record<string, string>;
  body: string | null;
  timeoutMs: number;
}

export interface SimpleResponse {
  status: number;
  statusText: string;
  url: string;
  redirected: boolean;
  headers: { get(name: string): string | null; forEach(cb: (value: string, key: string) => void): void };
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export async function request(url: URL, init: RequestInit): Promise<SimpleResponse> {
  const deadline = Date.now() + init.timeoutMs;
  let current = url;
  let { method, body } = init;
  const headers = { ...init.headers };
  for (let hops = 0; ; hops++) {
    const res = await once(current, method, headers, body, deadline);
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || !location) return respond(res, current, hops > 0);
    res.resume();
    if (hops >= 20) throw new TypeError("fetch failed", { cause: new Error("redirect count exceeded") });
    const next = new URL(location, current);
    const status = res.statusCode ?? 0;
    if (status === 303 || ((status === 301 || status === 302) && method === "POST")) {
      if (method !== "HEAD") method = "GET";
      body = null;
      delete headers["content-type"];
    }
    if (next.origin !== current.origin) delete headers.authorization;
    current = next;
  }
}

function once(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | null,
  deadline: number,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const send =
      url.protocol === "https:"
        ? builtin<typeof Https>("node:https").request
        : url.protocol === "http:"
          ? builtin<typeof Http>("node:http").request
          : undefined;
    if (!send)
      return reject(new TypeError("fetch failed", { cause: new Error(`unsupported protocol ${url.protocol}`) }));
    const h: Record<string, string | number> = { ...headers };
    if (body !== null) h["content-length"] = Buffer.byteLength(body);
    const req = send(url, { method, headers: h });
    // Unref'd: the open socket keeps the process alive while the request is out; the timer never does.
    const timer = setTimeout(() => req.destroy(timeoutError()), Math.max(0, deadline - Date.now()));
    timer.unref();
    req.on("response", (res) => {
      // The body is read by the caller; the timer still bounds it.
      res.on("close", () => clearTimeout(timer));
      res.on("error", () => clearTimeout(timer));
      resolve(res);
    });
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(err.name === "TimeoutError" ? err : new TypeError("fetch failed", { cause: err }));
    });
    req.end(body ?? undefined);
  });
}

function timeoutError(): Error {
  const e = new Error("The operation was aborted due to timeout");
  e.name = "TimeoutError";
  return e;
}

function respond(res: IncomingMessage, url: URL, redirected: boolean): SimpleResponse {
  let buffered: Promise<Buffer> | undefined;
  const read = () => {
    buffered ??= new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(Buffer.concat(chunks)));
      res.on("error", (err) =>
        reject(err.name === "TimeoutError" ? err : new TypeError("fetch failed", { cause: err })),
      );
    });
    return buffered;
  };
  const value = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(", ") : (v ?? null));
  return {
    status: res.statusCode ?? 0,
    statusText: res.statusMessage ?? "",
    url: url.toString(),
    redirected,
    headers: {
      get: (name) => value(res.headers[name.toLowerCase()]),
      forEach: (cb) => {
        for (const [k, v] of Object.entries(res.headers)) {
          const s = value(v);
          if (s !== null) cb(s, k);
        }
      },
    },
    text: async () => (await read()).toString("utf8"),
    arrayBuffer: async () => {
      const b = await read();
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    },
  };
}
