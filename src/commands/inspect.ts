import { wantsJson } from "../context.js";
import { jsonText, safeText } from "../ui/io.js";
import { checkPoolName, poolUrl, requirePool, statusLabel } from "./common.js";
import { defineCommand } from "./spec.js";

export default defineCommand({
  name: "inspect",
  args: ["<name>"],
  summary: "Show a work pool's details",
  json: true,
  examples: ["wp inspect my-pool", "wp inspect my-pool -o json"],
  async run(ctx, [name], opts) {
    const json = wantsJson(opts);
    const poolName = checkPoolName(name);
    const api = await ctx.prefect();
    const pool = await requirePool(api, poolName);
    if (json) return ctx.printJson(pool);
    const rows: Array<[string, string]> = [
      ["Name", pool.name],
      ["ID", pool.id],
      ["Type", pool.type],
      ["Status", statusLabel(pool)],
      ["Paused", String(pool.is_paused ?? false)],
      ["Description", pool.description ?? "(none)"],
      [
        "Concurrency limit",
        pool.concurrency_limit === null || pool.concurrency_limit === undefined
          ? "none"
          : String(pool.concurrency_limit),
      ],
      ["Default queue", pool.default_queue_id ?? "(none)"],
      ["Created", pool.created ?? ""],
      ["Updated", pool.updated ?? ""],
      ["URL", poolUrl(api.uiUrl, pool.name)],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    // Values are data (a name or description may hold escape sequences): escaped, never raw.
    for (const [k, v] of rows) ctx.print(`${k.padEnd(width)}  ${safeText(v)}`);
    ctx.print(`Base job template:\n${jsonText(pool.base_job_template ?? {})}`);
  },
});
