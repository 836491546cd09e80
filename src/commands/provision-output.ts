import type { Ctx } from "../context.js";
import type { ProvisionReport } from "../engine/run.js";
import { safeText } from "../ui/io.js";

/** JSON: one document with plan, results and pool. Text: the next steps (plan and progress went to stderr). */
export function renderProvisionReport(ctx: Ctx, report: ProvisionReport, json: boolean): void {
  const failed = report.results.find((r) => r.status === "failed");
  if (json) {
    ctx.printJson({
      workPool: report.workPool,
      type: report.type,
      dryRun: report.dryRun,
      targets: report.targets,
      plan: report.plan,
      results: report.results,
      pool: report.pool,
      ...(report.dockerNamespace ? { dockerNamespace: report.dockerNamespace } : {}),
      nextSteps: report.nextSteps,
      ...(failed ? { error: `${failed.resource} ${failed.name}: ${failed.error ?? "error"}` } : {}),
    });
    return;
  }
  if (failed || report.dryRun) return;
  if (report.dockerNamespace) {
    ctx.info(
      `Default Docker build namespace set to '${safeText(report.dockerNamespace)}' in the active Prefect profile.`,
    );
  }
  if (report.nextSteps.length > 0)
    ctx.print(`\nNext steps:\n${report.nextSteps.map((l) => `  ${safeText(l)}`).join("\n")}\n`);
}
