/** Serves the embedded API over HTTP under `/api` (like `prefect server start`), JSON in and out. */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApiRequest } from "../transport.js";
import { createEmbeddedApi, type EmbeddedOptions } from "./api.js";
import { parseBody } from "./body.js";

const METHODS: readonly string[] = ["GET", "POST", "PATCH", "PUT", "DELETE"];
const MAX_BODY = 16 * 1024 * 1024;

function send(res: ServerResponse, status: number, body: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_BODY) throw new RangeError("Request body too large");
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Starts the server on `host:port` (port 0 picks a free port). `url` is the API base including `/api`,
 * e.g. `http://127.0.0.1:4200/api`.
 */
export async function startServer(
  opts: EmbeddedOptions & { host: string; port: number },
): Promise<{ url: string; close(): Promise<void> }> {
  const api = createEmbeddedApi(opts);
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { exception_message: "Internal Server Error" });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = (req.method ?? "GET").toUpperCase();
    let text: string;
    try {
      text = await readBody(req);
    } catch {
      send(res, 413, { detail: "Request body too large" });
      return;
    }
    if (url.pathname !== "/api" && !url.pathname.startsWith("/api/")) {
      send(res, 404, { detail: "Not Found" });
      return;
    }
    if (!METHODS.includes(method)) {
      send(res, 405, { detail: "Method Not Allowed" });
      return;
    }
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
    send(res, response.status, response.body);
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
