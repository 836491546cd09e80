import { wantsJson } from "../context.js";
import { WpError } from "../errors.js";
import { poolSlots, type SlotRun } from "../prefect/slots.js";
import { pyRepr, safeText } from "../ui/io.js";
import { type Cell, type Column, renderTable } from "../ui/table.js";
import { checkPoolName } from "./common.js";
import { defineCommand } from "./spec.js";

function duration(run: SlotRun): string {
  const s = run.time_in_current_state;
  if (typeof s !== "number") return "";
  const t = Math.floor(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${t % 60}s` : `${t}s`;
}

function bar(active: number, limit: number): string {
  const width = 20;
  const filled = limit > 0 ? Math.min(width, Math.round((active / limit) * width)) : width;
  return `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
}

export default defineCommand({
  name: "slots",
  args: ["<name>"],
  summary: "Show a work pool's occupied concurrency slots and the flow runs holding them",
  json: true,
  examples: ["wp slots my-pool", "wp slots my-pool -o json"],
  async run(ctx, [name], opts) {
    const json = wantsJson(opts);
    const poolName = checkPoolName(name);
    const api = await ctx.prefect();
    const pool = await api.readWorkPool(poolName);
    if (!pool) throw new WpError(`Work pool ${pyRepr(poolName)} not found!`, "Run `wp ls` to list work pools.");
    const { source, ...status } = await poolSlots(api, pool);
    ctx.debug(`slots read from ${source}`);
    if (json) return ctx.printJson(status);
    const c = ctx.color.out;
    const limit = status.concurrency_limit;
    const slots =
      limit === null || limit === undefined
        ? `${status.active_slots} active (Unlimited)`
        : `${bar(status.active_slots, limit)} ${status.active_slots} / ${limit}`;
    ctx.print(`Work Pool: ${safeText(pool.name)}\n  Slots: ${slots}`);
    const runs = status.queues.flatMap((q) => (q.flow_runs ?? []).map((r) => ({ q, r })));
    if (runs.length === 0) return ctx.print(c.dim("No flow runs occupying slots."));
    const columns: Column[] = [
      { header: "Queue" },
      { header: "Flow Run" },
      { header: "State" },
      { header: "Duration" },
    ];
    const rows: Cell[][] = runs.map(({ q, r }) => [
      q.queue_name,
      r.name,
      r.state_name ?? r.state_type ?? "",
      duration(r),
    ]);
    ctx.io.stdout.write(renderTable(columns, rows, { columns: ctx.io.stdout.columns }));
    for (const q of status.queues) {
      if (q._truncated) {
        ctx.print(
          c.yellow(
            `Queue ${pyRepr(q.queue_name)}: showing ${q._truncated.shown} of ${q._truncated.total} slot holders`,
          ),
        );
      }
    }
  },
});
