/**
 * One resource wp manages, written as a Terraform provider writes one: a read (`check`: exists /
 * missing / drifted, and what differs), a create-or-update (`apply`), a delete, what it depends on
 * (`after`) and the record entry it leaves (its step id, kind, name and id). Provisioning applies what
 * is missing or drifted in dependency order (engine.ts); `status` reads every resource and reports
 * (statusItems); `deprovision` deletes, in reverse dependency order, what this pool owns and no other
 * pool uses (teardownPlan). Each cloud's folder holds its resources; this file holds the walks.
 */
import type { WorkPool } from "../prefect/types.js";
import { wpCommand } from "../ui/io.js";
import { blockRefOf, decideTeardown, type StatusItem, stringDefault, type TeardownItem } from "./lifecycle-types.js";
import type { RecordResource, StoredRecord } from "./record.js";
import type { Step, StepContext, StepState } from "./types.js";

export interface TeardownContext extends StepContext {
  /** --force: also delete what holds data (a registry's images). */
  force: boolean;
  /** This pool's record entry for the resource (undefined: no record, or the record does not name it). */
  entry: RecordResource | undefined;
  otherPools: WorkPool[];
  otherRecords: StoredRecord[];
  /** Clears the Prefect profile's Docker build namespace when it is `namespace` (a Docker login's teardown). */
  forgetDockerNamespace(namespace: string): Promise<void>;
}

/** What a teardown needs to know beyond the read. All optional. */
export interface TeardownFacts {
  /** wp's tag is on the resource: counts as created by wp when no record entry says otherwise. */
  tagged?: boolean;
  /** Pools that use it beyond what the records and template variables show. */
  users?: string[];
  /** A reason to keep it for now although this pool owns it (a registry that holds images, without --force). */
  keep?: string;
}

export interface Resource extends Step {
  /** The job template variable whose default names this resource (by id or name): another pool with the same value uses it. */
  templateVariable?: string;
  /** The command that repairs what `check` reports missing or drifted (default `provision-infra`). */
  repair?: "provision-infra" | "rotate-credentials";
  /** Read-only facts for the teardown decision. */
  teardownFacts?(ctx: TeardownContext, state: StepState): Promise<TeardownFacts>;
  /** Deletes the resource; idempotent (already gone is success). Absent: wp never deletes it (e.g. a default VPC). */
  delete?(ctx: TeardownContext, state: StepState): Promise<void>;
}

/** `check` read as status: exists → ok; update → drift (what differs); create → missing. */
export function statusItem(pool: string, r: Resource, state: StepState): StatusItem {
  const base = { resource: r.resource, name: state.name ?? r.name, ...(state.id ? { id: state.id } : {}) };
  const fix = wpCommand(state.repair ?? r.repair ?? "provision-infra", pool);
  const detail = state.detail ? { detail: state.detail } : {};
  if (state.action === "exists") return { ...base, state: state.unchecked ? "not checked" : "ok", ...detail };
  if (state.action === "update") return { ...base, state: "drift", ...detail, fix };
  return { ...base, state: "missing", ...(state.detail ? { detail: `would create: ${state.detail}` } : {}), fix };
}

/** The resources in reverse dependency order: whatever depends on a resource comes before it. */
export function reverseOrder<T extends Step>(resources: T[]): T[] {
  const done = new Set<string>();
  const out: T[] = [];
  const visit = (r: T, path: Set<string>) => {
    if (done.has(r.id) || path.has(r.id)) return;
    path.add(r.id);
    // Everything that names r in `after` is deleted first.
    for (const d of resources) if (d.after?.includes(r.id)) visit(d, path);
    done.add(r.id);
    out.push(r);
  };
  for (const r of [...resources].reverse()) visit(r, new Set());
  return out;
}

/** Other pools that use a resource: their records name the same step with the same id or name, or their template names it. */
export function usersOf(r: Resource, state: StepState, ctx: TeardownContext): string[] {
  const name = state.name ?? r.name;
  const keys = [state.id, name].filter((k): k is string => Boolean(k));
  // The same resource: the same id when both have one (one name may live in two regions), else the same name.
  const same = (x: RecordResource) => x.step === r.id && (state.id && x.id ? x.id === state.id : x.name === name);
  const out = new Set<string>();
  for (const rec of ctx.otherRecords) if (rec.record.resources.some(same)) out.add(rec.record.work_pool);
  if (r.templateVariable) {
    for (const p of ctx.otherPools) {
      const v = stringDefault(p, r.templateVariable) ?? blockRefOf(p, r.templateVariable);
      if (v && keys.includes(v)) out.add(p.name);
    }
  }
  return [...out];
}

/**
 * The teardown of a pool's resources, in reverse dependency order: `gone` when the read finds it
 * missing, `keep` when wp did not create it, another pool uses it or its facts give a reason,
 * else `delete`. Resources without `delete` are never listed.
 */
export async function teardownPlan(
  resources: Resource[],
  states: Map<string, StepState>,
  base: Omit<TeardownContext, "entry">,
  record: StoredRecord | null,
): Promise<TeardownItem[]> {
  const items: TeardownItem[] = [];
  for (const r of reverseOrder(resources)) {
    const del = r.delete;
    const state = states.get(r.id);
    if (!del || !state) continue;
    const entry = record?.record.resources.find((x) => x.step === r.id);
    const ctx: TeardownContext = { ...base, entry };
    const exists = state.action !== "create";
    const facts = exists && r.teardownFacts ? await r.teardownFacts(ctx, state) : {};
    const created = entry ? entry.created : facts.tagged === true;
    const users = [...new Set([...usersOf(r, state, ctx), ...(facts.users ?? [])])];
    const id = state.id ?? entry?.id;
    items.push(
      decideTeardown(
        { step: r.id, resource: r.resource, name: state.name ?? r.name, ...(id ? { id } : {}) },
        exists,
        created,
        users,
        () => del(ctx, state),
        facts.keep,
      ),
    );
  }
  return items;
}
