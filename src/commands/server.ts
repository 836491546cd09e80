import { homedir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../errors.js";
import { defineCommand } from "./spec.js";

export default defineCommand({
  name: "start",
  summary:
    "Serve wp's embedded Prefect-compatible API over HTTP. It implements the work pool and block routes wp uses " +
    "(for scripts, tests and other clients of those routes); it is not a full Prefect server and runs no flows.",
  options: [
    { flags: "--host <host>", description: "address to listen on (default 127.0.0.1)" },
    { flags: "--port <port>", description: "port (default 4200; 0 picks a free one)" },
  ],
  examples: ["wp server start", "PREFECT_API_URL=http://127.0.0.1:4200/api wp ls"],
  async run(ctx, _args, opts) {
    const host = typeof opts.host === "string" ? opts.host : "127.0.0.1";
    const portText = typeof opts.port === "string" ? opts.port : "4200";
    if (!/^\d+$/.test(portText) || Number(portText) > 65535) {
      throw new UsageError(`--port must be a number from 0 to 65535, not '${portText}'.`);
    }
    const home = ctx.env.WP_HOME || join(homedir(), ".wp");
    const { startServer } = await import("../prefect/embedded/http.js");
    const server = await startServer({ home, host, port: Number(portText) });
    ctx.info(`wp embedded API listening on ${server.url} (data in ${home}); press Ctrl-C to stop.`);
    ctx.print(server.url);
    await new Promise<void>((resolve) => {
      const stop = () => {
        void server.close().then(resolve);
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
  },
});
