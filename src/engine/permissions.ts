/**
 * Permission preflight, for every cloud: before any write, the provisioner lists what the plan's
 * writes need that the caller may not do, all at once, each with the role or policy that grants it;
 * and `wp create … --print-permissions` prints the least-privilege grant an admin must give.
 */
import { AuthError } from "../errors.js";

export interface MissingPermission {
  /** The cloud's permission/action, e.g. "iam:CreateUser", "iam.serviceAccounts.create", "Application.ReadWrite.All". */
  action: string;
  /** What grants it, e.g. "the policy printed by --print-permissions", "roles/iam.serviceAccountAdmin". */
  grantedBy: string;
  /** Where it is needed, when narrower than the account/project (an ARN, a resource group). */
  resource?: string;
}

export interface PermissionReport {
  missing: MissingPermission[];
  /** Set when the check could not be made (e.g. the caller may not simulate policies): said once, then the run goes on. */
  unchecked?: string;
}

/** The least-privilege grant for one pool's names, region and cloud (`--print-permissions`). */
export interface PermissionsDocument {
  cloud: string;
  /** What `document` is, e.g. "aws-iam-policy", "gcp-custom-role", "azure-role-assignments". */
  format: string;
  document: unknown;
  /** How to apply it, in a sentence or two each. */
  notes: string[];
}

/** Refuses a run whose caller lacks permissions, listing every one (exit 4); reports an unchecked preflight. */
export function enforcePermissions(report: PermissionReport, cloud: string, note: (m: string) => void): void {
  if (report.unchecked) note(`Permissions not checked before the run: ${report.unchecked}`);
  if (report.missing.length === 0) return;
  const by = new Map<string, string[]>();
  for (const m of report.missing) {
    const key = m.grantedBy;
    by.set(key, [...(by.get(key) ?? []), m.resource ? `${m.action} on ${m.resource}` : m.action]);
  }
  const parts = [...by].map(([grant, actions]) => `${actions.join(", ")} (granted by ${grant})`);
  throw new AuthError(
    `Your ${cloud} identity lacks ${report.missing.length === 1 ? "a permission" : `${report.missing.length} permissions`} this plan needs, so nothing was changed: ${parts.join("; ")}.`,
    "Ask an admin to grant them (wp create NAME --type TYPE --print-permissions prints the exact grant), then run again.",
  );
}
