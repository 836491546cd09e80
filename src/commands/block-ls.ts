import { wantsJson } from "../context.js";
import { listManagedBlocks } from "../prefect/block-docs.js";
import { type Cell, type Column, renderTable } from "../ui/table.js";
import { blockJson } from "./block-common.js";
import { defineCommand } from "./spec.js";

export default defineCommand({
  name: "ls",
  aliases: ["list"],
  summary: "List the credentials and storage blocks wp manages",
  json: true,
  examples: ["wp block ls", "wp block ls -o json | jq -r '.[].slug'"],
  async run(ctx, _args, opts) {
    const json = wantsJson(opts);
    const api = await ctx.prefect();
    const rows = await listManagedBlocks(api);
    if (json) return ctx.printJson(rows.map((r) => blockJson(r.document, r.type)));
    if (rows.length === 0) return ctx.print("No blocks found. Create one with `wp block create TYPE NAME`.");
    const c = ctx.color.out;
    const columns: Column[] = [
      { header: "ID", keep: true },
      { header: "Type" },
      { header: "Name" },
      { header: "Slug" },
    ];
    const cells: Cell[][] = rows.map((r) => [
      { text: r.id, paint: c.cyan },
      r.document.block_type?.name ?? r.type,
      { text: r.name, paint: c.green },
      r.slug,
    ]);
    ctx.io.stdout.write(renderTable(columns, cells, { title: "Blocks", columns: ctx.io.stdout.columns }));
  },
});
