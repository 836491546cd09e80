/** Text rendering of `wp status` and `wp deprovision` (every value escaped). */
import type { Ctx } from "../context.js";
import type { StatusReport } from "../engine/lifecycle.js";
import type { DeprovisionReport } from "../engine/teardown.js";
import { pyRepr, safeText } from "../ui/io.js";

const MARK = { ok: "✓", drift: "!", missing: "✗", "not checked": "?" } as const;

const SOURCE_LINE: Record<StatusReport["source"], string> = {
  record: "Provisioning record updated %s.",
  inferred: "No provisioning record: resources inferred from the job template, names and tags.",
  "own-credentials": "Bound to a credentials block wp did not make (no provisioning record): wp made nothing for it.",
};

export function renderStatus(ctx: Ctx, r: StatusReport): string {
  const c = ctx.color.out;
  const lines = [
    `Work pool ${pyRepr(r.workPool)} (${safeText(r.type)}) — ${safeText(r.target)}`,
    SOURCE_LINE[r.source].replace("%s", safeText(r.recordUpdated ?? "?")),
    ...r.unknowns.map((u) => c.dim(`  note: ${safeText(u)}`)),
  ];
  for (const i of r.resources) {
    const paint = i.state === "ok" ? c.green : i.state === "not checked" ? c.dim : c.red;
    const state = i.state === "ok" ? "" : ` ${i.state}`;
    const id = i.id && i.id !== i.name ? `  ${safeText(i.id)}` : "";
    const detail = i.detail ? ` — ${safeText(i.detail)}` : "";
    const fix = i.fix ? ` — fix: ${safeText(i.fix)}` : "";
    lines.push(`${paint(`${MARK[i.state]}${state}`)} ${safeText(i.resource)} ${safeText(i.name)}${id}${detail}${fix}`);
  }
  const bad = r.resources.filter((i) => i.state === "drift" || i.state === "missing").length;
  lines.push(bad ? c.red(`${bad} of ${r.resources.length} resources need attention.`) : c.green("Healthy."));
  return lines.join("\n");
}

export function renderTeardownPlan(ctx: Ctx, r: DeprovisionReport): string {
  const c = ctx.color.err;
  const lines = [`Deprovision work pool ${pyRepr(r.workPool)} — ${safeText(r.target)}`];
  for (const u of r.unknowns) lines.push(c.dim(`  note: ${safeText(u)}`));
  for (const i of r.plan) {
    const what = `${safeText(i.resource)} ${safeText(i.name)}${i.id && i.id !== i.name ? ` (${safeText(i.id)})` : ""}`;
    const why = i.reason ? ` — ${safeText(i.reason)}` : "";
    if (i.action === "delete") lines.push(`  ${c.red("delete")} ${what}${why}`);
    else if (i.action === "keep") lines.push(`  ${c.green("keep")}   ${what}${why}`);
    else lines.push(`  ${c.dim("gone")}   ${what}`);
  }
  return lines.join("\n");
}
