/**
 * `--credentials-block NAME` and `--set VAR=VALUE` on `create` and `update`: the job template with the credentials
 * variable bound to a block and the given defaults, all checked before anything is written.
 */
import { providerFor } from "../clouds/registry.js";
import type { Ctx } from "../context.js";
import { UsageError } from "../errors.js";
import type { PrefectApi } from "../prefect/api.js";
import { CREDENTIAL_TYPES } from "../prefect/block-docs.js";
import { parseSets, referencedBlockId, withCredentialsBlock, withJobVariables } from "../prefect/job-variables.js";
import type { JobTemplate } from "../prefect/types.js";
import { isPushType } from "../prefect/worker-types.js";
import { pyRepr, wpCommand } from "../ui/io.js";
import type { OptionSpec } from "./spec.js";

export const variableOptions: OptionSpec[] = [
  {
    flags: "--credentials-block <name>",
    description: "bind the pool to this existing credentials block (see `wp block create`)",
  },
  {
    flags: "--set <var=value>",
    description: "set a job variable's default (repeatable; VALUE is JSON when it parses, else a string)",
    repeatable: true,
  },
];

/** Whether `--credentials-block` or `--set` was given. */
export const wantsVariables = (opts: Record<string, unknown>): boolean =>
  typeof opts.credentialsBlock === "string" || opts.set !== undefined;

/** Parses the flags (no request): a UsageError for a malformed --set or an empty block name. */
export function checkVariableFlags(opts: Record<string, unknown>): void {
  parseSets(opts.set);
  if (typeof opts.credentialsBlock === "string" && !/^[a-z0-9-]+$/.test(opts.credentialsBlock)) {
    throw new UsageError(
      `--credentials-block ${pyRepr(opts.credentialsBlock)} is not a block name.`,
      "Pass the NAME of a block made with `wp block create TYPE NAME`.",
    );
  }
}

/** The block's id; a UsageError when it is missing or of another type than the pool type needs. */
async function credentialsBlockId(api: PrefectApi, type: string, name: string): Promise<[string, string]> {
  const provider = providerFor(type);
  if (!provider) {
    throw new UsageError(
      `Work pool type ${pyRepr(type)} takes no credentials block.`,
      "Leave out --credentials-block.",
    );
  }
  const doc = (await api.readBlockType(provider.blockType))
    ? await api.readBlockDocument(provider.blockType, name)
    : null;
  if (doc) return [doc.id, provider.blockVariable];
  for (const other of CREDENTIAL_TYPES) {
    if (other === provider.blockType || !(await api.readBlockType(other))) continue;
    if (await api.readBlockDocument(other, name)) {
      throw new UsageError(
        `Block ${pyRepr(name)} is a ${other} block; a ${type} pool needs a ${provider.blockType} block.`,
        `Create one with \`wp block create ${provider.blockType} NAME\`.`,
      );
    }
  }
  throw new UsageError(
    `No ${provider.blockType} block named ${pyRepr(name)}.`,
    `Create it with \`wp block create ${provider.blockType} ${name}\` (\`wp block ls\` lists blocks).`,
  );
}

/** `template` with the block bound and the `--set` defaults applied (each checked against its schema). */
export async function applyVariables(
  api: PrefectApi,
  type: string,
  template: JobTemplate,
  opts: Record<string, unknown>,
): Promise<JobTemplate> {
  let out = template;
  if (typeof opts.credentialsBlock === "string") {
    const [id, variable] = await credentialsBlockId(api, type, opts.credentialsBlock);
    out = withCredentialsBlock(out, variable, id);
  }
  return withJobVariables(out, parseSets(opts.set));
}

/** A push pool whose credentials variable holds nothing cannot run: say so, and how to bind a block. */
export function warnIfNoCredentials(ctx: Ctx, pool: string, type: string, template: JobTemplate | undefined): void {
  const provider = providerFor(type);
  if (!isPushType(type) || !provider) return;
  const props = (template?.variables as { properties?: Record<string, { default?: unknown }> } | undefined)?.properties;
  const current = props?.[provider.blockVariable]?.default;
  if (
    referencedBlockId(template, provider.blockVariable) ||
    (current && typeof current === "object" && Object.keys(current).length > 0)
  )
    return;
  ctx.warn(
    `Work pool ${pyRepr(pool)} has no credentials, so it cannot run flows. Bind a block: ` +
      `${wpCommand("block", "create", provider.blockType, "NAME")} then ${wpCommand("update", pool, "--credentials-block", "NAME")} ` +
      `(or create it with --provision-infra).`,
  );
}
