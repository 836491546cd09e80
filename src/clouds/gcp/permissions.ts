/**
 * The Google Cloud permissions a Cloud Run pool's provisioning needs, per resource: the permission
 * preflight (before any write, `projects.testIamPermissions` for exactly what the plan's writes
 * need, and the service account's own `testIamPermissions` for its keys) and `--print-permissions`
 * (a custom role with exactly those permissions, or the predefined roles that grant them).
 * Permissions and roles: https://cloud.google.com/iam/docs/roles-permissions
 */
import type { MissingPermission, PermissionReport, PermissionsDocument } from "../../engine/permissions.js";
import type { StepState } from "../../engine/types.js";
import { type CloudRunNames, defaultNames, ROLES, SERVICES } from "./names.js";
import type { GcpApi } from "./sdk-types.js";

/** Each resource's writes: the permissions and the predefined role that grants them. */
const WRITES: Record<string, { permissions: string[]; role: string }> = {
  "gcp.run-api": { permissions: ["serviceusage.services.enable"], role: "roles/serviceusage.serviceUsageAdmin" },
  "gcp.artifactregistry-api": {
    permissions: ["serviceusage.services.enable"],
    role: "roles/serviceusage.serviceUsageAdmin",
  },
  "gcp.repository": { permissions: ["artifactregistry.repositories.create"], role: "roles/artifactregistry.admin" },
  "gcp.service-account": {
    permissions: ["iam.serviceAccounts.create", "iam.serviceAccounts.enable"],
    role: "roles/iam.serviceAccountAdmin",
  },
  "gcp.iam-bindings": {
    permissions: ["resourcemanager.projects.setIamPolicy"],
    role: "roles/resourcemanager.projectIamAdmin",
  },
  "prefect.gcp-credentials": {
    permissions: ["iam.serviceAccountKeys.create", "iam.serviceAccountKeys.delete"],
    role: "roles/iam.serviceAccountKeyAdmin",
  },
};

/** What wp reads while planning, checking and tearing down (the custom role includes them; the preflight need not test them: the plan already read). */
const READS: Array<{ permission: string; role: string }> = [
  { permission: "resourcemanager.projects.get", role: "roles/browser" },
  { permission: "resourcemanager.projects.getIamPolicy", role: "roles/resourcemanager.projectIamAdmin" },
  { permission: "orgpolicy.policy.get", role: "roles/orgpolicy.policyViewer" },
  { permission: "serviceusage.services.get", role: "roles/serviceusage.serviceUsageAdmin" },
  { permission: "artifactregistry.repositories.get", role: "roles/artifactregistry.admin" },
  { permission: "artifactregistry.dockerimages.list", role: "roles/artifactregistry.admin" },
  { permission: "iam.serviceAccounts.get", role: "roles/iam.serviceAccountAdmin" },
  { permission: "iam.serviceAccountKeys.list", role: "roles/iam.serviceAccountKeyAdmin" },
];

/** Teardown (`wp deprovision`): deleting what wp created. */
const DELETES: Array<{ permission: string; role: string }> = [
  { permission: "artifactregistry.repositories.delete", role: "roles/artifactregistry.admin" },
  { permission: "iam.serviceAccounts.delete", role: "roles/iam.serviceAccountAdmin" },
];

/** The permissions the steps that will be created or updated need, each with its role. */
export function neededFor(plan: ReadonlyMap<string, StepState>): Map<string, string> {
  const need = new Map<string, string>();
  for (const [step, state] of plan) {
    if (state.action === "exists") continue;
    const w = WRITES[step];
    if (!w) continue;
    // Enabling a service account is only needed to repair a disabled one; creating it is the usual case.
    const perms =
      step === "gcp.service-account"
        ? [state.action === "create" ? w.permissions[0] : w.permissions[1]]
        : w.permissions;
    for (const p of perms) if (p) need.set(p, w.role);
  }
  return need;
}

/**
 * The preflight: every permission the plan's writes need that the caller lacks on the project; a
 * key permission the caller holds on the (existing) service account itself counts as held.
 */
export async function preflight(
  gcp: GcpApi,
  plan: ReadonlyMap<string, StepState>,
  serviceAccount: { email: string; exists: boolean },
): Promise<PermissionReport> {
  const need = neededFor(plan);
  if (need.size === 0) return { missing: [] };
  let held: Set<string>;
  try {
    held = new Set(await gcp.testIamPermissions([...need.keys()]));
  } catch (err) {
    return {
      missing: [],
      unchecked: `projects.testIamPermissions failed (${err instanceof Error ? err.message : String(err)})`,
    };
  }
  const keyPerms = [...need.keys()].filter((p) => p.startsWith("iam.serviceAccountKeys.") && !held.has(p));
  if (keyPerms.length && serviceAccount.exists) {
    const onAccount = await gcp.testServiceAccountPermissions(serviceAccount.email, keyPerms).catch(() => []);
    for (const p of onAccount) held.add(p);
  }
  const missing: MissingPermission[] = [];
  for (const [action, role] of need) if (!held.has(action)) missing.push({ action, grantedBy: role });
  return { missing };
}

/** `wp create … --print-permissions`: a custom role with exactly what wp needs, or the predefined roles. */
export function permissionsDocument(o: {
  poolName: string;
  project: string | undefined;
  region: string;
  names: Partial<CloudRunNames>;
}): PermissionsDocument {
  const names = { ...defaultNames(o.poolName), ...o.names };
  const project = o.project || "PROJECT_ID";
  const permissions = [
    ...new Set([
      ...Object.values(WRITES).flatMap((w) => w.permissions),
      ...READS.map((r) => r.permission),
      ...DELETES.map((d) => d.permission),
    ]),
  ].sort();
  const roles = [
    ...new Set([
      ...Object.values(WRITES).map((w) => w.role),
      ...READS.map((r) => r.role),
      ...DELETES.map((d) => d.role),
    ]),
  ].sort();
  const email = `${names.serviceAccount}@${project}.iam.gserviceaccount.com`;
  return {
    cloud: "gcp",
    format: "gcp-custom-role",
    document: {
      customRole: {
        roleId: "wpCloudRunProvisioner",
        title: "wp Cloud Run push pool provisioner",
        description: `What wp needs to provision, check, rotate and remove Cloud Run push pool ${o.poolName} in project ${project}.`,
        stage: "GA",
        includedPermissions: permissions,
      },
      predefinedRoles: roles,
      project,
      region: o.region,
      resources: {
        apis: SERVICES.map((s) => s.id),
        repository: `projects/${project}/locations/${o.region}/repositories/${names.repository}`,
        serviceAccount: email,
        rolesGrantedToServiceAccount: ROLES,
      },
    },
    notes: [
      `Create the role: gcloud iam roles create wpCloudRunProvisioner --project ${project} --file ROLE.yaml (the customRole object as YAML), then grant it: gcloud projects add-iam-policy-binding ${project} --member user:YOU --role projects/${project}/roles/wpCloudRunProvisioner.`,
      `Or grant the predefined roles instead (broader): ${roles.join(", ")}.`,
      "orgpolicy.policy.get only lets wp refuse early when an organisation policy forbids service-account keys; without it wp finds out at the key.",
      `Granting ${ROLES.join(" and ")} to ${email} needs resourcemanager.projects.setIamPolicy on the project: Google has no narrower way to grant project roles.`,
    ],
  };
}
