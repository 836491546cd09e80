/**
 * `wp verify` right after `create`: the Contributor grant on the resource group is minutes old, and Azure RBAC
 * caches role assignments (https://learn.microsoft.com/azure/role-based-access-control/troubleshooting), so the
 * block's identity is refused for a while. A refusal is waited out only when wp's own read shows a grant for
 * that identity on the scope that is that new; without one (or with an old one) it is reported at once.
 */
import { waitUntil } from "../../engine/wait.js";
import type { AciContext } from "./context.js";

/** A role assignment newer than this may not be honoured yet. */
export const NEW_GRANT_MS = 30 * 60_000;

/** Whether `clientId`'s service principal holds an assignment at (or above) `scope` made within NEW_GRANT_MS. */
export async function newGrant(e: AciContext, clientId: string, scope: string): Promise<boolean> {
  const { arm, graph } = await e.azure();
  const sp = await graph.findServicePrincipal(clientId);
  if (!sp) return false;
  const grants = await arm.listRoleAssignments(scope, sp.id);
  return grants.some(
    (g) => g.principalId === sp.id && g.createdOn !== undefined && Date.now() - g.createdOn.getTime() < NEW_GRANT_MS,
  );
}

/** Runs `run`; when it is refused and the grant is new, tries again until it is allowed or `deadline` passes. */
export async function whenGranted<T>(
  e: AciContext,
  o: {
    clientId: string;
    scope: string;
    deadline: number;
    note(m: string): void;
    refused(err: unknown): boolean;
    run(): Promise<T>;
  },
): Promise<T> {
  try {
    return await o.run();
  } catch (err) {
    // wp's own identity may not read role assignments: then the refusal stands as it is.
    if (!o.refused(err) || !(await newGrant(e, o.clientId, o.scope).catch(() => false))) throw err;
    // At the deadline waitUntil's error says what was awaited and the last refusal.
    return waitUntil<T>({
      what: `the new role assignment of ${o.clientId} on ${o.scope.split("/").pop()} to take effect`,
      why: "Azure RBAC caches role assignments for several minutes after they are made",
      timeoutMs: Math.max(0, o.deadline - Date.now()),
      intervalMs: e.retry.baseMs ?? 1000,
      note: o.note,
      attempt: async () => {
        try {
          return { done: true, value: await o.run() };
        } catch (again) {
          if (!o.refused(again)) throw again;
          return { done: false, reason: again instanceof Error ? again.message : String(again) };
        }
      },
    });
  }
}
