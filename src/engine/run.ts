/**
 * One provisioning run, for `create --provision-infra` and `provision-infra`:
 * Prefect checks → cloud preflight → plan → confirm → apply (block type, cloud steps, pool) → summary.
 */

import type { Ctx } from "../context.js";
import { AbortError, UsageError, WpError } from "../errors.js";
import { wpHome } from "../home.js";
import { interruptSignal } from "../interrupt.js";
import type { PrefectApi } from "../prefect/api.js";
import { KEY_ALIASES, updateProfile } from "../prefect/settings.js";
import type { JobTemplate, WorkPool } from "../prefect/types.js";
import { pyRepr } from "../ui/io.js";
import { applyProgress } from "./apply-progress.js";
import { commandGuard } from "./credential.js";
import { applySteps, type PlannedStep, planSteps, type StepOutcome, toPlanned } from "./engine.js";
import { blockRefOf } from "./lifecycle-types.js";
import { type LiveRecord, liveRecord } from "./live-record.js";
import { acquireLocks } from "./lock.js";
import { enforcePermissions } from "./permissions.js";
import { blockTypeStep, type PoolStepInput, workPoolStep } from "./prefect-steps.js";
import { checkName, contradiction, type Provider, withRecordedFlags } from "./provider.js";
import { listRecords, type ProvisioningRecord, readRecord, recordRun } from "./record.js";
import { countActions, renderPlan, renderSummary } from "./render.js";
import type { Resource } from "./resource.js";
import type { Provisioner, Step, StepContext, StepState, Target } from "./types.js";

export interface ProvisionOptions {
  provider: Provider;
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

/** A run's moving parts once the provider is loaded: its resources in phases, their read context, the live output. */
interface Run {
  o: ProvisionOptions;
  provisioner: Provisioner;
  names: Record<string, string>;
  phases: Resource[][];
  ctx: StepContext;
  live: ReturnType<typeof applyProgress>;
  written: { pool: WorkPool | null };
  concurrency: number;
  /** The record, written as steps finish (live-record.ts). */
  record: LiveRecord;
}

export async function provision(ctx: Ctx, api: PrefectApi, o: ProvisionOptions): Promise<ProvisionReport> {
  const run = await startRun(ctx, api, o);
  if (!o.json) ctx.info(ctx.color.err.dim(`Checking ${o.provider.title} and ${api.label}...`));
  const targets: Target[] = [...(await run.provisioner.targets()), { key: "prefect", label: api.label }];
  let states = await checkPhases(run.phases, run.ctx, run.concurrency);
  await preflight(run, states);
  const steps = run.phases.flat();
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
  const out = o.dryRun ? ctx.io.stdout : ctx.io.stderr;
  const planText = renderPlan(o.poolName, o.type, targets, plan, o.dryRun ? ctx.color.out : ctx.color.err, out.columns);
  if (o.dryRun) {
    if (!o.json) ctx.print(`${planText}\n\nDry run: nothing was changed.`);
    return report;
  }
  const counts = countActions(plan);
  const changes = counts.create + counts.update;
  if (!o.json || changes > 0) ctx.info(planText);
  if (changes > 0) await confirmPlan(ctx);

  // One run at a time per cloud account/region and Prefect workspace: on this machine, and through
  // the Prefect API on every machine. Holding the lock, the run always reads everything again: until
  // now another run (here, or on another machine, which no wait here would show) may have created or
  // deleted what this plan counts on. A plan with nothing to change writes nothing in the cloud: it
  // takes no lock and reads nothing twice (a healthy re-run costs one read of each resource).
  const scopes = [...((await run.provisioner.lockScopes?.()) ?? []), `Prefect API ${api.url}`];
  const release =
    changes > 0
      ? await acquireLocks(scopes, { home: wpHome(ctx.env), api, waiting: (message) => run.live.note(message) })
      : async () => {};
  let now = changes;
  try {
    if (changes > 0) ({ states, plan: report.plan } = await replan(run, plan));
    const c = countActions(report.plan);
    now = c.create + c.update;
    report.results = await applyPhases(run, states, !o.json && now > 0);
    await recordOutcomes(api, run, report);
  } finally {
    run.live.end();
    await release();
  }
  return finishRun(ctx, run, report, now);
}

/**
 * The plan read again under the lock. Steps the shown plan had as existing and that now need work (another run
 * deleted them meanwhile) are said and go through the permission preflight (the plan was confirmed: it had changes).
 */
async function replan(
  run: Run,
  shown: PlannedStep[],
): Promise<{ states: Map<string, StepState>; plan: PlannedStep[] }> {
  const states = await checkPhases(run.phases, run.ctx, run.concurrency);
  const plan = run.phases.flat().map((s) => toPlanned(s, states.get(s.id) ?? { action: "create" }));
  const added = plan.filter((p, i) => p.action !== "exists" && shown[i]?.action === "exists");
  if (added.length > 0) {
    const list = added.map((p) => `${p.action} ${p.resource} ${p.name}`).join(", ");
    run.live.note(`Another run changed what this plan counts on; checked again, it now has to also: ${list}.`);
    await preflight(run, states);
  }
  return { states, plan };
}

/** Flags and names (the record's where the command line gives none), then the provider's resources. */
async function startRun(ctx: Ctx, api: PrefectApi, o: ProvisionOptions): Promise<Run> {
  const record = (await readRecord(api, o.poolName))?.record ?? null;
  const flags = await resolveFlags(ctx, o, record);
  const { names, derivedBlockName } = await resolveNames(ctx, o.provider, { ...o, flags }, record);
  if (derivedBlockName) await refuseBlockCollision(api, o, names.block ?? "");
  // Progress and notes share one writer, so a note never breaks a spinner or a progress line.
  const live = applyProgress(ctx, o.json);
  const note = (m: string) => live.note(m);
  const provisioner = await o.provider.load({
    mode: "provision",
    poolName: o.poolName,
    names,
    flags,
    env: ctx.env,
    prefect: api,
    interactive: ctx.interactive,
    prompts: ctx.prompts,
    note,
    ...(ctx.global.debug ? { debug: (line: string) => ctx.info(ctx.color.err.dim(line)) } : {}),
    guard: commandGuard(ctx),
  });
  const written: { pool: WorkPool | null } = { pool: null };
  const phases = poolPhases(o.provider, provisioner, { ...o, written });
  const stepCtx: StepContext = { prefect: api, outputs: new Map(), note, signal: interruptSignal };
  const concurrency = o.sequential ? 1 : 8;
  const recording = liveRecord(api, recordBase(o, names, stepCtx.outputs));
  return { o, provisioner, names, phases, ctx: stepCtx, live, written, concurrency, record: recording };
}

/** The cloud's permission check for what this plan writes; every missing permission at once, before any write. */
async function preflight(run: Run, states: Map<string, StepState>): Promise<void> {
  if (!run.provisioner.preflight) return;
  if (![...states.values()].some((s) => s.action !== "exists")) return;
  enforcePermissions(await run.provisioner.preflight(states), run.o.provider.title, run.ctx.note);
}

async function confirmPlan(ctx: Ctx): Promise<void> {
  if (ctx.global.yes) return;
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

/** Applies phase by phase; a failed phase stops the run (later phases would miss its outputs). */
async function applyPhases(run: Run, states: Map<string, StepState>, show: boolean): Promise<StepOutcome[]> {
  const results: StepOutcome[] = [];
  const total = run.phases.flat().length;
  let index = 0;
  for (const phase of run.phases) {
    const offset = index;
    const timed = run.live.phase(phase, offset, total, states, show);
    const outcomes = await applySteps(
      timed,
      states,
      run.ctx,
      run.concurrency,
      (out, i) => {
        if (!run.o.json && (show || out.status === "failed")) run.live.done(out, offset + i, total);
      },
      (out) => run.record.add(out),
    );
    results.push(...outcomes);
    index += phase.length;
    if (outcomes.some((x) => x.status === "failed" || x.status === "skipped")) break;
  }
  return results;
}

/**
 * The record of what exists for this pool, next to it in Prefect (also after a failure: what was
 * created must be known to `wp deprovision`). It never fails the run.
 */
async function recordOutcomes(api: PrefectApi, run: Run, report: ProvisionReport): Promise<void> {
  await run.record.settled();
  await recordRun(api, { ...recordBase(run.o, run.names, run.ctx.outputs), outcomes: report.results }).then(
    (record) => {
      if (record) report.recorded = record.resources.length;
    },
    (e: unknown) =>
      run.live.note(`Could not write the provisioning record: ${e instanceof Error ? e.message : String(e)}`),
  );
}

const recordBase = (o: ProvisionOptions, names: Record<string, string>, outputs: Map<string, unknown>) => ({
  pool: o.poolName,
  type: o.type,
  provider: o.provider.id,
  names,
  contextKeys: Object.values(o.provider.recorded ?? {}),
  outputs,
});

/** The summary, the Docker namespace in the Prefect profile, and the next steps. */
async function finishRun(ctx: Ctx, run: Run, report: ProvisionReport, changes: number): Promise<ProvisionReport> {
  const err = ctx.color.err;
  report.pool = run.written.pool;
  if (report.results.some((r) => r.status === "failed")) {
    if (!run.o.json) ctx.info(renderSummary(report.results, err, ctx.io.stderr.columns));
    return report;
  }
  const namespace = run.ctx.outputs.get("dockerNamespace");
  if (typeof namespace === "string" && namespace) {
    await updateProfile(await ctx.settings(), KEY_ALIASES.dockerNamespace, namespace);
    report.dockerNamespace = namespace;
  }
  report.nextSteps = run.provisioner.nextSteps?.(run.ctx.outputs) ?? [];
  if (!run.o.json) {
    ctx.info(renderSummary(report.results, err, ctx.io.stderr.columns));
    if (changes === 0) ctx.info(err.green("Nothing to do: every resource is already in place."));
  }
  return report;
}

/**
 * Every resource of a pool, in the phases a run applies them: the credentials block type; the
 * provider's resources; the work pool with its template filled in from their outputs.
 */
export function poolPhases(
  provider: Provider,
  provisioner: Provisioner,
  pool: Omit<PoolStepInput, "template"> & { baseTemplate: JobTemplate },
): Resource[][] {
  const { baseTemplate, ...rest } = pool;
  return [
    [blockTypeStep(provider.blockType)],
    provisioner.steps(),
    [workPoolStep({ ...rest, template: (outputs) => provisioner.jobTemplate(baseTemplate, outputs) })],
  ];
}

/** Reads every resource, phase by phase (a later phase's reads may use an earlier one's outputs). */
export async function checkPhases(
  phases: Step[][],
  ctx: StepContext,
  concurrency: number,
): Promise<Map<string, StepState>> {
  const states = new Map<string, StepState>();
  const pass: StepContext = { ...ctx, reads: new Map() };
  for (const phase of phases) for (const [k, v] of await planSteps(phase, pass, concurrency)) states.set(k, v);
  return states;
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

/**
 * A credentials block name derived from the pool's name (`My Pool` and `my-pool` both give
 * `my-pool-…`) that another pool's template or record already uses is a collision, refused before
 * anything is written; an unused block of that name is the pool's to reuse.
 */
async function refuseBlockCollision(api: PrefectApi, o: ProvisionOptions, blockName: string): Promise<void> {
  const doc = await api.readBlockDocument(o.provider.blockType, blockName);
  if (!doc) return;
  const [pools, records] = await Promise.all([api.listWorkPools(), listRecords(api)]);
  const owner =
    pools.find((p) => p.name !== o.poolName && blockRefOf(p, o.provider.blockVariable) === doc.id)?.name ??
    records.find((r) => r.record.work_pool !== o.poolName && r.record.resources.some((x) => x.id === doc.id))?.record
      .work_pool;
  if (owner)
    throw new UsageError(
      `Block ${pyRepr(blockName)} already exists and belongs to work pool ${pyRepr(owner)}.`,
      "Pass --credentials-block-name to use another block name.",
    );
}

/** What to do about a flag or name that contradicts the record, on a provisioning run. */
const overwriteHint = (flag: string, given: string) =>
  `Drop ${flag} to use the record's value, or pass --overwrite to use ${pyRepr(given)}.`;

/**
 * The provider's flags: the record's values where the command line gives none (a re-run lands where
 * the first run did), then resolved and checked by the provider before any prompt.
 */
async function resolveFlags(
  ctx: Ctx,
  o: ProvisionOptions,
  record: ProvisioningRecord | null,
): Promise<Record<string, unknown>> {
  const provider = o.provider;
  const given = withRecordedFlags(provider, record?.context, o.flags, {
    overwrite: o.flags.overwrite === true,
    hint: overwriteHint,
  });
  const prepared = { ...given, ...(await provider.prepare?.(given, ctx.env)) };
  if (!ctx.interactive || !provider.choose) return prepared;
  const note = (m: string) => ctx.info(ctx.color.err.dim(m));
  return { ...prepared, ...(await provider.choose(prepared, { env: ctx.env, prompts: ctx.prompts, note })) };
}

async function resolveNames(
  ctx: Ctx,
  provider: Provider,
  o: ProvisionOptions,
  record: ProvisioningRecord | null,
): Promise<{ names: Record<string, string>; derivedBlockName: boolean }> {
  const names: Record<string, string> = {};
  let anyFlag = false;
  let derivedBlockName = typeof o.flags.credentialsBlockName !== "string";
  for (const n of provider.names) {
    const flag = o.flags[n.prop];
    const recorded = record?.names[n.key];
    const flagText = n.flag.split(" ")[0] ?? n.flag;
    if (typeof flag === "string") {
      if (!flag.trim()) throw new UsageError(`${flagText} cannot be empty.`);
      if (recorded && recorded !== flag.trim() && o.flags.overwrite !== true)
        throw contradiction(
          flagText,
          flag.trim(),
          recorded,
          n.what.toLowerCase(),
          overwriteHint(flagText, flag.trim()),
        );
      names[n.key] = flag.trim();
      anyFlag = true;
    } else if (recorded) {
      names[n.key] = recorded;
      if (n.key === "block") derivedBlockName = false;
    } else names[n.key] = n.defaultFor(o.poolName);
  }
  const fromRecord = record !== null && Object.keys(record.names).length > 0;
  if (!anyFlag && !fromRecord && ctx.interactive && !ctx.global.yes && !o.dryRun && provider.customizePrompt) {
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
