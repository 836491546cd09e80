/**
 * The permission preflight (the engine's Provisioner.preflight), after the plan is read and before any write:
 * for every step the plan will create or update, may the signed-in identity make its writes? Read-only. Every
 * missing permission is listed at once with what grants it (the engine refuses with exit 4; nothing is written).
 *
 * Graph rights come from the Graph token's claims (read, not verified): app-only `roles`
 * Application.ReadWrite.All / Application.ReadWrite.OwnedBy, or delegated `scp` Application.ReadWrite.All /
 * Directory.AccessAsUser.All plus, for a new app, the tenant letting users create apps or a directory role that
 * may (Application Administrator, Cloud Application Administrator, Application Developer, Global Administrator),
 * held directly or through a group (transitive memberships). ARM rights come from the Permissions API on the
 * resource group, or from the caller's role assignments on the subscription while the group does not exist yet;
 * when wp may not read them, the report says so and the writes report for themselves.
 */

import type { MissingPermission, PermissionReport } from "../../engine/permissions.js";
import { settled } from "../../engine/settled.js";
import type { StepState } from "../../engine/types.js";
import { allows } from "./arm.js";
import { type AciContext, type Azure, findApp, findGroup, rgScope } from "./context.js";
import { APP_CREATOR_ROLES } from "./graph.js";
import { azureErrorCode, azureStatus, tokenClaims } from "./sdk.js";
import { PROVIDERS } from "./steps.js";

const PRINT = "the custom role printed by wp create … --print-permissions";

/** The ARM actions each step's create/update makes, and what grants them. */
function armWrites(
  e: AciContext,
  sub: string,
): Record<string, Array<Omit<MissingPermission, "resource"> & { resource: string }>> {
  const group = rgScope(sub, e.names.resourceGroup);
  const uaa = `User Access Administrator or Role Based Access Control Administrator on ${group} (or ${PRINT})`;
  const contributor = `Contributor on ${group} (or ${PRINT})`;
  return {
    "azure.resource-providers": PROVIDERS.map((ns) => ({
      action: `${ns}/register/action`,
      grantedBy: `Contributor on the subscription (or ${PRINT})`,
      resource: `/subscriptions/${sub}`,
    })),
    "azure.resource-group": [
      {
        action: "Microsoft.Resources/subscriptions/resourceGroups/write",
        grantedBy: `Contributor on the subscription (or ${PRINT})`,
        resource: `/subscriptions/${sub}`,
      },
    ],
    "azure.container-registry": [
      { action: "Microsoft.ContainerRegistry/registries/write", grantedBy: contributor, resource: group },
    ],
    "azure.identity": [
      { action: "Microsoft.ManagedIdentity/userAssignedIdentities/write", grantedBy: contributor, resource: group },
    ],
    "azure.contributor-role": [
      { action: "Microsoft.Authorization/roleAssignments/write", grantedBy: uaa, resource: group },
    ],
    "azure.acrpull-role": [
      { action: "Microsoft.Authorization/roleAssignments/write", grantedBy: uaa, resource: group },
    ],
  };
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : typeof v === "string" ? v.split(" ") : [];

/** Steps whose writes go to Microsoft Graph (the app, its principal, a new client secret). */
const GRAPH_STEPS: Record<string, string> = {
  "azure.app-registration": "App registration",
  "azure.service-principal": "Service principal",
  "prefect.aci-credentials": "Client secret",
};

/** A read the caller may not be allowed to make: null when Azure denies it. */
async function unknownIfDenied<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (
      azureStatus(err) === 403 ||
      ["AuthorizationFailed", "Authorization_RequestDenied"].includes(azureErrorCode(err) ?? "")
    ) {
      return null;
    }
    throw err;
  }
}

export async function permissionReport(e: AciContext, plan: ReadonlyMap<string, StepState>): Promise<PermissionReport> {
  const azure = await e.azure();
  const { arm, subscription } = azure;
  const writes = (id: string) => {
    const a = plan.get(id)?.action;
    return a === "create" || a === "update";
  };
  const missing: MissingPermission[] = [];
  const graphSteps = Object.keys(GRAPH_STEPS).filter(writes);
  if (graphSteps.length) {
    const reason = await graphRefusal(azure, Boolean(await findApp(e)));
    if (reason)
      for (const id of graphSteps)
        missing.push({
          action: `Microsoft Graph Application.ReadWrite.OwnedBy (${reason})`,
          grantedBy:
            "the Application Developer (or Application Administrator) directory role for a user, or the Graph " +
            "application permission Application.ReadWrite.OwnedBy (or Application.ReadWrite.All) with admin consent",
          resource: `${GRAPH_STEPS[id]} ${e.names.app}`,
        });
  }
  const arms = Object.entries(armWrites(e, subscription.id)).filter(([id]) => writes(id));
  if (!arms.length) return { missing };
  const group = await findGroup(e);
  const perms = group ? await unknownIfDenied(arm.permissionsOnResourceGroup(e.names.resourceGroup)) : null;
  const effective = perms ?? (await unknownIfDenied(arm.permissionsOnSubscription(azure.callerObjectId)));
  if (!effective) return { missing, unchecked: "the signed-in identity may not read its own Azure role assignments" };
  for (const [, list] of arms) for (const m of list) if (!allows(effective, m.action)) missing.push(m);
  return { missing: dedupe(missing) };
}

const dedupe = (list: MissingPermission[]) => [
  ...new Map(list.map((m) => [`${m.action}|${m.resource ?? ""}`, m])).values(),
];

/** Why the signed-in identity cannot write app registrations (its Graph token's claims), or null. */
async function graphRefusal(azure: Azure, appExists: boolean): Promise<string | null> {
  const { graph } = azure;
  const claims = tokenClaims(await graph.token());
  const roles = strings(claims.roles);
  const scopes = strings(claims.scp);
  let reason: string | null = null;
  // A token wp cannot read (not a JWT) tells nothing: the writes then report for themselves.
  if (Object.keys(claims).length === 0) reason = null;
  else if (claims.scp === undefined) {
    if (!roles.includes("Application.ReadWrite.All") && !roles.includes("Application.ReadWrite.OwnedBy")) {
      reason = "its token has no Microsoft Graph application permission Application.ReadWrite.All";
    }
  } else if (!scopes.includes("Application.ReadWrite.All") && !scopes.includes("Directory.AccessAsUser.All")) {
    reason = "its token has no Microsoft Graph permission Application.ReadWrite.All";
  } else if (!appExists) {
    const oid = typeof claims.oid === "string" ? claims.oid : azure.callerObjectId;
    // Either read may be denied to a plain user: then it cannot tell, and the write decides.
    const [usersMay, dirRoles] = await settled([
      unknownIfDenied(graph.allowedToCreateApps()),
      unknownIfDenied(graph.directoryRoles(oid)),
    ]);
    if (usersMay === false && dirRoles !== null && !dirRoles.some((r) => r in APP_CREATOR_ROLES)) {
      reason = "users may not register apps in this tenant and it holds no directory role that may";
    }
  }
  return reason;
}
