import { homedir } from "node:os";
import { join } from "node:path";
import { UsageError, type WpError } from "../errors.js";
import { onInterrupt } from "../interrupt.js";
import { defineCommand } from "./spec.js";

const AUTH_KEY = "PREFECT_SERVER_API_AUTH_STRING";

function codeOf(err: unknown): string | undefined {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}

function hostError(host: string, err: unknown): WpError {
  const code = codeOf(err) ?? "ENOTFOUND";
  return new UsageError(
    `--host '${host}' is not an IP address or a host name that resolves (${code}).`,
    "Use 127.0.0.1 (the default), ::1, or an address of this machine.",
  );
}

/** Listen failures that are the user's to fix: exit 2 with one line. */
function listenError(host: string, port: number, err: unknown): unknown {
  const code = codeOf(err);
  switch (code) {
    case "EADDRINUSE":
      return new UsageError(
        `Port ${port} on ${host} is already in use (EADDRINUSE).`,
        "Stop what is listening there or choose another --port (0 picks a free one).",
      );
    case "EADDRNOTAVAIL":
      return new UsageError(
        `Cannot listen on ${host}: it is not an address of this machine (EADDRNOTAVAIL).`,
        "Use 127.0.0.1, 0.0.0.0, or an address of one of this machine's interfaces.",
      );
    case "EACCES":
      return new UsageError(
        `Not allowed to listen on port ${port} (EACCES).`,
        "Ports below 1024 need privileges: choose another --port.",
      );
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_FAIL":
    case "EAI_NONAME":
      return hostError(host, err);
    default:
      return err;
  }
}

export default defineCommand({
  name: "start",
  summary:
    "Serve wp's embedded Prefect-compatible API over HTTP. It implements the work pool and block routes wp uses " +
    "(for scripts, tests and other clients of those routes); it is not a full Prefect server and runs no flows.",
  options: [
    { flags: "--host <host>", description: "address to listen on (default 127.0.0.1; others need an auth string)" },
    { flags: "--port <port>", description: "port (default 4200; 0 picks a free one)" },
  ],
  examples: [
    "wp server start",
    "PREFECT_API_URL=http://127.0.0.1:4200/api wp ls",
    `${AUTH_KEY}=user:pass wp server start --host 0.0.0.0`,
  ],
  async run(ctx, _args, opts) {
    const rawHost = typeof opts.host === "string" ? opts.host.trim() : "127.0.0.1";
    const host = rawHost.replace(/^\[(.*)\]$/, "$1");
    if (!host) throw new UsageError("--host cannot be empty.", "Use 127.0.0.1 (the default) or an address.");
    const portText = typeof opts.port === "string" ? opts.port : "4200";
    if (!/^\d+$/.test(portText) || Number(portText) > 65535) {
      throw new UsageError(`--port must be a number from 0 to 65535, not '${portText}'.`);
    }
    const port = Number(portText);
    const settings = await ctx.settings();
    const authString = settings.get(AUTH_KEY) ?? null;
    const { startServer, isLoopbackHost } = await import("../prefect/embedded/http.js");
    let loopback: boolean;
    try {
      loopback = await isLoopbackHost(host);
    } catch (err) {
      throw hostError(rawHost, err);
    }
    if (!loopback && !authString) {
      throw new UsageError(
        `Refusing to serve on ${rawHost} without authentication: anyone who can reach it could read and change ` +
          "pools and credential blocks.",
        `Set an auth string, e.g. \`${AUTH_KEY}=user:pass wp server start --host ${rawHost}\` ` +
          "(clients then set PREFECT_API_AUTH_STRING to the same value).",
      );
    }
    const home = ctx.env.WP_HOME || join(homedir(), ".wp");
    let server: Awaited<ReturnType<typeof startServer>>;
    try {
      server = await startServer({ home, host, port, authString, log: (line) => ctx.warn(line) });
    } catch (err) {
      throw listenError(rawHost, port, err);
    }
    if (!loopback) {
      ctx.warn(
        `${server.url} is plain HTTP: the auth string and block secrets cross the network unencrypted. ` +
          "Put a TLS-terminating proxy (e.g. Caddy or nginx) in front of it, or reach it through an SSH tunnel.",
      );
    }
    const auth = authString ? `HTTP Basic auth from ${AUTH_KEY}` : "no auth";
    ctx.info(`wp embedded API listening on ${server.url} (data in ${home}; ${auth}); press Ctrl-C to stop.`);
    ctx.print(server.url);
    await new Promise<void>((resolve) => {
      const undo = onInterrupt(() => {
        undo();
        void server.close().then(resolve);
      });
    });
  },
});
