import { lifecycleOptions, providers } from "../clouds/registry.js";
import { wantsJson } from "../context.js";
import { pyRepr, safeText } from "../ui/io.js";
import { checkPoolName } from "./common.js";
import { defineCommand } from "./spec.js";

export default defineCommand({
  name: "rotate-credentials",
  args: ["<name>"],
  summary: "Make a new key for the pool's block, check it, then delete the old one",
  json: true,
  options: lifecycleOptions(),
  examples: ["wp rotate-credentials my-ecs-pool", "wp rotate-credentials my-ecs-pool --yes -o json   # in CI"],
  async run(ctx, [name], opts) {
    const json = wantsJson(opts);
    const poolName = checkPoolName(name);
    const api = await ctx.prefect();
    const { rotateCredentials } = await import("../engine/lifecycle.js");
    const r = await rotateCredentials(ctx, api, providers, poolName, opts);
    if (json) {
      ctx.printJson(r);
      return;
    }
    const old = r.oldId ? `; deleted ${safeText(r.oldId)}` : "";
    ctx.print(
      ctx.color.out.green(
        `Rotated the credentials of work pool ${pyRepr(poolName)}: block ${pyRepr(r.block)} now holds ${safeText(r.newId)}${old}.`,
      ),
    );
    ctx.print(`Checked: ${safeText(r.checked)}.`);
  },
});
