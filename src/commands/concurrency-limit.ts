import { wantsJson } from "../context.js";
import { pyRepr } from "../ui/io.js";
import { checkPoolName, done, parseLimit, requirePool } from "./common.js";
import { defineCommand } from "./spec.js";

export const setConcurrencyLimit = defineCommand({
  name: "set-concurrency-limit",
  args: ["<name>", "<limit>"],
  summary: "Set a work pool's concurrency limit",
  json: true,
  examples: ["wp set-concurrency-limit my-pool 10"],
  async run(ctx, [name, limit], opts) {
    const json = wantsJson(opts);
    const poolName = checkPoolName(name);
    const n = parseLimit(limit, "LIMIT");
    const api = await ctx.prefect();
    await requirePool(api, poolName);
    await api.updateWorkPool(poolName, { concurrency_limit: n });
    done(
      ctx,
      json,
      `Set concurrency limit for work pool ${pyRepr(poolName)} to ${n}`,
      json ? await api.readWorkPool(poolName) : null,
    );
  },
});

export const clearConcurrencyLimit = defineCommand({
  name: "clear-concurrency-limit",
  args: ["<name>"],
  summary: "Remove a work pool's concurrency limit",
  json: true,
  examples: ["wp clear-concurrency-limit my-pool"],
  async run(ctx, [name], opts) {
    const json = wantsJson(opts);
    const poolName = checkPoolName(name);
    const api = await ctx.prefect();
    await requirePool(api, poolName);
    await api.updateWorkPool(poolName, { concurrency_limit: null });
    done(
      ctx,
      json,
      `Cleared concurrency limit for work pool ${pyRepr(poolName)}`,
      json ? await api.readWorkPool(poolName) : null,
    );
  },
});
