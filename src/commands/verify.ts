import { lifecycleOptions, providers } from "../clouds/registry.js";
import { wantsJson } from "../context.js";
import { UsageError, WpError } from "../errors.js";
import { pyRepr, safeText } from "../ui/io.js";
import { checkPoolName } from "./common.js";
import { defineCommand } from "./spec.js";

export default defineCommand({
  name: "verify",
  args: ["<name>"],
  summary: "Prove the pool can run work: a tiny task with the block's credentials, its exit code and logs, cleaned up",
  json: true,
  options: [
    { flags: "--dry-run", description: "show what would be started, start nothing" },
    { flags: "--timeout <seconds>", description: "how long to wait for the task to finish (default 600)" },
    {
      flags: "--image <image>",
      description:
        "image of the test task (default: busybox, from public.ecr.aws on ECS, docker.io on Cloud Run, mcr.microsoft.com on ACI)",
    },
    ...lifecycleOptions(),
  ],
  examples: ["wp verify my-ecs-pool", "wp verify my-ecs-pool --dry-run -o json"],
  async run(ctx, [name], opts) {
    const json = wantsJson(opts);
    const poolName = checkPoolName(name);
    const raw = opts.timeout === undefined ? "600" : String(opts.timeout).trim();
    if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 86400)
      throw new UsageError(`--timeout must be a whole number of seconds from 1 to 86400, not ${pyRepr(raw)}.`);
    const image = typeof opts.image === "string" ? opts.image.trim() : "";
    const api = await ctx.prefect();
    const { verifyPool } = await import("../engine/lifecycle.js");
    const r = await verifyPool(ctx, api, providers, poolName, opts, {
      dryRun: opts.dryRun === true,
      timeoutSeconds: Number(raw),
      pollMs: Number(ctx.env.WP_VERIFY_POLL_MS) || 3000,
      image,
      progress: (line) => {
        if (!json) ctx.info(ctx.color.err.dim(safeText(line)));
      },
    });
    if (json) ctx.printJson(r);
    else if (r.dryRun) {
      ctx.print(
        [
          `Would start, as ${safeText(r.identity ?? "?")}, one test task on ${safeText(r.cluster)}:`,
          `  image ${safeText(r.image)}, command ${safeText(JSON.stringify(r.command))}`,
          ...(r.subnets.length ? [`  subnets ${safeText(r.subnets.join(", "))}`] : []),
          r.logsFrom ? `  logs read from ${safeText(r.logsFrom)}` : `  no logs: ${safeText(r.logsNote ?? "not kept")}`,
          "then wait for it to finish and delete what it made.",
          "Dry run: nothing was started.",
        ].join("\n"),
      );
    } else {
      const lines = [
        `Task ${safeText(r.taskArn ?? "?")} ran as ${safeText(r.identity ?? "?")} and stopped with exit code ${r.exitCode ?? "unknown"}${r.stoppedReason ? ` (${safeText(r.stoppedReason)})` : ""}.`,
        r.logs.length
          ? `Last log lines${r.logsNote ? ` (${safeText(r.logsNote)})` : ""}:\n${r.logs.map((l) => `  ${safeText(l)}`).join("\n")}`
          : `No log lines${r.logsNote ? `: ${safeText(r.logsNote)}` : "."}`,
        `Cleaned up: ${safeText(r.cleanedUp.join("; ") || "nothing")}.`,
        ...(r.kept?.length ? [`Kept: ${safeText(r.kept.join("; "))}.`] : []),
      ];
      ctx.print(
        r.ok
          ? `${ctx.color.out.green(`Work pool ${pyRepr(poolName)} can run work.`)}\n${lines.join("\n")}`
          : lines.join("\n"),
      );
    }
    if (!r.ok && !r.dryRun)
      throw new WpError(`The test task of work pool ${pyRepr(poolName)} exited with code ${r.exitCode ?? "unknown"}.`);
  },
});
