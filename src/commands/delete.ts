import { wantsJson } from "../context.js";
import { AbortError, UsageError } from "../errors.js";
import { pyRepr } from "../ui/io.js";
import { checkPoolName, done, requirePool } from "./common.js";
import { deprovisionOptions, runDeprovision } from "./deprovision.js";
import { defineCommand } from "./spec.js";

export default defineCommand({
  name: "delete",
  aliases: ["rm"],
  args: ["<name>"],
  summary: "Delete a work pool",
  json: true,
  options: [
    { flags: "--deprovision", description: "first delete what wp provisioned for the pool (see `wp deprovision`)" },
    ...deprovisionOptions.filter((o) => o.flags !== "--keep-pool"),
  ],
  examples: [
    "wp delete my-pool",
    "wp delete my-pool --yes   # in scripts",
    "wp delete my-ecs-pool --deprovision --yes",
  ],
  async run(ctx, [name], opts) {
    const json = wantsJson(opts);
    const poolName = checkPoolName(name);
    if (opts.deprovision === true) {
      await runDeprovision(ctx, poolName, opts, { keepPool: false });
      return;
    }
    const api = await ctx.prefect();
    const pool = await requirePool(api, poolName);
    if (!ctx.global.yes) {
      if (!ctx.interactive) {
        throw new UsageError(
          `Refusing to delete work pool ${pyRepr(poolName)} without confirmation.`,
          "Pass --yes to delete.",
        );
      }
      const ok = await ctx.prompts.confirm(
        `Are you sure you want to delete work pool with name ${pyRepr(poolName)}?`,
        false,
      );
      if (!ok) throw new AbortError("Deletion aborted.");
    }
    await api.deleteWorkPool(poolName);
    done(ctx, json, `Deleted work pool ${pyRepr(poolName)}`, json ? pool : null);
  },
});
