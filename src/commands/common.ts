/** Validation and rendering shared by the work-pool commands. */
import { constants } from "node:fs";
import { open, stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { Ctx } from "../context.js";
import { UsageError, WpError } from "../errors.js";
import type { PrefectApi } from "../prefect/api.js";
import { baseJobTemplateError } from "../prefect/template.js";
import type { JobTemplate, WorkPool } from "../prefect/types.js";
import { pyRepr, safeText } from "../ui/io.js";

/** Prefect's pool-name rules, checked before any request so bad input changes nothing. */
export function checkPoolName(raw: string | undefined): string {
  const name = raw ?? "";
  if (name.replace(/^['" ]+|['" ]+$/g, "") === "") {
    throw new UsageError("Work pool name cannot be empty.", "Pass a name, e.g. `wp create my-pool --type process`.");
  }
  if (name === "." || name === "..")
    throw new UsageError(
      `Work pool name ${pyRepr(name)} cannot be used: '.' and '..' are URL path segments, so the pool could never be read or deleted over HTTP.`,
      "Choose another name.",
    );
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

/** The largest --base-job-template file wp reads (Prefect's own templates are under 20 KiB). */
export const TEMPLATE_MAX_BYTES = 1024 * 1024;

/**
 * Reads and validates a --base-job-template file (JSON, Prefect's template rules). Directories, files
 * over TEMPLATE_MAX_BYTES and anything that is not JSON are one-line usage errors. Pipes work
 * (`--base-job-template <(jq … t.json)`): the size is checked while reading, not from stat.
 */
export async function readTemplateFile(ctx: Ctx, path: string): Promise<JobTemplate> {
  const full = resolve(ctx.cwd, path);
  const shown = safeText(path);
  const text = await readCapped(full, shown);
  let template: unknown;
  try {
    template = JSON.parse(text);
  } catch (err) {
    // V8 quotes the input in its message, newlines and all: one line, escaped, cut short.
    const reason = (err as Error).message.replace(/\s+/g, " ").trim();
    const short = reason.length > 160 ? `${reason.slice(0, 159)}…` : reason;
    const said = safeText(short).replace(/\.$/, "");
    throw new UsageError(
      // V8's newer messages end in "is not valid JSON" themselves.
      /is not valid JSON$/.test(said)
        ? `--base-job-template file ${shown}: ${said}.`
        : `--base-job-template file ${shown} is not valid JSON: ${said}.`,
      "Pass a JSON file, e.g. one written by `wp get-default-base-job-template -t TYPE -f FILE`.",
    );
  }
  const problem = baseJobTemplateError(template);
  if (problem) throw new UsageError(`--base-job-template file ${shown} is not a valid base job template: ${problem}`);
  return template as JobTemplate;
}

/**
 * Reads at most TEMPLATE_MAX_BYTES (+1). A pipe (`<(jq …)`, a FIFO) is opened without blocking and waited for
 * between reads, so that a FIFO nobody writes to never holds wp where Ctrl-C cannot end it.
 */
async function readCapped(full: string, shown: string): Promise<string> {
  const cannot = (code: string) =>
    new UsageError(`Cannot read --base-job-template file ${shown} (${code}).`, "Pass the path of a JSON file.");
  const fifo = await stat(full).then(
    (s) => s.isFIFO(),
    () => false,
  );
  const file = await open(full, fifo ? constants.O_RDONLY | constants.O_NONBLOCK : "r").catch(
    (err: NodeJS.ErrnoException) => {
      throw cannot(err.code ?? "unreadable");
    },
  );
  try {
    if ((await file.stat()).isDirectory()) {
      throw new UsageError(`--base-job-template ${shown} is a directory, not a file.`, "Pass the path of a JSON file.");
    }
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = await file.read(buf, 0, buf.length, null).then(
        (r) => r.bytesRead,
        (err: NodeJS.ErrnoException) => {
          if (err.code === "EAGAIN") return -1;
          throw cannot(err.code ?? "unreadable");
        },
      );
      if (n === -1) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      if (n === 0) {
        if (fifo && total === 0)
          throw new UsageError(`--base-job-template ${shown} is a FIFO that nothing writes to.`, "Pass a JSON file.");
        break;
      }
      total += n;
      if (total > TEMPLATE_MAX_BYTES) {
        throw new UsageError(
          `--base-job-template file ${shown} is larger than the 1 MiB limit.`,
          "A base job template is a small JSON document; check the path.",
        );
      }
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    await file.close();
  }
}

/** Prefect stores concurrency limits in a 32-bit signed integer column. */
export const LIMIT_MAX = 2147483647;

/** A whole number from 0 to LIMIT_MAX, for concurrency limits. */
export function parseLimit(raw: unknown, flag: string): number {
  const text = String(raw ?? "").trim();
  if (!/^\d+$/.test(text))
    throw new UsageError(`${flag} must be a whole number of 0 or more, not ${pyRepr(String(raw))}.`);
  const n = Number(text);
  if (n > LIMIT_MAX) {
    throw new UsageError(
      `${flag} ${text} is too large.`,
      `The largest concurrency limit Prefect stores is ${LIMIT_MAX}.`,
    );
  }
  return n;
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
    `└── UUID: ${safeText(pool.id)}`,
    `└── Type: ${safeText(pool.type)}`,
    `└── Description: ${safeText(pool.description ?? "(none)")}`,
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
