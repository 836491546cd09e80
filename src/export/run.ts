/**
 * `wp export terraform`: reads each pool's provisioning record (record.ts, as the lifecycle
 * commands do), the pool and its credentials block (secret fields obfuscated: never read with
 * secrets), builds the files (build.ts) and writes them into DIR. Nothing is written when a pool is
 * missing or a file would be overwritten without --force.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { readRecord } from "../engine/record.js";
import { UsageError, WpError } from "../errors.js";
import type { PrefectApi } from "../prefect/api.js";
import { pyRepr, safeText, wpCommand } from "../ui/io.js";
import { buildExport, type ExportPlan, HEADER } from "./build.js";
import type { PoolInput } from "./model.js";
import { blockEntry } from "./prefect.js";

/** Every file an export may write (an earlier export's leftovers are removed with --force). */
export const EXPORT_FILES = [
  "versions.tf",
  "aws.tf",
  "azure.tf",
  "google.tf",
  "prefect.tf",
  "imports.tf",
  "variables.tf",
];

export interface ExportOptions {
  dir: string;
  force: boolean;
  cwd: string;
}

export interface ExportResult extends Omit<ExportPlan, "files"> {
  dir: string;
  pools: string[];
  files: Array<{ file: string; bytes: number }>;
  /** Files of an earlier export that this one no longer needs (removed with --force). */
  removed: string[];
}

/** The directory to write into: an existing directory, or one that can be created. Bad input is exit 2. */
function checkDir(dir: string, cwd: string): string {
  if (!dir.trim()) throw new UsageError("--dir cannot be empty.", "Pass a directory, e.g. --dir terraform.");
  const full = resolve(cwd, dir);
  if (existsSync(full) && !statSync(full).isDirectory())
    throw new UsageError(
      `--dir ${safeText(dir)} is a file, not a directory.`,
      "Pass a directory to write the .tf files into.",
    );
  return full;
}

async function readPool(api: PrefectApi, name: string): Promise<PoolInput> {
  const [stored, pool] = await Promise.all([readRecord(api, name), api.readWorkPool(name)]);
  if (!stored && !pool) throw new WpError(`Work pool ${pyRepr(name)} not found.`, "Run `wp ls` to list work pools.");
  if (!stored)
    throw new WpError(
      `Work pool ${pyRepr(name)} has no provisioning record: wp exports what it provisioned.`,
      `Run \`${wpCommand("provision-infra", name)}\` first, or write the pool's Terraform by hand.`,
    );
  const input: PoolInput = { record: stored.record, pool, block: null };
  const id = blockEntry(input)?.id;
  // Never with secrets: the API obfuscates secret fields, and the export writes variables for them.
  if (id) input.block = await api.readBlockDocumentById(id, false);
  return input;
}

/** The Prefect API URL the provider can reach (null for wp's embedded API). */
function prefectEndpoint(api: PrefectApi): string | null {
  return /^https?:\/\//.test(api.url) ? api.url : null;
}

export async function exportTerraform(api: PrefectApi, names: string[], o: ExportOptions): Promise<ExportResult> {
  const dir = checkDir(o.dir, o.cwd);
  const unique = [...new Set(names)];
  const inputs: PoolInput[] = [];
  for (const name of unique) inputs.push(await readPool(api, name));
  const plan = buildExport(inputs, prefectEndpoint(api));
  const ours = (file: string) => {
    try {
      return readFileSync(join(dir, file), "utf8").startsWith(`# ${HEADER}`);
    } catch {
      return false;
    }
  };
  const clashes = [...plan.files.keys()].filter((f) => existsSync(join(dir, f)));
  if (clashes.length && !o.force)
    throw new UsageError(
      `${safeText(o.dir)} already has ${clashes.join(", ")}; nothing was written.`,
      "Pass --force to replace them, or --dir to write elsewhere.",
    );
  const stale = o.force ? EXPORT_FILES.filter((f) => !plan.files.has(f) && ours(f)) : [];
  try {
    mkdirSync(dir, { recursive: true });
    for (const [file, text] of plan.files) writeFileSync(join(dir, file), text, { flag: o.force ? "w" : "wx" });
    for (const f of stale) rmSync(join(dir, f), { force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new UsageError(`Cannot write into --dir ${safeText(o.dir)} (${code}).`, "Pass a directory you can write to.");
  }
  const { files, ...rest } = plan;
  return {
    dir,
    pools: unique,
    files: [...files].map(([file, text]) => ({ file, bytes: Buffer.byteLength(text) })),
    removed: stale,
    ...rest,
  };
}
