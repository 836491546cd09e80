/**
 * The service account and its two project roles. The service account is named by the template's
 * `service_account_name` (its email); other pools' blocks that hold keys of it keep it alive. The
 * roles are read-modify-written with the policy's etag; on teardown only this member is removed.
 */

import { stringDefault } from "../../engine/lifecycle-types.js";
import type { Resource, TeardownContext } from "../../engine/resource.js";
import type { StepContext } from "../../engine/types.js";
import { sleep } from "../../engine/wait.js";
import { CloudError } from "../../errors.js";
import { BLOCK_TYPE, type GcpContext, ROLES, SERVICE_ACCOUNT_DISPLAY_NAME, serviceAccountEmail } from "./names.js";
import { gcpCode, type Policy, type ServiceAccount } from "./sdk.js";
import { SERVICE_ACCOUNT_WAIT, settle } from "./waits.js";

/**
 * The service account, read once per check round: its own check and its roles' check (which must
 * tell a removed binding from an account not made yet) each take the read once.
 */
function readServiceAccount(c: GcpContext): Promise<ServiceAccount | null> {
  let memo = c.reads.serviceAccount;
  if (!memo) {
    memo = { read: c.gcp().then((gcp) => gcp.getServiceAccount(serviceAccountEmail(c))), left: 2 };
    c.reads.serviceAccount = memo;
  }
  memo.left -= 1;
  if (memo.left <= 0) delete c.reads.serviceAccount;
  return memo.read as Promise<ServiceAccount | null>;
}

/** Pools beyond the records that use the service account: their template runs as it, or their block holds a key of it. */
async function serviceAccountUsers(c: GcpContext, ctx: TeardownContext): Promise<string[]> {
  const email = serviceAccountEmail(c);
  const out = new Set(
    ctx.otherPools.filter((p) => stringDefault(p, "service_account_name") === email).map((p) => p.name),
  );
  const own = c.names.block;
  for (const d of await c.prefect.listBlockDocuments(BLOCK_TYPE)) {
    if (!d.name || d.name === own) continue;
    const full = await c.prefect.readBlockDocument(BLOCK_TYPE, d.name, true);
    const info = (full?.data as { service_account_info?: { client_email?: unknown } } | undefined)
      ?.service_account_info;
    if (info?.client_email !== email) continue;
    const ref = (p: (typeof ctx.otherPools)[number]) => JSON.stringify(p.base_job_template ?? {}).includes(d.id);
    out.add(ctx.otherPools.find(ref)?.name ?? `block ${d.name}`);
  }
  return [...out];
}

async function createServiceAccount(c: GcpContext, ctx: StepContext, exists: boolean) {
  const gcp = await c.gcp();
  const email = serviceAccountEmail(c);
  let sa = exists ? await gcp.getServiceAccount(email) : null;
  let created = false;
  if (!sa) {
    const made = await gcp.createServiceAccount(c.names.serviceAccount, SERVICE_ACCOUNT_DISPLAY_NAME);
    created = made !== null;
    // A new service account is not visible at once: later steps (roles, key) need it, so wait here, once.
    const visible = async () => {
      const found = await gcp.getServiceAccount(email);
      if (!found) throw new CloudError(`Service account ${email} is not visible yet`, "NOT_FOUND");
      return found;
    };
    const why = (err: unknown) => (gcpCode(err) === "NOT_FOUND" ? "not found yet" : null);
    sa = await settle(visible, why, {
      what: `service account ${email} to become visible`,
      ...SERVICE_ACCOUNT_WAIT,
      intervalMs: c.retryMs,
      note: ctx.note,
    });
  }
  ctx.outputs.set("serviceAccountEmail", sa.email ?? email);
  return { action: created ? ("create" as const) : ("exists" as const), id: sa.email ?? email };
}

export function serviceAccountStep(c: GcpContext): Resource {
  const email = serviceAccountEmail(c);
  return {
    id: "gcp.service-account",
    resource: "Service account",
    name: c.names.serviceAccount,
    target: "gcp",
    templateVariable: "service_account_name",
    async check(ctx) {
      const sa = await readServiceAccount(c);
      if (!sa) return { action: "create", name: email, detail: `${SERVICE_ACCOUNT_DISPLAY_NAME} (${email})` };
      ctx.outputs.set("serviceAccountEmail", sa.email ?? email);
      if (sa.disabled) return { action: "update", name: email, id: sa.email ?? email, detail: "disabled" };
      return { action: "exists", name: email, id: sa.email ?? email };
    },
    async apply(ctx, state) {
      if (state.action !== "update") return createServiceAccount(c, ctx, state.action !== "create");
      ctx.note(`Enabling service account ${email}...`);
      await (await c.gcp()).enableServiceAccount(email);
      return { action: "update", id: email };
    },
    teardownFacts: async (ctx) => ({ users: await serviceAccountUsers(c, ctx) }),
    async delete() {
      await (await c.gcp()).deleteServiceAccount(email);
    },
  };
}

/** Roles of ROLES the member lacks in the policy (only unconditional bindings count). */
export function missingRoles(policy: Policy, member: string): string[] {
  return ROLES.filter(
    (role) => !(policy.bindings ?? []).some((b) => b.role === role && !b.condition && b.members?.includes(member)),
  );
}

/** The policy with the member added to each of `roles` (an unconditional binding per role). */
export function withMember(policy: Policy, member: string, roles: string[]): Policy {
  const bindings = structuredClone(policy.bindings ?? []);
  for (const role of roles) {
    const b = bindings.find((x) => x.role === role && !x.condition);
    if (b) b.members = [...(b.members ?? []), member];
    else bindings.push({ role, members: [member] });
  }
  const conditional = bindings.some((b) => b.condition);
  return { ...policy, bindings, version: conditional ? 3 : (policy.version ?? 1) };
}

/** The policy without the member in ROLES' unconditional bindings (bindings left empty are dropped). */
export function withoutMember(policy: Policy, member: string): Policy {
  const bindings = (policy.bindings ?? [])
    .map((b) =>
      ROLES.includes(b.role ?? "") && !b.condition
        ? { ...b, members: (b.members ?? []).filter((m) => m !== member) }
        : b,
    )
    .filter((b) => (b.members ?? []).length > 0);
  return { ...policy, bindings };
}

async function grantRoles(c: GcpContext, ctx: StepContext) {
  const gcp = await c.gcp();
  const email = serviceAccountEmail(c);
  const member = `serviceAccount:${email}`;
  // Read-modify-write with the etag; a concurrent change (ABORTED) means read again and redo;
  // a service account not yet visible to IAM policies is waited for.
  let told = false;
  const readModifyWrite = async () => {
    const policy = await gcp.getIamPolicy();
    const missing = missingRoles(policy, member);
    if (missing.length === 0) return { action: "exists" as const, id: member };
    if (!told) ctx.note(`Granting ${missing.join(", ")} to ${email} in project ${c.project}...`);
    told = true;
    const stored = await gcp.setIamPolicy(withMember(policy, member, missing));
    const still = missingRoles(stored, member);
    if (still.length) throw new CloudError(`The IAM policy was stored without ${still.join(", ")}.`, "ABORTED");
    return { action: "create" as const, id: member };
  };
  const untilStored = async () => {
    for (let i = 1; ; i++) {
      try {
        return await readModifyWrite();
      } catch (err) {
        if (gcpCode(err) !== "ABORTED" || i >= 8) throw err;
        ctx.note("The project's IAM policy changed meanwhile (etag conflict); reading it again...");
        await sleep(Math.min(c.retryMs * 2 ** i, 15_000));
      }
    }
  };
  return settle(
    untilStored,
    (err) =>
      gcpCode(err) === "INVALID_ARGUMENT" && err instanceof Error && /does not exist/.test(err.message)
        ? `service account ${email} is not visible to IAM policies yet`
        : null,
    {
      what: `service account ${email} to become visible to IAM policies`,
      ...SERVICE_ACCOUNT_WAIT,
      intervalMs: c.retryMs,
      note: ctx.note,
    },
  );
}

async function revokeRoles(c: GcpContext, member: string): Promise<void> {
  const gcp = await c.gcp();
  for (let i = 0; i < 5; i++) {
    const current = await gcp.getIamPolicy();
    if (missingRoles(current, member).length === ROLES.length) return;
    try {
      await gcp.setIamPolicy(withoutMember(current, member));
      return;
    } catch (err) {
      if (gcpCode(err) !== "ABORTED") throw err;
    }
  }
  throw new CloudError("The project's IAM policy kept changing; run again.", "ABORTED");
}

export function iamBindingsStep(c: GcpContext): Resource {
  const email = serviceAccountEmail(c);
  const member = `serviceAccount:${email}`;
  // Named by the member: every pool's bindings are of the same roles, so the roles alone name nothing.
  const name = `${ROLES.join(", ")} of ${email}`;
  return {
    id: "gcp.iam-bindings",
    resource: "Project IAM roles",
    name,
    target: "gcp",
    after: ["gcp.service-account"],
    async check() {
      const gcp = await c.gcp();
      const [policy, sa] = await Promise.all([gcp.getIamPolicy(), readServiceAccount(c)]);
      const missing = missingRoles(policy, member);
      if (missing.length === 0) return { action: "exists", name, id: member };
      if (!sa) return { action: "create", name, detail: `grant ${missing.join(", ")}` };
      // The service account exists without (some of) its roles: drift (a binding removed).
      return { action: "update", name, id: member, detail: `${email} lacks ${missing.join(", ")}` };
    },
    apply: (ctx) => grantRoles(c, ctx),
    teardownFacts: async (ctx) => ({ users: await serviceAccountUsers(c, ctx) }),
    delete: () => revokeRoles(c, member),
  };
}
