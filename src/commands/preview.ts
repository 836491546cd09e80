import { wantsJson } from "../context.js";
import { UsageError } from "../errors.js";
import { pyRepr } from "../ui/io.js";
import { type Cell, renderTable } from "../ui/table.js";
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
    const hours = parseHours(opts.hours);
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
    const rows: Cell[][] = runs
      .map((r) => {
        const start = r.expected_start_time ?? r.next_scheduled_start_time ?? "";
        const late = start !== "" && Date.parse(start) < now;
        return {
          start,
          row: [
            [{ text: start }, ...(late ? [{ text: " (**)", paint: c.red }] : [])],
            r.id,
            r.name ?? "",
            r.deployment_id ?? "",
          ],
        };
      })
      .sort((a, b) => a.start.localeCompare(b.start))
      .map((x) => x.row);
    const columns = [
      { header: "Scheduled Start Time", keep: true },
      { header: "Run ID", keep: true },
      { header: "Name" },
      { header: "Deployment ID" },
    ];
    ctx.io.stdout.write(renderTable(columns, rows, { title: "Preview", columns: ctx.io.stdout.columns }));
    ctx.print(c.red("(**) denotes a late run"));
  },
});

/** At most 100 years ahead: further than any schedule, and still a valid date. */
export const HOURS_MAX = 876_000;

/** `--hours`: a plain positive number (decimals allowed) up to HOURS_MAX; not `0x10`, `1e9` or `Infinity`. */
function parseHours(raw: unknown): number {
  if (raw === undefined) return 1;
  const text = String(raw).trim();
  const hours = /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(hours > 0)) throw new UsageError(`--hours must be a positive number, not ${pyRepr(String(raw))}.`);
  if (hours > HOURS_MAX) {
    throw new UsageError(`--hours ${text} is too far ahead.`, `The most --hours takes is ${HOURS_MAX} (100 years).`);
  }
  return hours;
}
