import { wantsJson } from "../context.js";
import { UsageError } from "../errors.js";
import { renderTable } from "../ui/table.js";
import { checkPoolName, requirePool } from "./common.js";
import { defineCommand } from "./spec.js";

export default defineCommand({
  name: "preview",
  args: ["<name>"],
  summary: "Preview the flow runs scheduled for a work pool",
  json: true,
  longHelpOnly: true,
  options: [{ flags: "-h, --hours <n>", description: "how many hours ahead to look (default 1)" }],
  examples: ["wp preview my-pool --hours 24"],
  async run(ctx, [name], opts) {
    const json = wantsJson(opts);
    const poolName = checkPoolName(name);
    const hours = opts.hours === undefined ? 1 : Number(opts.hours);
    if (!Number.isFinite(hours) || hours <= 0) {
      throw new UsageError(`--hours must be a positive number, not '${String(opts.hours)}'.`);
    }
    const api = await ctx.prefect();
    await requirePool(api, poolName);
    const until = new Date(Date.now() + hours * 3600_000);
    const runs = await api.scheduledFlowRuns(poolName, until);
    if (json) return ctx.printJson(runs);
    if (runs.length === 0) {
      return ctx.print(ctx.color.out.yellow(`No runs scheduled in the next ${hours} hour(s) - try a larger --hours.`));
    }
    const now = Date.now();
    const c = ctx.color.out;
    const rows = runs
      .map((r) => {
        const start = r.expected_start_time ?? r.next_scheduled_start_time ?? "";
        const late = start !== "" && Date.parse(start) < now;
        return [start + (late ? c.red(" (**)") : ""), r.id, r.name ?? "", r.deployment_id ?? ""];
      })
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    const columns = [
      { header: "Scheduled Start Time" },
      { header: "Run ID" },
      { header: "Name" },
      { header: "Deployment ID" },
    ];
    ctx.io.stdout.write(renderTable(columns, rows, "Preview"));
    ctx.print(c.red("(**) denotes a late run"));
  },
});
