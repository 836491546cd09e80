import { wantsJson } from "../context.js";
import { KEY_ALIASES, readAlias } from "../prefect/settings.js";
import { jsonText, safeText } from "../ui/io.js";
import { type Cell, type Column, renderTable } from "../ui/table.js";
import { defineCommand } from "./spec.js";

export default defineCommand({
  name: "ls",
  aliases: ["list"],
  summary: "List work pools",
  json: true,
  options: [{ flags: "-v, --verbose", description: "also print each pool's base job template, below the table" }],
  examples: ["wp ls", "wp ls -v", "wp ls -o json | jq -r '.[].name'"],
  async run(ctx, _args, opts) {
    const json = wantsJson(opts);
    const api = await ctx.prefect();
    // Newest first. ISO timestamps order as plain strings; localeCompare would start ICU's collator (~10 ms).
    const pools = (await api.listWorkPools()).sort((a, b) => {
      const [x, y] = [b.created ?? "", a.created ?? ""];
      return x < y ? -1 : x > y ? 1 : 0;
    });
    if (json) return ctx.printJson(pools);
    if (pools.length === 0) return ctx.print("No work pools found.");
    const c = ctx.color.out;
    // The profile's default pool (current or legacy key) is marked.
    const defaultPool = readAlias(await ctx.settings(), KEY_ALIASES.defaultWorkPool);
    const columns: Column[] = [
      { header: "Name" },
      { header: "Type" },
      { header: "ID", keep: true },
      { header: "Concurrency Limit", align: "right" },
    ];
    const rows: Cell[][] = pools.map((p) => [
      [
        { text: p.name, paint: c.green },
        ...(p.is_paused ? [{ text: " (**)", paint: c.red }] : []),
        ...(p.name === defaultPool ? [{ text: " (default)" }] : []),
      ],
      { text: p.type, paint: c.magenta },
      { text: p.id, paint: c.cyan },
      p.concurrency_limit === null || p.concurrency_limit === undefined ? "none" : String(p.concurrency_limit),
    ]);
    // Cut to the terminal's width; piped output (no columns) keeps every character.
    ctx.io.stdout.write(renderTable(columns, rows, { title: "Work Pools", columns: ctx.io.stdout.columns }));
    if (pools.some((p) => p.is_paused)) ctx.print(c.red("(**) denotes a paused pool"));
    if (opts.verbose) {
      // A template is a document, not a cell: each one in full below the table, headed by its pool.
      for (const p of pools) {
        ctx.print(`\n${c.bold(`Base job template of ${safeText(p.name)}:`)}\n${jsonText(p.base_job_template ?? {})}`);
      }
    }
  },
});
