import { wantsJson } from "../context.js";
import { KEY_ALIASES, readAlias } from "../prefect/settings.js";
import { renderTable } from "../ui/table.js";
import { defineCommand } from "./spec.js";

export default defineCommand({
  name: "ls",
  aliases: ["list"],
  summary: "List work pools",
  json: true,
  options: [{ flags: "-v, --verbose", description: "also show each pool's base job template" }],
  examples: ["wp ls", "wp ls -o json | jq -r '.[].name'"],
  async run(ctx, _args, opts) {
    const json = wantsJson(opts);
    const api = await ctx.prefect();
    const pools = (await api.listWorkPools()).sort((a, b) => (b.created ?? "").localeCompare(a.created ?? ""));
    if (json) return ctx.printJson(pools);
    if (pools.length === 0) return ctx.print("No work pools found.");
    const c = ctx.color.out;
    // The profile's default pool (current or legacy key) is marked.
    const defaultPool = readAlias(await ctx.settings(), KEY_ALIASES.defaultWorkPool);
    const columns = [
      { header: "Name" },
      { header: "Type" },
      { header: "ID" },
      { header: "Concurrency Limit", align: "right" as const },
      ...(opts.verbose ? [{ header: "Base Job Template" }] : []),
    ];
    const rows = pools.map((p) => [
      c.green(p.name) + (p.is_paused ? c.red(" (**)") : "") + (p.name === defaultPool ? " (default)" : ""),
      c.magenta(p.type),
      c.cyan(p.id),
      p.concurrency_limit === null || p.concurrency_limit === undefined ? "none" : String(p.concurrency_limit),
      ...(opts.verbose ? [JSON.stringify(p.base_job_template)] : []),
    ]);
    ctx.io.stdout.write(renderTable(columns, rows, "Work Pools"));
    if (pools.some((p) => p.is_paused)) ctx.print(c.red("(**) denotes a paused pool"));
  },
});
