/** `wp export terraform NAME… [--dir DIR] [--force]`: the pools' provisioned infrastructure as Terraform, with imports. */
import { wantsJson } from "../context.js";
import { pyRepr, safeText, shellQuote } from "../ui/io.js";
import { checkPoolName } from "./common.js";
import { defineCommand } from "./spec.js";

export const exportTerraform = defineCommand({
  name: "terraform",
  args: ["<names...>"],
  summary: "Write Terraform for what wp provisioned for the pools, with an import block for everything that exists",
  json: true,
  options: [
    {
      flags: "--dir <dir>",
      description:
        "directory for the .tf files (default: ./terraform, created if missing); existing files there are not overwritten",
    },
    {
      flags: "--force",
      description: "replace the files of an earlier export in DIR (and remove the ones it no longer needs)",
    },
  ],
  examples: [
    "wp export terraform my-ecs-pool",
    "wp export terraform pool-a pool-b --dir infra && terraform -chdir=infra plan",
    "wp export terraform my-ecs-pool -o json | jq '.resources'",
  ],
  async run(ctx, names, opts) {
    const json = wantsJson(opts);
    const pools = names.map((n) => checkPoolName(n));
    const dir = typeof opts.dir === "string" ? opts.dir : "terraform";
    const api = await ctx.prefect();
    const { exportTerraform: run } = await import("../export/run.js");
    const r = await run(api, pools, { dir, force: opts.force === true, cwd: ctx.cwd });
    if (json) {
      ctx.printJson(r);
      return;
    }
    const imported = r.resources.filter((x) => x.importId !== undefined && !x.address.startsWith("data."));
    const lines = [
      ctx.color.out.green(
        `Wrote ${r.files.length} files to ${safeText(dir)} for work pool${pools.length === 1 ? "" : "s"} ${pools.map(pyRepr).join(", ")}: ${imported.length} resources to import.`,
      ),
      ...r.files.map((f) => `  ${f.file}`),
      ...(r.removed.length ? [`Removed ${r.removed.join(", ")} (an earlier export's, not needed now).`] : []),
    ];
    if (r.notManaged.length) {
      lines.push("Not handed to Terraform (see imports.tf):");
      for (const n of r.notManaged) lines.push(`  ${safeText(n.kind)} ${safeText(n.name)}`);
    }
    if (r.resources.some((x) => x.generateConfig))
      lines.push(
        "Some imports need their configuration written by Terraform: terraform plan -generate-config-out=generated.tf",
      );
    const vars = r.variables.length ? ` (give ${r.variables.map((v) => `TF_VAR_${v}`).join(", ")})` : "";
    lines.push(`Next: cd ${shellQuote(dir)} && terraform init && terraform plan${vars}`);
    ctx.print(lines.join("\n"));
  },
});
