import { providerOptions, requireProvider } from "../clouds/registry.js";
import { wantsJson } from "../context.js";
import { refuseEmptyFlags } from "../engine/provider.js";
import { UsageError } from "../errors.js";
import { pyRepr } from "../ui/io.js";
import { checkPoolName, poolDetails, requirePool } from "./common.js";
import { renderProvisionReport } from "./provision-output.js";
import { defineCommand } from "./spec.js";

export default defineCommand({
  name: "provision-infra",
  aliases: ["provision-infrastructure"],
  args: ["<name>"],
  summary: "Provision the cloud infrastructure of an existing push work pool and update its job template",
  json: true,
  options: [
    { flags: "--dry-run", description: "show the plan, change nothing" },
    { flags: "--sequential", description: "apply steps one after another" },
    {
      flags: "--overwrite",
      description: "use the names and settings given as flags where they contradict the pool's provisioning record",
    },
    ...providerOptions(),
  ],
  examples: ["wp provision-infra my-ecs-pool --region eu-west-1", "wp provision-infra my-ecs-pool --dry-run -o json"],
  async run(ctx, [name], opts) {
    const json = wantsJson(opts);
    const poolName = checkPoolName(name);
    const api = await ctx.prefect();
    const pool = await requirePool(api, poolName);
    const { provision, failureOf } = await import("../engine/run.js");
    let provider: ReturnType<typeof requireProvider>;
    try {
      provider = requireProvider(pool.type);
      refuseEmptyFlags(provider, opts);
    } catch (err) {
      if (!pool.type.endsWith(":push") && err instanceof UsageError) {
        throw new UsageError(
          `Work pool ${pyRepr(poolName)} is a ${pyRepr(pool.type)} pool, which wp cannot provision.`,
          "Provisioning serves push pools (ecs:push, modal:push, coiled:push) and the ecs pull type.",
        );
      }
      throw err;
    }
    const template = pool.base_job_template ?? {};
    const report = await provision(ctx, api, {
      provider,
      poolName,
      type: pool.type,
      baseTemplate: template,
      existing: pool,
      mayUpdate: true,
      paused: pool.is_paused ?? false,
      dryRun: opts.dryRun === true,
      json,
      sequential: opts.sequential === true,
      flags: opts,
    });
    const failure = failureOf(report);
    if (!json && !failure && !report.dryRun && report.pool) {
      const done = ctx.color.out.green(`Provisioned infrastructure for work pool ${pyRepr(poolName)}.`);
      ctx.print(`${done}\n\n${poolDetails(report.pool, api.uiUrl)}`);
    }
    renderProvisionReport(ctx, report, json);
    if (failure) throw failure;
  },
});
