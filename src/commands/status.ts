import { lifecycleOptions, providers } from "../clouds/registry.js";
import { wantsJson } from "../context.js";
import { WpError } from "../errors.js";
import { pyRepr } from "../ui/io.js";
import { checkPoolName } from "./common.js";
import { defineCommand } from "./spec.js";

export default defineCommand({
  name: "status",
  args: ["<name>"],
  summary: "Check every resource a provisioned pool depends on, and the block's credentials (exit 1 on drift)",
  json: true,
  options: lifecycleOptions(),
  examples: ["wp status my-ecs-pool", "wp status my-ecs-pool -o json | jq '.resources[] | select(.state != \"ok\")'"],
  async run(ctx, [name], opts) {
    const { renderStatus } = await import("./lifecycle-output.js");
    const json = wantsJson(opts);
    const poolName = checkPoolName(name);
    const api = await ctx.prefect();
    const { poolStatus } = await import("../engine/lifecycle.js");
    const report = await poolStatus(ctx, api, providers, poolName, opts);
    if (json) ctx.printJson(report);
    else ctx.print(renderStatus(ctx, report));
    if (!report.healthy) {
      const bad = report.resources.filter((i) => i.state === "drift" || i.state === "missing");
      throw new WpError(
        `Work pool ${pyRepr(poolName)} has drifted: ${bad.length} of ${report.resources.length} resources need attention.`,
        "Apply the fixes listed for each resource.",
      );
    }
  },
});
