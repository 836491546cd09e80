import type { Ctx } from "../context.js";
import { wantsJson } from "../context.js";
import { UsageError, WpError } from "../errors.js";
import type { PrefectApi } from "../prefect/api.js";
import { checkBlockName } from "../prefect/block-docs.js";
import {
  configureStorage,
  resolveLaunchers,
  resultBlockName,
  STORAGE,
  type StorageKind,
  type StorageSpec,
} from "../prefect/storage.js";
import type { BlockDocument } from "../prefect/types.js";
import { pyRepr } from "../ui/io.js";
import { checkPoolName } from "./common.js";
import { type CommandSpec, defineCommand, type OptionSpec } from "./spec.js";

const LAUNCHER_OPTIONS: OptionSpec[] = [
  { flags: "--launcher <cmd>", description: "command that runs both bundle steps (instead of `requires`)" },
  { flags: "--launcher-arg <arg>", description: "argument of --launcher (repeatable)", repeatable: true },
  { flags: "--upload-launcher <cmd>", description: "launcher of the upload step only" },
  {
    flags: "--upload-launcher-arg <arg>",
    description: "argument of the upload launcher (repeatable)",
    repeatable: true,
  },
  { flags: "--execution-launcher <cmd>", description: "launcher of the execution step only" },
  {
    flags: "--execution-launcher-arg <arg>",
    description: "argument of the execution launcher (repeatable)",
    repeatable: true,
  },
];

async function target(ctx: Ctx, spec: StorageSpec, given: unknown): Promise<string> {
  if (typeof given === "string" && given.trim()) return given.trim();
  if (typeof given === "string") throw new UsageError(`${spec.targetFlag} cannot be empty.`);
  if (!ctx.interactive) throw new UsageError(`${spec.targetFlag} is required in non-interactive mode.`);
  const answer = (await ctx.prompts.text(spec.targetPrompt)).trim();
  if (!answer) throw new UsageError(`${spec.targetFlag} cannot be empty.`);
  return answer;
}

/** The credentials block name: the flag, else (on a terminal) the prompt; empty means ambient credentials (S3, GCS). */
async function credentialsName(ctx: Ctx, spec: StorageSpec, given: unknown): Promise<string | null> {
  if (typeof given === "string" && given.trim()) return checkBlockName(given.trim(), spec.credentialsFlag);
  if (!ctx.interactive) {
    if (spec.credentialsRequired) throw new UsageError(`${spec.credentialsFlag} is required in non-interactive mode.`);
    return null;
  }
  const answer = (await ctx.prompts.text(spec.credentialsPrompt)).trim();
  if (!answer && spec.credentialsRequired) throw new UsageError(`${spec.credentialsFlag} cannot be empty.`);
  return answer ? checkBlockName(answer, spec.credentialsFlag) : null;
}

async function readCredentials(api: PrefectApi, spec: StorageSpec, name: string | null): Promise<BlockDocument | null> {
  if (!name) return null;
  const doc = (await api.readBlockType(spec.credentialsSlug))
    ? await api.readBlockDocument(spec.credentialsSlug, name)
    : null;
  if (!doc) throw new UsageError(spec.missingCredentials(name));
  return doc;
}

function configureCommand(kind: StorageKind): CommandSpec {
  const spec = STORAGE[kind];
  const flagName = spec.credentialsFlag.replace(/^--/, "");
  const prop = flagName.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
  return defineCommand({
    name: kind,
    args: ["<name>"],
    summary: `Store the work pool's bundles and results in ${spec.label}`,
    json: true,
    options: [
      {
        flags: `${spec.targetFlag} <name>`,
        description: `${spec.label} ${spec.targetFlag === "--bucket" ? "bucket" : "container"} name`,
      },
      {
        flags: `${spec.credentialsFlag} <name>`,
        description: `${spec.credentialsSlug} block to use${spec.credentialsRequired ? " (required)" : " (default: the ambient credentials)"}`,
      },
      ...LAUNCHER_OPTIONS,
    ],
    examples: [
      `wp storage configure ${kind} my-pool ${spec.targetFlag} ${spec.targetFlag === "--bucket" ? "my-bucket" : "flows"}`,
    ],
    async run(ctx, [name], opts) {
      const json = wantsJson(opts);
      const poolName = checkPoolName(name);
      const launchers = resolveLaunchers(opts);
      const blockName = resultBlockName(poolName);
      if (!/^[a-z0-9-]+$/.test(blockName)) {
        throw new UsageError(
          `The result-storage block name ${pyRepr(blockName)} would not be a valid block name.`,
          "Block names hold only lowercase letters, digits and dashes: use a pool whose name does.",
        );
      }
      const bucket = await target(ctx, spec, opts[spec.targetFlag === "--bucket" ? "bucket" : "container"]);
      const credName = await credentialsName(ctx, spec, opts[prop]);
      const api = await ctx.prefect();
      const pool = await api.readWorkPool(poolName);
      if (!pool) throw new WpError(`Work pool ${pyRepr(poolName)} does not exist.`, "Run `wp ls` to list work pools.");
      const credentials = await readCredentials(api, spec, credName);
      const result = await configureStorage(api, spec, { pool, target: bucket, credentials, launchers });
      const message = `Configured ${spec.label}${kind === "azure-blob-storage" ? "" : " storage"} for work pool ${pyRepr(poolName)}`;
      if (json) {
        ctx.info(message);
        ctx.printJson({
          work_pool: poolName,
          result_storage_block: { slug: result.blockSlug, id: result.block.id },
          storage_configuration: result.storage_configuration,
        });
      } else ctx.print(ctx.color.out.green(message));
    },
  });
}

export const configureS3 = configureCommand("s3");
export const configureGcs = configureCommand("gcs");
export const configureAzure = configureCommand("azure-blob-storage");
