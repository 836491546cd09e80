/**
 * Loading a pool for `wp status`, `wp verify` and `wp rotate-credentials` (and `teardown.ts`): the
 * pool, its record, the names and settings the record holds, and the provider's resources built from
 * them in read mode. Status reads those resources with the same code provisioning uses; the
 * provider's lifecycle (loaded when used) answers rotation and what an interrupted verify left.
 */

import type { Ctx } from "../context.js";
import { AbortError, AuthError, UsageError, WpError } from "../errors.js";
import { wpHome } from "../home.js";
import type { PrefectApi } from "../prefect/api.js";
import type { WorkPool } from "../prefect/types.js";
import { pyRepr, wpCommand } from "../ui/io.js";
import { commandGuard } from "./credential.js";
import { messageOf } from "./engine.js";
import { blockRefOf, type Lifecycle, type LifecycleInput, type StatusItem } from "./lifecycle-types.js";
import { acquireLocks } from "./lock.js";
import { type Provider, withRecordedFlags } from "./provider.js";
import { listRecords, readRecord, type StoredRecord } from "./record.js";
import { type Resource, statusItem } from "./resource.js";
import { checkPhases, poolPhases } from "./run.js";
import type { StepContext } from "./types.js";
import { VerifyJournal } from "./verify-journal.js";
import type { VerifyOptions, VerifyReport } from "./verify-run.js";

export type { StatusItem, TeardownItem } from "./lifecycle-types.js";

interface Loaded {
  pool: WorkPool;
  /** The pool itself is gone (a teardown that deleted it, or a plain `wp delete`); its record is left. */
  poolMissing: boolean;
  record: StoredRecord | null;
  provider: Provider;
  lifecycle: Lifecycle;
  input: LifecycleInput;
  blockRef?: string;
  variable: string;
}

/** The providers that serve pool types (the commands pass the clouds' registry). */
export type ProviderLookup = readonly Provider[];

/** The names a pool's resources have: the record's, else what its template shows, else the defaults. */
function poolNames(provider: Provider, pool: WorkPool, record: StoredRecord | null): Record<string, string> {
  const names: Record<string, string> = {};
  for (const n of provider.names) names[n.key] = n.defaultFor(pool.name);
  const known =
    record && Object.keys(record.record.names).length ? record.record.names : provider.namesFromTemplate?.(pool);
  return { ...names, ...(known ?? {}) };
}

async function load(
  ctx: Ctx,
  api: PrefectApi,
  find: ProviderLookup,
  name: string,
  flags: Record<string, unknown>,
): Promise<Loaded | null> {
  const [found, record] = await Promise.all([api.readWorkPool(name), readRecord(api, name)]);
  if (!found && !record) return null;
  const pool: WorkPool =
    found ?? ({ id: "", name, type: record?.record.pool_type ?? "", base_job_template: {} } as unknown as WorkPool);
  const provider = find.find((p) => p.types.includes(pool.type));
  if (!provider) {
    throw new UsageError(
      `Work pool ${pyRepr(name)} is a ${pyRepr(pool.type)} pool; wp manages the infrastructure of provisioned push pools only.`,
      `Types: ${find.flatMap((p) => p.types).join(", ")}.`,
    );
  }
  const variable = provider.blockVariable;
  const resolved = withRecordedFlags(provider, record?.record.context, flags, {
    overwrite: false,
    hint: (flag) => `Drop ${flag}: wp reads the pool's resources where the record says they are.`,
  });
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
  const note = (m: string) => ctx.info(ctx.color.err.dim(m));
  const guard = commandGuard(ctx);
  const names = poolNames(provider, pool, record);
  // Bound to the user's own block (`--credentials-block`): no record, and not the block provisioning names for it.
  const ownCredentials = !record && Boolean(block?.name) && block?.name !== names.block;
  // A pool without recorded names uses the block its template references.
  if (!record?.record.names.block && block?.name) names.block = block.name;
  const provisioner = await provider.load({
    mode: "read",
    poolName: name,
    names,
    flags: resolved,
    env: ctx.env,
    prefect: api,
    interactive: false,
    prompts: ctx.prompts,
    note,
    ...(ctx.global.debug ? { debug: (line: string) => ctx.info(ctx.color.err.dim(line)) } : {}),
    guard,
  });
  const input: LifecycleInput = {
    pool,
    api,
    record,
    otherPools: others.filter((p) => p.name !== name),
    otherRecords: records.filter((r) => r.record.work_pool !== name),
    block,
    ownCredentials,
    blockVariable: variable,
    flags: resolved,
    env: ctx.env,
    guard,
    note,
    names,
    provisioner,
    journal: new VerifyJournal(wpHome(ctx.env)),
  };
  return {
    pool,
    poolMissing: !found,
    record,
    provider,
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
  /**
   * record: what was provisioned is known from the pool's record; inferred: from the template, names and tags;
   * own-credentials: bound to a block of the user's own, for which wp made nothing.
   */
  source: "record" | "inferred" | "own-credentials";
  recordUpdated?: string;
  unknowns: string[];
  resources: StatusItem[];
  healthy: boolean;
}

export async function poolStatus(
  ctx: Ctx,
  api: PrefectApi,
  find: ProviderLookup,
  name: string,
  flags: Record<string, unknown>,
): Promise<StatusReport> {
  const l = await load(ctx, api, find, name, flags);
  if (!l) throw notFound(name);
  if (l.poolMissing) {
    const n = l.record?.record.resources.length ?? 0;
    throw new WpError(
      `Work pool ${pyRepr(name)} not found; its provisioning record names ${n} resource${n === 1 ? "" : "s"} (an interrupted create?).`,
      `Run the create again to finish it, or \`${wpCommand("deprovision", name)}\` to delete what the record names.`,
    );
  }
  const items = l.input.ownCredentials ? await ownCredentialStatus(ctx, l) : await resourceStatus(l);
  items.push(...(await verifyLeftovers(l)));
  return {
    workPool: name,
    type: l.pool.type,
    target: await l.lifecycle.target(),
    source: l.input.ownCredentials ? "own-credentials" : l.record ? "record" : "inferred",
    ...(l.record?.record.updated ? { recordUpdated: l.record.record.updated } : {}),
    unknowns: l.input.ownCredentials ? [] : l.lifecycle.unknowns(),
    resources: items,
    healthy: items.every((i) => i.state === "ok" || i.state === "not checked"),
  };
}

/**
 * A pool bound to a block of the user's own: wp made no resource for it, so the pool and whether the block's
 * credential still authenticates (as `wp block create` checks it) are all there is to report.
 */
async function ownCredentialStatus(ctx: Ctx, l: Loaded): Promise<StatusItem[]> {
  const block = l.input.block;
  const blockName = block?.name ?? "";
  const pool: StatusItem = { resource: "Work pool", name: l.pool.name, id: l.pool.id, state: "ok" };
  const item = { resource: "Credentials block", name: blockName, ...(block ? { id: block.id } : {}) };
  if (!block || !l.provider.blockIdentity)
    return [pool, { ...item, state: "not checked", detail: `wp cannot check ${l.provider.blockType} credentials` }];
  const full = await l.input.api.readBlockDocumentById(block.id, true);
  try {
    const who = await l.provider.blockIdentity((full?.data ?? {}) as Record<string, unknown>, ctx.env);
    return [pool, { ...item, state: "ok", detail: `bound with --credentials-block; authenticates as ${who}` }];
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    const detail = `${err.message.replace(/\.$/, "")} (a credential wp did not make)`;
    return [pool, { ...item, state: "drift", detail, fix: ownCredentialFix(l, blockName) }];
  }
}

/** How a user replaces a credential wp did not make (the command quoted with `q`). */
function ownCredentialFix(l: Loaded, block: string, q = ""): string {
  const command = wpCommand("block", "create", l.provider.blockType, block, "--overwrite");
  return `make a new credential where this one was made, then ${q}${command}${q}`;
}

/** Reads every resource of the pool with the same modules provisioning applies (resource.ts). */
async function resourceStatus(l: Loaded): Promise<StatusItem[]> {
  const { phases, ctx } = await readPool(l);
  const states = await checkPhases(phases, ctx, 8);
  const items = phases.flat().flatMap((r) => {
    const state = states.get(r.id);
    // The block type is shared by every pool: reported only when it needs registering.
    if (!state || (r.id === "prefect.block-type" && state.action === "exists")) return [];
    return [statusItem(l.pool.name, r, state)];
  });
  // The pool first, as a report about the pool reads.
  return [...items.filter((i) => i.resource === "Work pool"), ...items.filter((i) => i.resource !== "Work pool")];
}

/** The pool's resources in their phases, and a read context, after the provider's read-only preflight. */
export async function readPool(l: Loaded): Promise<{ phases: Resource[][]; ctx: StepContext }> {
  await l.input.provisioner.targets();
  const phases = poolPhases(l.provider, l.input.provisioner, {
    poolName: l.pool.name,
    type: l.pool.type,
    existing: l.pool,
    mayUpdate: true,
    paused: l.pool.is_paused ?? false,
    baseTemplate: l.pool.base_job_template ?? {},
    written: { pool: null },
  });
  return { phases, ctx: { prefect: l.input.api, outputs: new Map(), note: l.input.note } };
}

export async function rotateCredentials(
  ctx: Ctx,
  api: PrefectApi,
  find: ProviderLookup,
  name: string,
  flags: Record<string, unknown>,
) {
  const l = await load(ctx, api, find, name, flags);
  if (!l || l.poolMissing) throw notFound(name);
  if (!l.input.block) {
    throw new WpError(
      `Work pool ${pyRepr(name)} references no credentials block (the template's ${l.variable}).`,
      `Run \`${wpCommand("provision-infra", name)}\` to create one.`,
    );
  }
  if (l.input.ownCredentials) {
    const block = l.input.block.name ?? l.input.block.id;
    throw new UsageError(
      `Work pool ${pyRepr(name)} uses block ${pyRepr(block)}, which wp did not make; wp rotates only the credentials it made.`,
      `${ownCredentialFix(l, block, "`").replace(/^m/, "M")}.`,
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
    api,
    waiting: (m) => ctx.info(m),
  });
  try {
    return { workPool: name, ...(await l.lifecycle.rotate()) };
  } finally {
    await release();
  }
}

/** `wp verify`: first removes what an interrupted verify left, then runs a minimal task with the block's credentials. */
export async function verifyPool(
  ctx: Ctx,
  api: PrefectApi,
  find: ProviderLookup,
  name: string,
  flags: Record<string, unknown>,
  o: VerifyOptions,
): Promise<VerifyReport> {
  const l = await load(ctx, api, find, name, flags);
  if (!l || l.poolMissing) throw notFound(name);
  const verify = l.provider.verify;
  if (!verify)
    throw new UsageError(
      `wp verify runs a test task on ${find
        .filter((p) => p.verify)
        .map((p) => p.title)
        .join(", ")} pools; ${pyRepr(l.pool.type)} pools run on a service wp cannot start work on.`,
      `Use \`${wpCommand("status", name)}\` to check the pool's block.`,
    );
  if (!o.dryRun) {
    await removeLeftovers(l);
    await finishCredentials(l);
  }
  return verify(l.input, o);
}

/**
 * What an interrupted rotation or mint left is finished by verify too (status only names it). A failure here
 * does not stop the verify: it is said, and the next rotate-credentials, provision-infra or verify retries it.
 */
export async function finishCredentials(l: Loaded): Promise<void> {
  await l.lifecycle.finishCredentials?.().catch((err: unknown) => {
    if (err instanceof AbortError) throw err;
    l.input.note(
      `Could not finish what an interrupted run left of the block's credential (${messageOf(err)}); ` +
        `\`${wpCommand("rotate-credentials", l.pool.name)}\` retries it.`,
    );
  });
}

/** What interrupted verifies left, as status items (`wp verify` or `wp deprovision` removes them). */
async function verifyLeftovers(l: Loaded): Promise<StatusItem[]> {
  return l.input.journal.leftovers(l.pool.name).map((e) => ({
    resource: e.kind,
    name: e.name,
    ...(e.id ? { id: e.id } : {}),
    state: "drift" as const,
    detail: `left by a wp verify interrupted at ${e.started}`,
    fix: wpCommand("verify", l.pool.name),
  }));
}

/** Deletes what interrupted verifies left (idempotent), then forgets them. */
export async function removeLeftovers(l: Loaded): Promise<void> {
  const remove = l.lifecycle.removeLeftover;
  if (!remove) return;
  for (const e of l.input.journal.leftovers(l.pool.name)) {
    l.input.note(`Deleting ${e.kind} ${e.name}, left by an interrupted wp verify...`);
    await remove(e);
    l.input.journal.done(e);
  }
}

export type { Loaded as LoadedPool };
export { load as loadPool, notFound };
