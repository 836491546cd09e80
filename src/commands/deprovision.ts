import { lifecycleOptions, providers } from "../clouds/registry.js";
import type { Ctx } from "../context.js";
import { wantsJson } from "../context.js";
import type { DeprovisionReport } from "../engine/teardown.js";
import { WpError } from "../errors.js";
import { pyRepr, wpCommand } from "../ui/io.js";
import { checkPoolName } from "./common.js";
import { defineCommand, type OptionSpec } from "./spec.js";

export const deprovisionOptions: OptionSpec[] = [
  { flags: "--dry-run", description: "show what would be deleted and kept, delete nothing" },
  { flags: "--force", description: "also delete a registry that still holds images" },
  { flags: "--keep-pool", description: "keep the work pool itself" },
];

/** Shared by `wp deprovision` and `wp delete --deprovision`. */
export async function runDeprovision(
  ctx: Ctx,
  poolName: string,
  opts: Record<string, unknown>,
  o: { keepPool: boolean },
): Promise<DeprovisionReport> {
  const json = wantsJson(opts);
  const api = await ctx.prefect();
  const [{ deprovision }, { renderTeardownPlan }] = await Promise.all([
    import("../engine/teardown.js"),
    import("./lifecycle-output.js"),
  ]);
  const report = await deprovision(
    ctx,
    api,
    providers,
    poolName,
    opts,
    {
      dryRun: opts.dryRun === true,
      force: opts.force === true,
      keepPool: o.keepPool,
      json,
      confirm: `Delete these resources of work pool ${pyRepr(poolName)}?`,
    },
    (r, phase) => {
      if (phase === "plan") {
        if (!json) ctx.info(renderTeardownPlan(ctx, r));
        return;
      }
      if (json) {
        ctx.printJson(r);
        return;
      }
      if (r.nothingToDo) {
        if (r.plan.length) ctx.print(renderTeardownPlan({ ...ctx, color: { ...ctx.color, err: ctx.color.out } }, r));
        ctx.print(`Nothing to deprovision for work pool ${pyRepr(poolName)}: nothing wp created for it is left.`);
      } else if (r.dryRun) {
        ctx.print(
          `${renderTeardownPlan({ ...ctx, color: { ...ctx.color, err: ctx.color.out } }, r)}\n\nDry run: nothing was deleted.`,
        );
      } else if (!r.results.some((x) => x.status === "failed")) {
        const n = r.results.length;
        ctx.print(
          ctx.color.out.green(
            `Deprovisioned work pool ${pyRepr(poolName)}: ${n} resource${n === 1 ? "" : "s"} deleted.`,
          ),
        );
      }
    },
  );
  const failed = report.results.find((r) => r.status === "failed");
  if (failed) {
    throw new WpError(
      `Failed to deprovision: ${failed.resource} ${failed.name}: ${failed.error ?? "error"}`,
      `Fix the cause and run \`${wpCommand("deprovision", poolName, "--yes")}\` again; what was deleted stays deleted.`,
    );
  }
  return report;
}

export default defineCommand({
  name: "deprovision",
  args: ["<name>"],
  summary: "Delete what wp provisioned for a pool (keeping what other pools use), its block and the pool",
  json: true,
  options: [...deprovisionOptions, ...lifecycleOptions()],
  examples: ["wp deprovision my-ecs-pool --dry-run", "wp deprovision my-ecs-pool --yes --keep-pool"],
  async run(ctx, [name], opts) {
    await runDeprovision(ctx, checkPoolName(name), opts, { keepPool: opts.keepPool === true });
  },
});
