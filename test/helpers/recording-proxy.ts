/** A loopback HTTP proxy that forwards to a target and records every exchange (for OpenAPI checks and counts). */
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface Exchange {
  method: string;
  path: string;
  query: string;
  requestBody: unknown;
  status: number;
  responseBody: unknown;
}

export async function startRecordingProxy(
  target: string,
): Promise<{ url: string; exchanges: Exchange[]; close(): Promise<void> }> {
  const exchanges: Exchange[] = [];
  const t = new URL(target);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const upstream = request(
        { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          const out: Buffer[] = [];
          up.on("data", (c: Buffer) => out.push(c));
          up.on("end", () => {
            const text = Buffer.concat(out).toString("utf8");
            const [path = "", query = ""] = (req.url ?? "").split("?");
            exchanges.push({
              method: req.method ?? "GET",
              path,
              query,
              requestBody: body.length ? JSON.parse(body.toString("utf8")) : undefined,
              status: up.statusCode ?? 0,
              responseBody: text ? JSON.parse(text) : undefined,
            });
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(text);
          });
        },
      );
      upstream.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
