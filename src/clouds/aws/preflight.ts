/**
 * The permission preflight for ECS provisioning: before any write, iam:SimulatePrincipalPolicy
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html) on the
 * caller for the exact actions the plan's creates and updates need, on the pool's resources; every
 * refused action is listed at once with what grants it. The simulation covers IAM users and roles
 * only ("The entity can be an IAM user, group, or role"): the root user, federated users, a role
 * whose ARN cannot be read, and a caller not allowed to simulate are said once (`unchecked`), and the
 * run goes on.
 */
import type { MissingPermission, PermissionReport } from "../../engine/permissions.js";
import type { StepState } from "../../engine/types.js";
import { grantedBy, type Need, type Scope, stepNeeds } from "./grants.js";
import type { EcsContext } from "./names.js";
import { awsErrorCode } from "./sdk.js";

const DENIED = new Set(["AccessDenied", "AccessDeniedException"]);

/** The ARN to simulate for the caller, or why there is none. */
async function principal(e: EcsContext, caller: string): Promise<{ arn: string } | { unchecked: string }> {
  const [, partition, , , account, resource = ""] = caller.split(":");
  if (/^user\//.test(resource) && caller.startsWith(`arn:${partition}:iam:`)) return { arn: caller };
  if (resource === "root")
    return {
      unchecked: "you are the account's root user, whom IAM policies do not limit (only organization SCPs can)",
    };
  const role = /^assumed-role\/([^/]+)\//.exec(resource)?.[1];
  if (role) {
    // The session's ARN lacks the role's path; the role's own ARN has it. Session policies are not simulated.
    try {
      const found = await (await (await e.aws()).iam()).getRole(role);
      if (found?.Arn) return { arn: found.Arn };
    } catch (err) {
      if (!DENIED.has(awsErrorCode(err) ?? "")) throw err;
    }
    return { unchecked: `your role ${role} could not be read (iam:GetRole) to simulate its policies` };
  }
  return {
    unchecked: `${caller} is not an IAM user or role of account ${account}, and only those can be simulated`,
  };
}

/** The actions the plan's writes need, grouped by the resource they act on. */
export function planNeeds(plan: ReadonlyMap<string, StepState>, scope: Scope): Map<string, string[]> {
  const needs: Need[] = [];
  for (const [step, state] of plan)
    if (state.action === "create" || state.action === "update") needs.push(...stepNeeds(step, state.action, scope));
  const by = new Map<string, string[]>();
  for (const n of needs) {
    const list = by.get(n.resource) ?? [];
    if (!list.includes(n.action)) list.push(n.action);
    by.set(n.resource, list);
  }
  return by;
}

export async function ecsPreflight(e: EcsContext, plan: ReadonlyMap<string, StepState>): Promise<PermissionReport> {
  const s = await e.aws();
  const { accountId, arn: caller } = await s.identity();
  const partition = caller.split(":")[1] || "aws";
  const needs = planNeeds(plan, { partition, account: accountId, region: s.region, names: e.names });
  if (needs.size === 0) return { missing: [] };
  const who = await principal(e, caller);
  if ("unchecked" in who) return { missing: [], unchecked: `${who.unchecked}.` };
  const iam = await s.iam();
  try {
    const results = await Promise.all(
      [...needs].map(async ([resource, actions]) => ({
        resource,
        decisions: await iam.simulate(who.arn, actions, resource),
      })),
    );
    const missing: MissingPermission[] = [];
    for (const { resource, decisions } of results)
      for (const d of decisions)
        if (d.decision !== "allowed")
          missing.push({ action: d.action, grantedBy: grantedBy(d.action), ...(resource !== "*" ? { resource } : {}) });
    return { missing };
  } catch (err) {
    if (DENIED.has(awsErrorCode(err) ?? ""))
      return { missing: [], unchecked: `your identity may not call iam:SimulatePrincipalPolicy on ${who.arn}.` };
    // The check is a courtesy before the writes; a simulation that fails otherwise does not stop the run.
    return { missing: [], unchecked: `the simulation failed (${err instanceof Error ? err.message : String(err)}).` };
  }
}
