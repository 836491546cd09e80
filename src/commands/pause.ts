import { wantsJson } from "../context.js";
import { pyRepr } from "../ui/io.js";
import { checkPoolName, done, requirePool } from "./common.js";
import { type CommandSpec, defineCommand } from "./spec.js";

function pauseCommand(paused: boolean): CommandSpec {
  const verb = paused ? "Pause" : "Resume";
  return defineCommand({
    name: verb.toLowerCase(),
    args: ["<name>"],
    summary: paused ? "Pause a work pool (no work is delivered)" : "Resume a paused work pool",
    json: true,
    examples: [`wp ${verb.toLowerCase()} my-pool`],
    async run(ctx, [name], opts) {
      const json = wantsJson(opts);
      const poolName = checkPoolName(name);
      const api = await ctx.prefect();
      await requirePool(api, poolName);
      await api.updateWorkPool(poolName, { is_paused: paused });
      done(ctx, json, `${verb}d work pool ${pyRepr(poolName)}`, json ? await api.readWorkPool(poolName) : null);
    },
  });
}

export const pause = pauseCommand(true);
export const resume = pauseCommand(false);
