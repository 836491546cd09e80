/**
 * `wp deprovision` (and `wp delete --deprovision`): what interrupted verifies left, then the pool's
 * resources in reverse dependency order (resource.ts: only what this pool owns and no other pool
 * uses), then its record and the pool. The record and the pool stay while the record still owns a
 * resource that had to be kept (a registry holding images without --force), so a later
 * `deprovision --force` can finish the job.
 */
import type { Ctx } from "../context.js";
import { AbortError, UsageError } from "../errors.js";
import { wpHome } from "../home.js";
import type { PrefectApi } from "../prefect/api.js";
import { KEY_ALIASES, updateProfile } from "../prefect/settings.js";
import { messageOf } from "./engine.js";
import { finishCredentials, type LoadedPool, loadPool, notFound, type ProviderLookup, readPool } from "./lifecycle.js";
import { ignoreNotFound, type TeardownItem } from "./lifecycle-types.js";
import { acquireLocks } from "./lock.js";
import { type ProvisioningRecord, recordName, type StoredRecord, writeRecord } from "./record.js";
import { type TeardownContext, teardownPlan } from "./resource.js";
import { checkPhases } from "./run.js";

export interface DeprovisionOptions {
  dryRun: boolean;
  force: boolean;
  keepPool: boolean;
  json: boolean;
  /** Question asked on a terminal before deleting. */
  confirm?: string;
}

export interface DeprovisionReport {
  workPool: string;
  target: string;
  dryRun: boolean;
  unknowns: string[];
  plan: Array<Omit<TeardownItem, "run">>;
  results: Array<{
    resource: string;
    name: string;
    id?: string;
    status: "deleted" | "failed" | "skipped";
    error?: string;
  }>;
  /** Nothing was left to delete. */
  nothingToDo: boolean;
}

const planned = ({ run: _run, ...rest }: TeardownItem) => rest;

/** Kept resources this pool's record owns (not kept for another pool): the record and the pool must stay. */
function ownedAndKept(l: LoadedPool, items: TeardownItem[]): TeardownItem[] {
  return items.filter(
    (i) =>
      i.action === "keep" &&
      !i.usedBy?.length &&
      l.record?.record.resources.some((r) => r.step === i.step && r.created),
  );
}

/** The provider's part of the plan: the walk over its resources (resource.ts). */
async function resourcesPlan(ctx: Ctx, l: LoadedPool, force: boolean): Promise<TeardownItem[]> {
  const { phases: all, ctx: read } = await readPool(l);
  // A pool bound to the user's own block: wp made nothing for it; the block alone is read (and kept: adopted).
  const phases = l.input.ownCredentials
    ? all.map((p, i) => (i === 1 ? p.filter((r) => r.templateVariable === l.provider.blockVariable) : p))
    : all;
  const resources = phases[1] ?? [];
  const states = await checkPhases(phases, read, 8);
  const base: Omit<TeardownContext, "entry"> = {
    ...read,
    force,
    otherPools: l.input.otherPools,
    otherRecords: l.input.otherRecords,
    forgetDockerNamespace: async (namespace) => {
      const settings = await ctx.settings();
      const current = KEY_ALIASES.dockerNamespace.map((k) => settings.get(k)).find(Boolean);
      if (current === namespace) await updateProfile(settings, KEY_ALIASES.dockerNamespace, undefined);
    },
  };
  return teardownPlan(resources, states, base, l.record);
}

async function makePlan(ctx: Ctx, api: PrefectApi, l: LoadedPool, o: DeprovisionOptions): Promise<TeardownItem[]> {
  const name = l.pool.name;
  const leftovers: TeardownItem[] = l.lifecycle.removeLeftover
    ? l.input.journal.leftovers(name).map((e) => ({
        step: "wp.verify-leftover",
        resource: e.kind,
        name: e.name,
        ...(e.id ? { id: e.id } : {}),
        action: "delete" as const,
        reason: "left by an interrupted wp verify",
        run: async () => {
          await l.lifecycle.removeLeftover?.(e);
          l.input.journal.done(e);
        },
      }))
    : [];
  const items = [...leftovers, ...(await resourcesPlan(ctx, l, o.force))];
  const kept = ownedAndKept(l, items);
  const keptWhy = kept.length
    ? `still owns ${kept.map((k) => `${k.resource} ${k.name}`).join(", ")} (kept); run deprovision again to finish`
    : "";
  const record = l.record;
  if (!record) {
    if (!l.input.ownCredentials)
      items.push({ step: "wp.record", resource: "Provisioning record", name, action: "gone" });
  } else if (kept.length)
    items.push({
      step: "wp.record",
      resource: "Provisioning record",
      name: recordName(record.record.work_pool),
      id: record.id,
      action: "keep",
      reason: keptWhy,
    });
  else
    items.push({
      step: "wp.record",
      resource: "Provisioning record",
      name: recordName(record.record.work_pool),
      id: record.id,
      action: "delete",
      run: () => api.deleteBlockDocument(record.id).catch(ignoreNotFound),
    });
  const pool = { step: "prefect.work-pool", resource: "Work pool", name, id: l.pool.id };
  if (l.poolMissing) items.push({ ...pool, action: "gone" });
  else if (o.keepPool) items.push({ ...pool, action: "keep", reason: "--keep-pool" });
  else if (kept.length) items.push({ ...pool, action: "keep", reason: `its record ${keptWhy}` });
  else items.push({ ...pool, action: "delete", run: () => api.deleteWorkPool(name).catch(ignoreNotFound) });
  return items;
}

export async function deprovision(
  ctx: Ctx,
  api: PrefectApi,
  find: ProviderLookup,
  name: string,
  flags: Record<string, unknown>,
  o: DeprovisionOptions,
  render: (report: DeprovisionReport, phase: "plan" | "done") => void,
): Promise<DeprovisionReport> {
  const l = await loadPool(ctx, api, find, name, flags);
  if (!l) throw notFound(name);
  let items = await makePlan(ctx, api, l, o);
  const report: DeprovisionReport = {
    workPool: name,
    target: await l.lifecycle.target(),
    dryRun: o.dryRun,
    unknowns: l.lifecycle.unknowns(),
    plan: items.map(planned),
    results: [],
    nothingToDo: !items.some((i) => i.action === "delete"),
  };
  if (o.dryRun || report.nothingToDo) {
    render(report, "done");
    return report;
  }
  render(report, "plan");
  await confirmTeardown(ctx, o);
  // Holding the lock (this machine's, and every machine's through the Prefect API), the plan is read again
  // always: another run, here or elsewhere, may have changed what it deletes.
  const release = await acquireLocks([...(await l.lifecycle.lockScopes()), `Prefect API ${api.url}`], {
    home: wpHome(ctx.env),
    api,
    waiting: (m) => ctx.info(m),
  });
  try {
    // An interrupted rotation's old credential goes first (a kept IAM user or app would keep it otherwise).
    await finishCredentials(l);
    items = await makePlan(ctx, api, l, o);
    report.plan = items.map(planned);
    await runTeardown(ctx, api, l, items, report, o.json);
  } finally {
    await release();
  }
  render(report, "done");
  return report;
}

async function confirmTeardown(ctx: Ctx, o: DeprovisionOptions): Promise<void> {
  if (ctx.global.yes) return;
  if (!ctx.interactive)
    throw new UsageError(
      "This plan deletes resources and there is no terminal to confirm it.",
      "Pass --yes to delete them, or --dry-run to only show the plan.",
    );
  if (!(await ctx.prompts.confirm(o.confirm ?? "Delete these resources?", false)))
    throw new AbortError("Deprovisioning cancelled; nothing was deleted.");
}

async function runTeardown(
  ctx: Ctx,
  api: PrefectApi,
  l: LoadedPool,
  items: TeardownItem[],
  report: DeprovisionReport,
  json: boolean,
): Promise<void> {
  // Resources kept for other pools that this pool created pass to those pools' records, so the
  // last pool's teardown removes them.
  const handOver = items.filter(
    (i) =>
      i.action === "keep" && i.usedBy?.length && l.record?.record.resources.some((r) => r.step === i.step && r.created),
  );
  if (handOver.length) await handOverTo(api, l.input.otherRecords, handOver);
  let failed = false;
  const deleted = new Set<string>();
  for (const item of items) {
    if (item.action === "gone") deleted.add(item.step);
    if (item.action !== "delete" || !item.run) continue;
    const base = { resource: item.resource, name: item.name, ...(item.id ? { id: item.id } : {}) };
    if (failed) {
      report.results.push({ ...base, status: "skipped" });
      continue;
    }
    try {
      await item.run();
      deleted.add(item.step);
      report.results.push({ ...base, status: "deleted" });
      if (!json) ctx.info(`${ctx.color.err.green("✓")} Deleted ${item.resource} ${item.name}`);
    } catch (err) {
      failed = true;
      report.results.push({ ...base, status: "failed", error: messageOf(err) });
      if (!json) ctx.info(`${ctx.color.err.red("✗")} ${item.resource} ${item.name}: ${messageOf(err)}`);
    }
  }
  // A record that stays forgets what is gone, so the next deprovision plans only what is left.
  const record = l.record;
  if (record && !deleted.has("wp.record") && items.some((i) => i.step === "wp.record" && i.action === "keep")) {
    const rest = record.record.resources.filter((r) => !deleted.has(r.step));
    await writeRecord(api, { ...record.record, resources: rest, updated: new Date().toISOString() }, record.id);
  }
}

/** Marks kept resources as created in the records of the pools that still use them. */
async function handOverTo(api: PrefectApi, records: StoredRecord[], items: TeardownItem[]): Promise<void> {
  for (const r of records) {
    const record: ProvisioningRecord = structuredClone(r.record);
    let changed = false;
    for (const item of items) {
      if (!item.usedBy?.includes(record.work_pool)) continue;
      const entry = record.resources.find((x) => x.step === item.step);
      if (entry && !entry.created) {
        entry.created = true;
        changed = true;
      } else if (!entry) {
        record.resources.push({
          step: item.step,
          kind: item.resource,
          name: item.name,
          ...(item.id ? { id: item.id } : {}),
          created: true,
        });
        changed = true;
      }
    }
    if (changed) await writeRecord(api, record, r.id);
  }
}
