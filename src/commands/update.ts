import { wantsJson } from "../context.js";
import { UsageError } from "../errors.js";
import type { WorkPoolUpdate } from "../prefect/types.js";
import { pyRepr } from "../ui/io.js";
import { checkPoolName, done, parseLimit, readTemplateFile, requirePool } from "./common.js";
import { applyVariables, checkVariableFlags, variableOptions, wantsVariables } from "./pool-variables.js";
import { defineCommand } from "./spec.js";

export default defineCommand({
  name: "update",
  args: ["<name>"],
  summary: "Update a work pool's template, concurrency limit or description",
  json: true,
  options: [
    { flags: "--base-job-template <file>", description: "JSON file with the new base job template" },
    { flags: "--concurrency-limit <n>", description: "concurrency limit (0 or more; 0 pauses delivery)" },
    { flags: "--description <text>", description: 'description ("" clears it)' },
    ...variableOptions,
  ],
  examples: [
    "wp update my-pool --concurrency-limit 5",
    "wp update my-pool --base-job-template template.json",
    "wp update my-ecs-pool --credentials-block my-aws --set cpu=1024",
  ],
  async run(ctx, [name], opts) {
    const json = wantsJson(opts);
    const poolName = checkPoolName(name);
    // Only the fields given are sent; 0 and "" are real values (Prefect drops them).
    const body: WorkPoolUpdate = {};
    if (opts.baseJobTemplate !== undefined)
      body.base_job_template = await readTemplateFile(ctx, String(opts.baseJobTemplate));
    if (opts.concurrencyLimit !== undefined)
      body.concurrency_limit = parseLimit(opts.concurrencyLimit, "--concurrency-limit");
    if (opts.description !== undefined) body.description = String(opts.description);
    checkVariableFlags(opts);
    if (Object.keys(body).length === 0 && !wantsVariables(opts)) {
      throw new UsageError(
        "Nothing to update.",
        "Pass --base-job-template, --concurrency-limit, --description, --credentials-block or --set.",
      );
    }
    const api = await ctx.prefect();
    const pool = await requirePool(api, poolName);
    if (wantsVariables(opts)) {
      const base = body.base_job_template ?? pool.base_job_template ?? {};
      body.base_job_template = await applyVariables(api, pool.type, base, opts);
    }
    await api.updateWorkPool(poolName, body);
    done(ctx, json, `Updated work pool ${pyRepr(poolName)}`, json ? await api.readWorkPool(poolName) : null);
  },
});
