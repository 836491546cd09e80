import { providerFor, providerOptions, requireProvider } from "../clouds/registry.js";
import type { Ctx } from "../context.js";
import { wantsJson } from "../context.js";
import { namesFromFlags, refuseEmptyFlags } from "../engine/provider.js";
import { UsageError } from "../errors.js";
import type { PrefectApi } from "../prefect/api.js";
import { availableTypes } from "../prefect/pool-types.js";
import { KEY_ALIASES, updateProfile } from "../prefect/settings.js";
import type { JobTemplate, WorkerType, WorkPool, WorkPoolUpdate } from "../prefect/types.js";
import {
  defaultTemplateFor,
  isManagedType,
  isPushType,
  pullTypeFor,
  workerStartCommand,
} from "../prefect/worker-types.js";
import { pyRepr, safeText, wpCommand } from "../ui/io.js";
import { checkNotReserved, checkPoolName, poolDetails, readTemplateFile } from "./common.js";
import {
  applyVariables,
  checkVariableFlags,
  variableOptions,
  wantsVariables,
  warnIfNoCredentials,
} from "./pool-variables.js";
import { renderProvisionReport } from "./provision-output.js";
import { defineCommand } from "./spec.js";

export default defineCommand({
  name: "create",
  args: ["<name>"],
  summary: "Create a work pool (and, with --provision-infra, the cloud infrastructure a push pool needs)",
  json: true,
  options: [
    { flags: "-t, --type <type>", description: "work pool type, e.g. process, docker, ecs:push, modal:push" },
    { flags: "--base-job-template <file>", description: "JSON file with the base job template (default: the type's)" },
    { flags: "--paused", description: "create the pool paused" },
    { flags: "--set-as-default", description: "make it the default work pool of the active Prefect profile" },
    { flags: "--overwrite", description: "update the pool if it exists (keeps what you do not pass)" },
    { flags: "--provision-infra", description: "provision the cloud infrastructure for a push pool" },
    { flags: "--provision-infrastructure", description: "same as --provision-infra", hidden: true },
    { flags: "--dry-run", description: "with --provision-infra: show the plan, change nothing" },
    { flags: "--sequential", description: "with --provision-infra: apply steps one after another" },
    {
      flags: "--print-permissions",
      description: "with --type: print the least-privilege cloud grant provisioning needs (JSON) and exit",
    },
    ...variableOptions,
    ...providerOptions(),
  ],
  examples: [
    "wp create my-pool --type process",
    "wp create my-ecs-pool --type ecs:push --provision-infra --region us-east-1",
    "wp create my-ecs-pool --type ecs:push --provision-infra --dry-run -o json",
    "wp create my-ecs-pool --type ecs:push --provision-infra --yes   # in CI",
    "wp create my-ecs -t ecs:push --credentials-block my-aws --set cluster=c1",
  ],
  async run(ctx, [name], opts) {
    const json = wantsJson(opts);
    const poolName = checkPoolName(name);
    checkNotReserved(poolName);
    if (opts.printPermissions === true) return printPermissions(ctx, poolName, opts);
    const provisionInfra = opts.provisionInfra === true || opts.provisionInfrastructure === true;
    if (!provisionInfra && (opts.dryRun || opts.sequential)) {
      throw new UsageError("--dry-run and --sequential go with --provision-infra.");
    }
    checkVariableFlags(opts);
    if (provisionInfra && typeof opts.credentialsBlock === "string") {
      throw new UsageError(
        "--credentials-block binds an existing block; --provision-infra makes one.",
        "Pass one of them (with --provision-infra, --credentials-block-name names the block it writes).",
      );
    }
    const fileTemplate =
      typeof opts.baseJobTemplate === "string" ? await readTemplateFile(ctx, opts.baseJobTemplate) : null;
    const flagType = typeof opts.type === "string" ? opts.type : undefined;
    if (flagType !== undefined && !flagType.trim()) throw new UsageError("--type cannot be empty.");
    if (provisionInfra && flagType) requireProvisionable(flagType, opts);

    const api = await ctx.prefect();
    const existing = await api.readWorkPool(poolName);
    if (existing && !opts.overwrite && !provisionInfra) {
      throw new UsageError(`Work pool ${pyRepr(poolName)} already exists.`, "Use --overwrite to update it.");
    }
    const types = await availableTypes(api);
    let type = flagType ?? existing?.type ?? (await pickType(ctx, types, provisionInfra));
    if (existing && type !== existing.type) {
      ctx.warn(`Overwriting the work pool type is not supported; keeping ${pyRepr(existing.type)}.`);
      type = existing.type;
    }
    if (!types.some((t) => t.type === type)) {
      const names = [...new Set(types.map((t) => t.type))].sort().join(", ");
      throw new UsageError(`Unknown work pool type ${pyRepr(type)}.`, `Choose from ${names}.`);
    }
    if (provisionInfra) requireProvisionable(type, opts);
    if (isPushType(type) && api.kind !== "cloud") warnPushOffCloud(ctx, api, poolName, type);
    const typeDefault = (): JobTemplate => defaultTemplateFor(types, type) ?? {};

    const w: Write = { ctx, api, poolName, type, existing, fileTemplate, opts, json, typeDefault };
    if (provisionInfra) await createProvisioned(w);
    else await createPlain(w);
  },
});

interface Write {
  ctx: Ctx;
  api: PrefectApi;
  poolName: string;
  type: string;
  existing: WorkPool | null;
  fileTemplate: JobTemplate | null;
  opts: Record<string, unknown>;
  json: boolean;
  typeDefault(): JobTemplate;
}

/** `--provision-infra`: the engine plans, confirms and applies, and writes the pool. */
async function createProvisioned(w: Write): Promise<void> {
  const { ctx, api, poolName, type, existing, fileTemplate, opts, json, typeDefault } = w;
  const { provision, failureOf } = await import("../engine/run.js");
  // Provision from the file, else the pool's current template, else the type's default.
  const current = existing?.base_job_template;
  const given = fileTemplate ?? (current && Object.keys(current).length > 0 ? current : typeDefault());
  const base = wantsVariables(opts) ? await applyVariables(api, type, given, opts) : given;
  const report = await provision(ctx, api, {
    provider: requireProvider(type),
    poolName,
    type,
    baseTemplate: base,
    existing,
    mayUpdate: opts.overwrite === true,
    paused: opts.paused === true,
    dryRun: opts.dryRun === true,
    json,
    sequential: opts.sequential === true,
    flags: opts,
  });
  const failure = failureOf(report);
  if (failure || report.dryRun) {
    renderProvisionReport(ctx, report, json);
    if (failure) throw failure;
    return;
  }
  const poolStep = report.results.find((r) => r.id === "prefect.work-pool");
  const verb =
    poolStep?.status === "exists" ? "Work pool is up to date:" : existing ? "Updated work pool" : "Created work pool";
  await afterWrite(ctx, api, report.pool, opts, json, verb, true);
  renderProvisionReport(ctx, report, json);
}

/** A pool without provisioning: created, or with --overwrite updated with only what was passed. */
async function createPlain(w: Write): Promise<void> {
  const { ctx, api, poolName, type, existing, fileTemplate, opts, json, typeDefault } = w;
  let pool: WorkPool | null;
  if (existing) {
    // --overwrite changes only what was passed (Prefect resets description, limit and storage).
    const body: WorkPoolUpdate = {};
    if (fileTemplate) body.base_job_template = fileTemplate;
    if (wantsVariables(opts))
      body.base_job_template = await applyVariables(api, type, fileTemplate ?? existing.base_job_template ?? {}, opts);
    if (opts.paused) body.is_paused = true;
    if (Object.keys(body).length > 0) await api.updateWorkPool(poolName, body);
    pool = await api.readWorkPool(poolName);
  } else {
    const template = fileTemplate ?? typeDefault();
    pool = await api.createWorkPool({
      name: poolName,
      type,
      base_job_template: wantsVariables(opts) ? await applyVariables(api, type, template, opts) : template,
      is_paused: opts.paused === true,
    });
  }
  await afterWrite(ctx, api, pool, opts, json, existing ? "Updated work pool" : "Created work pool", false);
  warnIfNoCredentials(ctx, poolName, type, pool?.base_job_template);
}

/** The type can be provisioned, and the provider's flags are not empty: checked before anything is printed or read. */
/** `--print-permissions`: the grant for these names and flags, as one JSON document; nothing is read from Prefect. */
async function printPermissions(ctx: Ctx, poolName: string, opts: Record<string, unknown>): Promise<void> {
  if (typeof opts.type !== "string" || !opts.type.trim()) {
    throw new UsageError(
      "--print-permissions needs --type.",
      "For example: wp create my-pool --type ecs:push --print-permissions.",
    );
  }
  requireProvisionable(opts.type, opts);
  const provider = requireProvider(opts.type);
  if (!provider.permissions) {
    throw new UsageError(
      `${provider.title} pools need no cloud permissions from you: wp only stores an API token in a block.`,
      "Leave out --print-permissions.",
    );
  }
  const flags = { ...opts, ...(await provider.prepare?.(opts, ctx.env)) };
  const names = namesFromFlags(provider, poolName, flags);
  ctx.printJson(await provider.permissions({ poolName, names, flags, env: ctx.env }));
}

function requireProvisionable(type: string, opts: Record<string, unknown>): void {
  const provider = providerFor(type);
  if (!provider) {
    throw new UsageError(
      `Automatic infrastructure provisioning is not supported for ${pyRepr(type)} work pools.`,
      "Leave out --provision-infra, or use a type that can be provisioned (see `wp create --help`).",
    );
  }
  refuseEmptyFlags(provider, opts);
}

async function pickType(ctx: Ctx, types: WorkerType[], provisionable: boolean): Promise<string> {
  const choices = types.filter((t) => !provisionable || providerFor(t.type));
  if (!ctx.interactive) {
    throw new UsageError(
      "Missing --type: without a terminal the work pool type must be given.",
      "Pass --type, e.g. --type process.",
    );
  }
  return ctx.prompts.select(
    "What type of work pool infrastructure would you like to use?",
    // The slug is what --type takes next time: shown next to the display name.
    choices.map((t) => ({
      label: t.display_name && t.display_name !== t.type ? `${t.display_name} (${t.type})` : t.type,
      hint: (t.description ?? "").split("\n")[0] ?? "",
      value: t.type,
    })),
  );
}

function warnPushOffCloud(ctx: Ctx, api: PrefectApi, pool: string, type: string): void {
  const pull = pullTypeFor(type);
  const alt = pull
    ? ` Use the pull type '${pull}' with a worker instead: ${wpCommand("create", pool, "--type", pull)}, then ${workerStartCommand(pool, pull)}.`
    : "";
  ctx.warn(
    `Only Prefect Cloud runs push work pools; ${safeText(api.label)} will store this pool but never run its flows.${alt}`,
  );
}

async function afterWrite(
  ctx: Ctx,
  api: PrefectApi,
  pool: WorkPool | null,
  opts: Record<string, unknown>,
  json: boolean,
  verb: string,
  provisioned: boolean,
): Promise<void> {
  if (!pool) throw new UsageError("The work pool was not found after writing it.");
  let profileNote: string | null = null;
  if (opts.setAsDefault) {
    const settings = await ctx.settings();
    await updateProfile(settings, KEY_ALIASES.defaultWorkPool, pool.name);
    profileNote = `Set ${pyRepr(pool.name)} as default work pool for profile ${pyRepr(settings.profile)}`;
  }
  if (json) {
    if (!provisioned) ctx.printJson(pool);
    if (profileNote) ctx.info(profileNote);
    return;
  }
  const c = ctx.color.out;
  const message = `${verb} ${pyRepr(pool.name)}${verb.endsWith(":") ? "" : "!"}`;
  const lines = [c.green(message), ""];
  if (!pool.is_paused && !isPushType(pool.type) && !isManagedType(pool.type)) {
    lines.push(
      "To start a worker for this work pool, run:",
      "",
      `    ${c.blue(workerStartCommand(pool.name, pool.type))}`,
      "",
    );
  }
  if (profileNote) {
    lines.push(c.green(profileNote), "");
  }
  lines.push(poolDetails(pool, api.uiUrl));
  ctx.print(lines.join("\n"));
}
