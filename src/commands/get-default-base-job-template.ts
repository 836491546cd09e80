import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { wantsJson } from "../context.js";
import { UsageError } from "../errors.js";
import { availableTypes } from "../prefect/pool-types.js";
import { defaultTemplateFor } from "../prefect/worker-types.js";
import { jsonText, pyRepr, safeText } from "../ui/io.js";
import { defineCommand } from "./spec.js";

export default defineCommand({
  name: "get-default-base-job-template",
  summary: "Print the default base job template of a work pool type",
  // The template is JSON either way; -o json/--json are accepted like on every command that prints data.
  json: true,
  options: [
    { flags: "-t, --type <type>", description: "work pool type, e.g. process, ecs, ecs:push" },
    { flags: "-f, --file <path>", description: "write the template to this file instead of stdout" },
  ],
  examples: [
    "wp get-default-base-job-template --type ecs",
    "wp get-default-base-job-template -t ecs:push -f template.json",
  ],
  async run(ctx, _args, opts) {
    wantsJson(opts);
    const type = typeof opts.type === "string" ? opts.type : undefined;
    if (!type) throw new UsageError("Missing --type.", "Pass a work pool type, e.g. --type process.");
    const api = await ctx.prefect();
    const types = await availableTypes(api);
    const template = defaultTemplateFor(types, type);
    if (!template) {
      const names = [...new Set(types.map((t) => t.type))].sort().join(", ");
      throw new UsageError(`Unknown work pool type ${pyRepr(type)}.`, `Choose from ${names}.`);
    }
    const text = jsonText(template);
    if (typeof opts.file === "string") {
      try {
        writeFileSync(resolve(ctx.cwd, opts.file), text);
      } catch (err) {
        throw new UsageError(
          `Cannot write ${safeText(opts.file)} (${(err as NodeJS.ErrnoException).code ?? "error"}).`,
        );
      }
      ctx.info(`Wrote the default base job template for ${pyRepr(type)} to ${safeText(opts.file)}`);
      return;
    }
    ctx.print(text);
  },
});
