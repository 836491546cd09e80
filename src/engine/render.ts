/** Text rendering of plans, progress and summaries. Plans are data; this is the only place they become text. */
import { type Palette, pyRepr, safeText } from "../ui/io.js";
import { formatElapsed } from "../ui/progress.js";
import { type Cell, displayWidth, renderTable, truncateText } from "../ui/table.js";
import type { PlannedStep, StepOutcome } from "./engine.js";
import type { Target } from "./types.js";

const MARK: Record<PlannedStep["action"], string> = { create: "+ create", update: "~ update", exists: "= exists" };

export function countActions(plan: PlannedStep[]): { create: number; update: number; exists: number } {
  const c = { create: 0, update: 0, exists: 0 };
  for (const s of plan) c[s.action] += 1;
  return c;
}

const pad = (text: string, width: number) => text + " ".repeat(Math.max(0, width - displayWidth(text)));

/** The plan grouped by target, its columns (action, resource, name, detail or id) aligned across groups. */
/** The plan as text; on a terminal `columns` cuts each step's detail with `…` so no line wraps. */
export function renderPlan(
  pool: string,
  type: string,
  targets: Target[],
  plan: PlannedStep[],
  p: Palette,
  columns?: number,
): string {
  const resource = Math.max(0, ...plan.map((s) => displayWidth(safeText(s.resource))));
  const name = Math.max(0, ...plan.map((s) => displayWidth(safeText(s.name))));
  const lines = [`Plan for work pool ${pyRepr(pool)} (${safeText(type)}):`];
  for (const t of targets) {
    const steps = plan.filter((s) => s.target === t.key);
    if (steps.length === 0) continue;
    lines.push("", `  ${p.bold(safeText(t.label))}`);
    for (const s of steps) {
      const paint = s.action === "create" ? p.green : s.action === "update" ? p.yellow : p.dim;
      const extra = s.detail ? `(${s.detail})` : (s.existingId ?? "");
      const head = `    ${paint(MARK[s.action])}  ${pad(safeText(s.resource), resource)}  `;
      // Room left for the detail after "    + create  <resource>  <name>  ".
      const room = (columns ?? Number.POSITIVE_INFINITY) - (4 + 8 + 2 + resource + 2 + name + 2);
      const detail = room >= 12 ? truncateText(safeText(extra), room) : safeText(extra);
      lines.push(extra ? `${head}${pad(safeText(s.name), name)}  ${p.dim(detail)}` : head + safeText(s.name));
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

/** One progress line, e.g. `[3/10] ✓ Created IAM user prefect-ecs-user (1.2s)`; `ms` is the time its apply took. */
export function renderProgress(o: StepOutcome, index: number, total: number, p: Palette, ms?: number): string {
  const icon = o.status === "failed" ? p.red("✗") : o.status === "skipped" ? p.dim("-") : p.green("✓");
  const time =
    ms !== undefined && o.status !== "exists" && o.status !== "skipped" ? p.dim(` (${formatElapsed(ms)})`) : "";
  const tail =
    o.status === "failed"
      ? ` — ${safeText(o.error ?? "error")}`
      : o.status === "skipped"
        ? " (an earlier step failed)"
        : "";
  return `[${index + 1}/${total}] ${icon} ${VERB[o.status]} ${safeText(o.resource)} ${safeText(o.name)}${time}${tail}`;
}

/**
 * The summary after the progress lines: one aligned row per resource (resource, name, status, id),
 * with nothing the progress lines already said at length. Ids are never cut; on a terminal of
 * `columns`, names give way first.
 */
export function renderSummary(outcomes: StepOutcome[], p: Palette, columns?: number): string {
  const paint = (s: StepOutcome["status"]) =>
    s === "failed" ? p.red : s === "exists" || s === "skipped" ? p.dim : p.green;
  const rows: Cell[][] = outcomes.map((o) => [
    o.resource,
    o.name,
    { text: o.status, paint: paint(o.status) },
    o.resourceId ?? "",
  ]);
  return `\nSummary:\n${renderTable(
    [{ header: "Resource" }, { header: "Name" }, { header: "Status" }, { header: "ID", keep: true }],
    rows,
    { indent: 2, rule: false, columns },
  ).trimEnd()}`;
}
