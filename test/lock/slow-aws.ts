/**
 * A loopback proxy in front of moto that answers some AWS actions slowly, as AWS does under load (CreateVpc and
 * CreateCluster taking seconds): the window in which two runs on two machines used to build two VPCs.
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface SlowAws {
  url: string;
  /** Every action seen, in order. */
  actions: string[];
  /** Milliseconds each action waits before it reaches moto (changeable between runs). */
  delays: Record<string, number>;
  close(): Promise<void>;
}

export async function startSlowAws(target: string, delays: Record<string, number>): Promise<SlowAws> {
  const to = new URL(target);
  const actions: string[] = [];
  const server: Server = createServer((req, res) => {
    res.on("error", () => {});
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const amzTarget = req.headers["x-amz-target"];
      const action =
        typeof amzTarget === "string"
          ? (amzTarget.split(".").pop() ?? "")
          : (new URLSearchParams(body.toString()).get("Action") ?? "");
      actions.push(action);
      // The request reaches AWS after the delay even if its caller is gone by then (killed): AWS still acts on it.
      setTimeout(() => {
        const fwd = request(
          { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        fwd.on("error", (err) => {
          if (!res.headersSent) res.writeHead(502);
          res.end(String(err));
        });
        fwd.end(body);
      }, slow.delays[action] ?? 0);
    });
  });
  server.on("clientError", () => {});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const slow: SlowAws = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    actions,
    delays: { ...delays },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return slow;
}
