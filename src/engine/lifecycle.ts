/**
 * `wp status`, `wp deprovision` and `wp rotate-credentials`, provider-independent: the pool, its
 * credentials block (as the template references it) and its record, then the provider's own
 * resources (lifecycle/<provider>.ts, loaded when used). Commands render what these return.
 */

import { providerFor } from "../clouds/registry.js";
import type { Ctx } from "../context.js";
import { AbortError, UsageError, WpError } from "../errors.js";
import { wpHome } from "../home.js";
import type { PrefectApi } from "../prefect/api.js";
import type { WorkPool } from "../prefect/types.js";
import { pyRepr, wpCommand } from "../ui/io.js";
import { CredentialGuard } from "./credential.js";
import { messageOf } from "./engine.js";
import {
  blockRefOf,
  ignoreNotFound,
  type Lifecycle,
  type LifecycleInput,
  type StatusItem,
  type TeardownItem,
} from "./lifecycle-types.js";
import { acquireLocks } from "./lock.js";
import { listRecords, type ProvisioningRecord, readRecord, type StoredRecord, writeRecord } from "./record.js";

export type { StatusItem, TeardownItem } from "./lifecycle-types.js";

interface Loaded {
  pool: WorkPool;
  /** The pool itself is gone (a teardown that deleted it, or a plain `wp delete`); its record is left. */
  poolMissing: boolean;
  record: StoredRecord | null;
  lifecycle: Lifecycle;
  input: LifecycleInput;
  blockRef?: string;
  variable: string;
}

async function load(ctx: Ctx, api: PrefectApi, name: string, flags: Record<string, unknown>): Promise<Loaded | null> {
  const [found, record] = await Promise.all([api.readWorkPool(name), readRecord(api, name)]);
  if (!found && !record) return null;
  const pool: WorkPool =
    found ?? ({ id: "", name, type: record?.record.pool_type ?? "", base_job_template: {} } as unknown as WorkPool);
  const provider = providerFor(pool.type);
  if (!provider) {
    throw new UsageError(
      `Work pool ${pyRepr(name)} is a ${pyRepr(pool.type)} pool; wp manages the infrastructure of provisioned push pools only.`,
      "Types: ecs:push, ecs, azure-container-instance:push, azure-container-instance, cloud-run:push, cloud-run-v2:push, cloud-run, cloud-run-v2, modal:push, coiled:push.",
    );
  }
  const variable = provider.blockVariable;
  const [others, records] = await Promise.all([api.listWorkPools(), listRecords(api)]);
  const ref = blockRefOf(pool, variable);
  let block = ref ? await api.readBlockDocumentById(ref) : null;
  // Without a pool (its teardown deleted it), the record still names the block.
  if (!found && !block) {
    const id = record?.record.resources.find(
      (r) =>
        r.step === "prefect.credentials-block" || (r.step.startsWith("prefect.") && r.step.endsWith("-credentials")),
    )?.id;
    if (id) block = await api.readBlockDocumentById(id);
  }
  const input: LifecycleInput = {
    pool,
    api,
    record,
    otherPools: others.filter((p) => p.name !== name),
    otherRecords: records.filter((r) => r.record.work_pool !== name),
    block,
    flags,
    env: ctx.env,
    guard: new CredentialGuard({ home: wpHome(ctx.env) }),
    note: (m) => ctx.info(ctx.color.err.dim(m)),
  };
  return {
    pool,
    poolMissing: !found,
    record,
    lifecycle: await provider.lifecycle(input),
    input,
    ...(ref ? { blockRef: ref } : {}),
    variable,
  };
}

function notFound(name: string): WpError {
  return new WpError(`Work pool ${pyRepr(name)} not found.`, "Run `wp ls` to list work pools.");
}

export interface StatusReport {
  workPool: string;
  type: string;
  target: string;
  /** record: what was provisioned is known from the pool's record; inferred: from the template, names and tags. */
  source: "record" | "inferred";
  recordUpdated?: string;
  unknowns: string[];
  resources: StatusItem[];
  healthy: boolean;
}

export async function poolStatus(
  ctx: Ctx,
  api: PrefectApi,
  name: string,
  flags: Record<string, unknown>,
): Promise<StatusReport> {
  const l = await load(ctx, api, name, flags);
  if (!l || l.poolMissing) throw notFound(name);
  const fix = wpCommand("provision-infra", name);
  const items: StatusItem[] = [{ resource: "Work pool", name, id: l.pool.id, state: "ok", detail: l.pool.type }];
  if (!l.blockRef)
    items.push({
      resource: "Credentials block",
      name: "(none)",
      state: "missing",
      detail: `the template's ${l.variable} references no block`,
      fix,
    });
  else if (!l.input.block)
    items.push({
      resource: "Credentials block",
      name: "(missing)",
      id: l.blockRef,
      state: "missing",
      detail: `the template's ${l.variable} points at block ${l.blockRef}, which does not exist`,
      fix,
    });
  else
    items.push({
      resource: "Credentials block",
      name: l.input.block.name ?? l.blockRef,
      id: l.blockRef,
      state: "ok",
      detail: `referenced by the template's ${l.variable}`,
    });
  items.push(...(await l.lifecycle.status()));
  return {
    workPool: name,
    type: l.pool.type,
    target: await l.lifecycle.target(),
    source: l.record ? "record" : "inferred",
    ...(l.record?.record.updated ? { recordUpdated: l.record.record.updated } : {}),
    unknowns: l.lifecycle.unknowns(),
    resources: items,
    healthy: items.every((i) => i.state === "ok" || i.state === "not checked"),
  };
}

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

export async function deprovision(
  ctx: Ctx,
  api: PrefectApi,
  name: string,
  flags: Record<string, unknown>,
  o: DeprovisionOptions,
  render: (report: DeprovisionReport, phase: "plan" | "done") => void,
): Promise<DeprovisionReport> {
  const l = await load(ctx, api, name, flags);
  if (!l) {
    const report: DeprovisionReport = {
      workPool: name,
      target: api.label,
      dryRun: o.dryRun,
      unknowns: [],
      plan: [],
      results: [],
      nothingToDo: true,
    };
    render(report, "done");
    return report;
  }
  const makePlan = async (): Promise<TeardownItem[]> => {
    const items = await l.lifecycle.teardown({ force: o.force });
    const recordId = l.record?.id;
    items.push(
      recordId
        ? {
            step: "wp.record",
            resource: "Provisioning record",
            name: `block ${l.record?.record.work_pool ?? name}`,
            id: recordId,
            action: "delete",
            run: () => api.deleteBlockDocument(recordId).catch(ignoreNotFound),
          }
        : { step: "wp.record", resource: "Provisioning record", name, action: "gone" },
    );
    if (l.poolMissing) items.push({ step: "prefect.work-pool", resource: "Work pool", name, action: "gone" });
    else if (o.keepPool)
      items.push({
        step: "prefect.work-pool",
        resource: "Work pool",
        name,
        id: l.pool.id,
        action: "keep",
        reason: "--keep-pool",
      });
    else
      items.push({
        step: "prefect.work-pool",
        resource: "Work pool",
        name,
        id: l.pool.id,
        action: "delete",
        run: () => api.deleteWorkPool(name).catch(ignoreNotFound),
      });
    return items;
  };
  let items = await makePlan();
  const target = await l.lifecycle.target();
  const report: DeprovisionReport = {
    workPool: name,
    target,
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
  if (!ctx.global.yes) {
    if (!ctx.interactive)
      throw new UsageError(
        "This plan deletes resources and there is no terminal to confirm it.",
        "Pass --yes to delete them, or --dry-run to only show the plan.",
      );
    if (!(await ctx.prompts.confirm(o.confirm ?? "Delete these resources?", false)))
      throw new AbortError("Deprovisioning cancelled; nothing was deleted.");
  }
  let waited = false;
  const release = await acquireLocks([...(await l.lifecycle.lockScopes()), `Prefect API ${api.url}`], {
    home: wpHome(ctx.env),
    waiting: (m) => {
      waited = true;
      ctx.info(m);
    },
  });
  try {
    if (waited) {
      items = await makePlan();
      report.plan = items.map(planned);
    }
    // Resources kept for other pools that this pool created pass to those pools' records, so the
    // last pool's teardown removes them.
    const handOver = items.filter(
      (i) =>
        i.action === "keep" &&
        i.usedBy?.length &&
        l.record?.record.resources.some((r) => r.step === i.step && r.created),
    );
    if (handOver.length) await handOverTo(api, l.input.otherRecords, handOver);
    let failed = false;
    for (const item of items) {
      if (item.action !== "delete" || !item.run) continue;
      const base = { resource: item.resource, name: item.name, ...(item.id ? { id: item.id } : {}) };
      if (failed) {
        report.results.push({ ...base, status: "skipped" });
        continue;
      }
      try {
        await item.run();
        report.results.push({ ...base, status: "deleted" });
        if (!o.json) ctx.info(`${ctx.color.err.green("✓")} Deleted ${item.resource} ${item.name}`);
      } catch (err) {
        failed = true;
        report.results.push({ ...base, status: "failed", error: messageOf(err) });
        if (!o.json) ctx.info(`${ctx.color.err.red("✗")} ${item.resource} ${item.name}: ${messageOf(err)}`);
      }
    }
  } finally {
    release();
  }
  render(report, "done");
  return report;
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

export async function rotateCredentials(ctx: Ctx, api: PrefectApi, name: string, flags: Record<string, unknown>) {
  const l = await load(ctx, api, name, flags);
  if (!l || l.poolMissing) throw notFound(name);
  if (!l.input.block) {
    throw new WpError(
      `Work pool ${pyRepr(name)} references no credentials block (the template's ${l.variable}).`,
      `Run \`${wpCommand("provision-infra", name)}\` to create one.`,
    );
  }
  if (!ctx.global.yes) {
    if (!ctx.interactive)
      throw new UsageError(
        "Rotating credentials changes the cloud and the block, and there is no terminal to confirm it.",
        "Pass --yes to rotate.",
      );
    if (!(await ctx.prompts.confirm(`Rotate the credentials in block ${pyRepr(l.input.block.name ?? "")}?`, true)))
      throw new AbortError("Rotation cancelled; nothing was changed.");
  }
  const release = await acquireLocks([...(await l.lifecycle.lockScopes()), `Prefect API ${api.url}`], {
    home: wpHome(ctx.env),
    waiting: (m) => ctx.info(m),
  });
  try {
    return { workPool: name, ...(await l.lifecycle.rotate()) };
  } finally {
    release();
  }
}

/** `wp verify`: runs a minimal task with the block's credentials (ECS, Cloud Run, ACI). */
export async function verifyPool(
  ctx: Ctx,
  api: PrefectApi,
  name: string,
  flags: Record<string, unknown>,
  o: import("./verify-run.js").VerifyOptions,
): Promise<import("./verify-run.js").VerifyReport> {
  const l = await load(ctx, api, name, flags);
  if (!l || l.poolMissing) throw notFound(name);
  const verify = providerFor(l.pool.type)?.verify;
  if (verify) return verify(l.input, o);
  throw new UsageError(
    `wp verify runs a test task on ECS, Cloud Run and Azure Container Instances pools; ${pyRepr(l.pool.type)} pools run on a service wp cannot start work on.`,
    `Use \`${wpCommand("status", name)}\` to check the pool's block.`,
  );
}
