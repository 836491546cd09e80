import { wantsJson } from "../context.js";
import { parseSlug, requireBlock } from "../prefect/block-docs.js";
import { blockJson, blockLines } from "./block-common.js";
import { defineCommand } from "./spec.js";

export default defineCommand({
  name: "inspect",
  args: ["<slug>"],
  summary: "Show a block (TYPE/NAME); secret fields are masked",
  json: true,
  examples: ["wp block inspect aws-credentials/my-aws", "wp block inspect gcp-credentials/my-gcp -o json"],
  async run(ctx, [slug], opts) {
    const json = wantsJson(opts);
    const [type, name] = parseSlug(slug);
    const api = await ctx.prefect();
    // Read without secrets: the server masks every secret field.
    const doc = await requireBlock(api, type, name);
    if (json) return ctx.printJson(blockJson(doc, type));
    ctx.print(blockLines(doc, type).join("\n"));
  },
});
