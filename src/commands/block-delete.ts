import { wantsJson } from "../context.js";
import { AbortError, UsageError } from "../errors.js";
import { parseSlug, poolsUsingBlock, requireBlock } from "../prefect/block-docs.js";
import { pyRepr, safeText } from "../ui/io.js";
import { blockJson } from "./block-common.js";
import { defineCommand } from "./spec.js";

export default defineCommand({
  name: "delete",
  aliases: ["rm"],
  args: ["<slug>"],
  summary: "Delete a block (TYPE/NAME); refused while a work pool uses it unless --force",
  json: true,
  options: [{ flags: "--force", description: "delete even though work pools reference the block" }],
  examples: ["wp block delete aws-credentials/my-aws", "wp block delete aws-credentials/my-aws --yes   # in scripts"],
  async run(ctx, [slug], opts) {
    const json = wantsJson(opts);
    const [type, name] = parseSlug(slug);
    const shown = `${type}/${name}`;
    const api = await ctx.prefect();
    const doc = await requireBlock(api, type, name);
    const users = await poolsUsingBlock(api, doc.id);
    if (users.length > 0) {
      const names = users.map((p) => pyRepr(p.name)).join(", ");
      if (opts.force !== true) {
        throw new UsageError(
          `Block ${pyRepr(shown)} is used by work pool${users.length > 1 ? "s" : ""} ${names}.`,
          "Bind those pools to another block first (`wp update POOL --credentials-block NAME`), or pass --force.",
        );
      }
      ctx.warn(`Work pool${users.length > 1 ? "s" : ""} ${names} will reference a deleted block and cannot run.`);
    }
    if (!ctx.global.yes) {
      if (!ctx.interactive) {
        throw new UsageError(
          `Refusing to delete block ${pyRepr(shown)} without confirmation.`,
          "Pass --yes to delete.",
        );
      }
      const ok = await ctx.prompts.confirm(`Are you sure you want to delete block ${pyRepr(shown)}?`, false);
      if (!ok) throw new AbortError("Deletion aborted.");
    }
    await api.deleteBlockDocument(doc.id);
    const message = `Deleted block ${safeText(pyRepr(shown))}`;
    if (json) {
      ctx.info(message);
      ctx.printJson(blockJson(doc, type));
    } else ctx.print(ctx.color.out.green(message));
  },
});
