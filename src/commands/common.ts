/** Validation and rendering shared by the work-pool commands. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Ctx } from "../context.js";
import { UsageError, WpError } from "../errors.js";
import type { PrefectApi } from "../prefect/api.js";
import { baseJobTemplateError } from "../prefect/template.js";
import type { JobTemplate, WorkPool } from "../prefect/types.js";
import { pyRepr } from "../ui/io.js";

/** Prefect's pool-name rules, checked before any request so bad input changes nothing. */
export function checkPoolName(raw: string | undefined): string {
  const name = raw ?? "";
  if (name.replace(/^['" ]+|['" ]+$/g, "") === "") {
    throw new UsageError("Work pool name cannot be empty.", "Pass a name, e.g. `wp create my-pool --type process`.");
  }
  const bad = /[/%&<>]/.exec(name);
  if (bad)
    throw new UsageError(`Work pool name ${pyRepr(name)} contains '${bad[0]}'.`, "Names cannot contain / % & < or >.");
  return name;
}

/** Names starting with "prefect" are reserved by Prefect for its own pools. */
export function checkNotReserved(name: string): void {
  if (name.toLowerCase().startsWith("prefect")) {
    throw new UsageError(
      `Work pool name ${pyRepr(name)} is reserved: names starting with 'prefect' are for Prefect's own pools.`,
      "Choose another name.",
    );
  }
}

export function poolNotFound(name: string): WpError {
  return new WpError(`Work pool ${pyRepr(name)} not found.`, "Run `wp ls` to list work pools.");
}

export async function requirePool(api: PrefectApi, name: string): Promise<WorkPool> {
  const pool = await api.readWorkPool(name);
  if (!pool) throw poolNotFound(name);
  return pool;
}

/** Reads and validates a --base-job-template file (JSON, Prefect's template rules). */
export function readTemplateFile(ctx: Ctx, path: string): JobTemplate {
  const full = resolve(ctx.cwd, path);
  let text: string;
  try {
    text = readFileSync(full, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
    throw new UsageError(`Cannot read --base-job-template file ${path} (${code}).`, "Pass the path of a JSON file.");
  }
  let template: unknown;
  try {
    template = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--base-job-template file ${path} is not valid JSON: ${(err as Error).message}.`);
  }
  const problem = baseJobTemplateError(template);
  if (problem) throw new UsageError(`--base-job-template file ${path} is not a valid base job template: ${problem}`);
  return template as JobTemplate;
}

/** A non-negative integer, for concurrency limits. */
export function parseLimit(raw: unknown, flag: string): number {
  const text = String(raw ?? "").trim();
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} must be a whole number of 0 or more, not '${String(raw)}'.`);
  return Number(text);
}

export function statusLabel(pool: WorkPool): string {
  const s = pool.status ?? null;
  if (!s) return "Unknown";
  const words = s.toLowerCase().replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function poolUrl(uiUrl: string | null, name: string): string {
  return uiUrl ? `${uiUrl}/work-pools/work-pool/${encodeURIComponent(name)}` : "<no dashboard available>";
}

/** The five detail lines Prefect prints after create. */
export function poolDetails(pool: WorkPool, uiUrl: string | null): string {
  return [
    `└── UUID: ${pool.id}`,
    `└── Type: ${pool.type}`,
    `└── Description: ${pool.description ?? "(none)"}`,
    `└── Status: ${statusLabel(pool)}`,
    `└── URL: ${poolUrl(uiUrl, pool.name)}`,
  ].join("\n");
}

/** Prints a pool as JSON, or a success line in text mode. */
export function done(ctx: Ctx, json: boolean, message: string, pool?: WorkPool | null): void {
  if (json) {
    ctx.info(message);
    ctx.printJson(pool ?? null);
  } else {
    ctx.print(ctx.color.out.green(message));
  }
}
