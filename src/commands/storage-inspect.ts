import { wantsJson } from "../context.js";
import { WpError } from "../errors.js";
import { storageView } from "../prefect/storage.js";
import { pyRepr, safeText } from "../ui/io.js";
import { type Column, renderTable } from "../ui/table.js";
import { checkPoolName } from "./common.js";
import { defineCommand } from "./spec.js";

const text = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

export default defineCommand({
  name: "inspect",
  args: ["<name>"],
  summary: "Show a work pool's storage configuration (bundle upload and execution steps)",
  json: true,
  examples: ["wp storage inspect my-pool", "wp storage inspect my-pool -o json"],
  async run(ctx, [name], opts) {
    const json = wantsJson(opts);
    const poolName = checkPoolName(name);
    const api = await ctx.prefect();
    const pool = await api.readWorkPool(poolName);
    if (!pool) throw new WpError(`Work pool ${pyRepr(poolName)} does not exist.`, "Run `wp ls` to list work pools.");
    const view = storageView(pool);
    if (json) return ctx.printJson(view ?? {});
    if (!view)
      return ctx.print(ctx.color.out.yellow(`No storage configuration found for work pool ${pyRepr(poolName)}`));
    const rows: string[][] = [["type", view.type]];
    for (const [k, v] of Object.entries(view.upload)) rows.push([`upload.${k}`, text(v)]);
    if (JSON.stringify(view.upload) !== JSON.stringify(view.execution)) {
      for (const [k, v] of Object.entries(view.execution)) rows.push([`execution.${k}`, text(v)]);
    }
    const blockId = pool.storage_configuration?.default_result_storage_block_id;
    if (blockId) rows.push(["default_result_storage_block_id", blockId]);
    const columns: Column[] = [{ header: "Setting" }, { header: "Value" }];
    ctx.io.stdout.write(
      renderTable(
        columns,
        rows.map((r) => r.map((c) => safeText(c))),
        { title: `Storage Configuration for ${safeText(poolName)}`, columns: ctx.io.stdout.columns },
      ),
    );
  },
});
