/**
 * One provisioning run, for `create --provision-infra` and `provision-infra`:
 * Prefect checks → cloud preflight → plan → confirm → apply (block type, cloud steps, pool) → summary.
 */

import { type Provider, providerFor, providers } from "../clouds/registry.js";
import type { Ctx } from "../context.js";
import { AbortError, UsageError, WpError } from "../errors.js";
import { wpHome } from "../home.js";
import { interruptSignal } from "../interrupt.js";
import type { PrefectApi } from "../prefect/api.js";
import { KEY_ALIASES, updateProfile } from "../prefect/settings.js";
import type { JobTemplate, WorkPool } from "../prefect/types.js";
import { pyRepr } from "../ui/io.js";
import { applyProgress } from "./apply-progress.js";
import { CredentialGuard } from "./credential.js";
import { applySteps, type PlannedStep, planSteps, type StepOutcome, toPlanned } from "./engine.js";
import { acquireLocks } from "./lock.js";
import { blockTypeStep, workPoolStep } from "./prefect-steps.js";
import { checkName } from "./provider.js";
import { recordRun } from "./record.js";
import { countActions, renderPlan, renderSummary } from "./render.js";
import type { Step, StepContext, StepState, Target } from "./types.js";

export interface ProvisionOptions {
  poolName: string;
  type: string;
  baseTemplate: JobTemplate;
  existing: WorkPool | null;
  /** An existing pool's template may be replaced. */
  mayUpdate: boolean;
  paused: boolean;
  dryRun: boolean;
  json: boolean;
  sequential: boolean;
  flags: Record<string, unknown>;
}

export interface ProvisionReport {
  workPool: string;
  type: string;
  dryRun: boolean;
  targets: Target[];
  plan: PlannedStep[];
  results: StepOutcome[];
  pool: WorkPool | null;
  nextSteps: string[];
  dockerNamespace?: string;
  /** Resources in the pool's provisioning record after this run (see record.ts). */
  recorded?: number;
}

/** The provider for a type, or a usage error listing the types that can be provisioned. */
export function requireProvider(type: string): Provider {
  const provider = providerFor(type);
  if (!provider) {
    const supported = providers.flatMap((p) => p.types).join(", ");
    throw new UsageError(
      `Automatic infrastructure provisioning is not supported for ${pyRepr(type)} work pools.`,
      `Types that can be provisioned: ${supported}.`,
    );
  }
  return provider;
}

export async function provision(ctx: Ctx, api: PrefectApi, o: ProvisionOptions): Promise<ProvisionReport> {
  const provider = requireProvider(o.type);
  const err = ctx.color.err;
  // The provider's own flags (region, profile) are resolved and checked before any prompt.
  const prepared = { ...o.flags, ...(await provider.prepare?.(o.flags, ctx.env)) };
  const flags =
    ctx.interactive && provider.choose
      ? {
          ...prepared,
          ...(await provider.choose(prepared, {
            env: ctx.env,
            prompts: ctx.prompts,
            note: (m) => ctx.info(err.dim(m)),
          })),
        }
      : prepared;
  const { names, derivedBlockName } = await resolveNames(ctx, provider, { ...o, flags });
  // Progress and notes share one writer, so a note never breaks a spinner or a progress line.
  const live = applyProgress(ctx, o.json);
  const note = (m: string) => live.note(m);
  const home = wpHome(ctx.env);
  const provisioner = await provider.load({
    poolName: o.poolName,
    names,
    derivedBlockName,
    flags,
    env: ctx.env,
    prefect: api,
    interactive: ctx.interactive,
    prompts: ctx.prompts,
    note,
    guard: new CredentialGuard({
      home,
      pauseAt: ctx.env.WP_TEST_PAUSE_AT,
      announce: (line) => ctx.io.stderr.write(line),
    }),
  });
  if (!o.json) ctx.info(err.dim(`Checking ${provider.title} and ${api.label}...`));
  const targets: Target[] = [...(await provisioner.targets()), { key: "prefect", label: api.label }];

  const written: { pool: WorkPool | null } = { pool: null };
  const phases: Step[][] = [
    [blockTypeStep(provider.blockType)],
    provisioner.steps(),
    [
      workPoolStep({
        poolName: o.poolName,
        type: o.type,
        existing: o.existing,
        mayUpdate: o.mayUpdate,
        paused: o.paused,
        template: (outputs) => provisioner.jobTemplate(o.baseTemplate, outputs),
        written,
      }),
    ],
  ];
  const stepCtx: StepContext = { prefect: api, outputs: new Map(), note, signal: interruptSignal };
  const concurrency = o.sequential ? 1 : 8;
  const check = async () => {
    const states = new Map<string, StepState>();
    for (const phase of phases) for (const [k, v] of await planSteps(phase, stepCtx, concurrency)) states.set(k, v);
    return states;
  };
  let states = await check();
  const steps = phases.flat();
  const plan = steps.map((s) => toPlanned(s, states.get(s.id) ?? { action: "create" }));
  const report: ProvisionReport = {
    workPool: o.poolName,
    type: o.type,
    dryRun: o.dryRun,
    targets,
    plan,
    results: [],
    pool: null,
    nextSteps: [],
  };
  const planText = o.dryRun
    ? renderPlan(o.poolName, o.type, targets, plan, ctx.color.out, ctx.io.stdout.columns)
    : renderPlan(o.poolName, o.type, targets, plan, err, ctx.io.stderr.columns);
  if (o.dryRun) {
    if (!o.json) ctx.print(`${planText}\n\nDry run: nothing was changed.`);
    return report;
  }
  const counts = countActions(plan);
  const changes = counts.create + counts.update;
  if (!o.json || changes > 0) ctx.info(planText);
  if (changes > 0 && !ctx.global.yes) {
    if (!ctx.interactive) {
      throw new UsageError(
        "This plan makes changes and there is no terminal to confirm them.",
        "Pass --yes to apply it, or --dry-run to only show the plan.",
      );
    }
    if (!(await ctx.prompts.confirm("Proceed with infrastructure provisioning?", true))) {
      throw new AbortError("Provisioning cancelled; nothing was created.");
    }
  }

  // One run at a time per cloud account/region and Prefect API on this machine. A run that had to
  // wait checks again: the other run may have created what this plan would create.
  let waited = false;
  const release = await acquireLocks([...((await provisioner.lockScopes?.()) ?? []), `Prefect API ${api.url}`], {
    home,
    waiting: (message) => {
      waited = true;
      live.note(message);
    },
  });
  try {
    if (waited) {
      states = await check();
      report.plan = steps.map((s) => toPlanned(s, states.get(s.id) ?? { action: "create" }));
    }
    // Apply phase by phase; a failed phase stops the run (later phases would miss its outputs).
    let index = 0;
    for (const phase of phases) {
      const offset = index;
      const timed = live.phase(phase, offset, steps.length, states, !o.json && changes > 0);
      const outcomes = await applySteps(timed, states, stepCtx, concurrency, (out, i) => {
        if (!o.json && (changes > 0 || out.status === "failed")) live.done(out, offset + i, steps.length);
      });
      report.results.push(...outcomes);
      index += phase.length;
      if (outcomes.some((x) => x.status === "failed" || x.status === "skipped")) break;
    }
    // The record of what exists for this pool, next to it in Prefect (also after a failure: what
    // was created must be known to `wp deprovision`). It never fails the run.
    const recorded = { pool: o.poolName, type: o.type, provider: provider.id, outcomes: report.results };
    await recordRun(api, { ...recorded, outputs: stepCtx.outputs }).then(
      (record) => {
        if (record) report.recorded = record.resources.length;
      },
      (e: unknown) =>
        live.note(`Could not write the provisioning record: ${e instanceof Error ? e.message : String(e)}`),
    );
  } finally {
    live.end();
    release();
  }
  report.pool = written.pool;
  const failed = report.results.find((r) => r.status === "failed");
  if (failed) {
    if (!o.json) ctx.info(renderSummary(report.results, err, ctx.io.stderr.columns));
    return report;
  }

  const namespace = stepCtx.outputs.get("dockerNamespace");
  if (typeof namespace === "string" && namespace) {
    await updateProfile(await ctx.settings(), KEY_ALIASES.dockerNamespace, namespace);
    report.dockerNamespace = namespace;
  }
  report.nextSteps = provisioner.nextSteps?.(stepCtx.outputs) ?? [];
  if (!o.json) {
    ctx.info(renderSummary(report.results, err, ctx.io.stderr.columns));
    if (changes === 0) ctx.info(err.green("Nothing to do: every resource is already in place."));
  }
  return report;
}

/** Throws the first failure of a report as one error line (after the report was rendered). */
export function failureOf(report: ProvisionReport): WpError | null {
  const failed = report.results.find((r) => r.status === "failed");
  if (!failed) return null;
  return new WpError(
    `Failed to provision infrastructure: ${failed.resource} ${failed.name}: ${failed.error ?? "error"}`,
    "Fix the cause and run the same command again; finished steps are kept and re-used.",
  );
}

async function resolveNames(
  ctx: Ctx,
  provider: Provider,
  o: ProvisionOptions,
): Promise<{ names: Record<string, string>; derivedBlockName: boolean }> {
  const names: Record<string, string> = {};
  let anyFlag = false;
  let derivedBlockName = typeof o.flags.credentialsBlockName !== "string";
  for (const n of provider.names) {
    const flag = o.flags[n.prop];
    if (typeof flag === "string") {
      if (!flag.trim()) throw new UsageError(`${n.flag.split(" ")[0]} cannot be empty.`);
      names[n.key] = flag.trim();
      anyFlag = true;
    } else names[n.key] = n.defaultFor(o.poolName);
  }
  if (!anyFlag && ctx.interactive && !ctx.global.yes && !o.dryRun && provider.customizePrompt) {
    if (await ctx.prompts.confirm(provider.customizePrompt, false)) {
      for (const n of provider.names)
        names[n.key] = (await ctx.prompts.text(n.prompt, names[n.key])) || (names[n.key] ?? "");
      derivedBlockName = false;
    }
  }
  // Every name against its cloud's rules, before anything is read or written.
  for (const n of provider.names) checkName(n.what, n.flag.split(" ")[0] ?? n.flag, names[n.key] ?? "", n.rule);
  return { names, derivedBlockName };
}
