/** Text rendering of plans, progress and summaries. Plans are data; this is the only place they become text. */
import type { Palette } from "../ui/io.js";
import type { PlannedStep, StepOutcome } from "./engine.js";
import type { Target } from "./types.js";

const MARK: Record<PlannedStep["action"], string> = { create: "+ create", update: "~ update", exists: "= exists" };

export function countActions(plan: PlannedStep[]): { create: number; update: number; exists: number } {
  const c = { create: 0, update: 0, exists: 0 };
  for (const s of plan) c[s.action] += 1;
  return c;
}

export function renderPlan(pool: string, type: string, targets: Target[], plan: PlannedStep[], p: Palette): string {
  const width = Math.max(...plan.map((s) => s.resource.length));
  const lines = [`Plan for work pool '${pool}' (${type}):`];
  for (const t of targets) {
    const steps = plan.filter((s) => s.target === t.key);
    if (steps.length === 0) continue;
    lines.push("", `  ${p.bold(t.label)}`);
    for (const s of steps) {
      const paint = s.action === "create" ? p.green : s.action === "update" ? p.yellow : p.dim;
      const extra = s.detail ? p.dim(`  (${s.detail})`) : s.existingId ? p.dim(`  ${s.existingId}`) : "";
      lines.push(`    ${paint(MARK[s.action])}  ${s.resource.padEnd(width)}  ${s.name}${extra}`);
    }
  }
  const c = countActions(plan);
  lines.push("", `${c.create} to create, ${c.update} to update, ${c.exists} already there.`);
  return lines.join("\n");
}

const VERB: Record<StepOutcome["status"], string> = {
  created: "Created",
  updated: "Updated",
  exists: "Already there:",
  failed: "Failed:",
  skipped: "Skipped:",
};

export function renderProgress(o: StepOutcome, index: number, total: number, p: Palette): string {
  const icon = o.status === "failed" ? p.red("✗") : o.status === "skipped" ? p.dim("-") : p.green("✓");
  const tail =
    o.status === "failed" ? ` — ${o.error ?? "error"}` : o.status === "skipped" ? " (an earlier step failed)" : "";
  return `[${index + 1}/${total}] ${icon} ${VERB[o.status]} ${o.resource} ${o.name}${tail}`;
}

export function renderSummary(outcomes: StepOutcome[], p: Palette): string {
  const width = Math.max(...outcomes.map((o) => o.resource.length));
  const lines = outcomes.map((o) => {
    const status =
      o.status === "failed" ? p.red(o.status) : o.status === "exists" ? p.dim("exists") : p.green(o.status);
    return `  ${o.resource.padEnd(width)}  ${o.name}  ${status}${o.resourceId ? `  ${o.resourceId}` : ""}`;
  });
  return ["Resources:", ...lines].join("\n");
}
