/**
 * The permission preflight, before any write: may this identity create app registrations (and their
 * service principals and secrets) in the tenant, create the resource group, and write role assignments
 * on the resource group's scope? Read-only. When a needed right is missing it fails the run with the
 * steps that would fail and the roles that grant the right; nothing has been written.
 *
 * Graph rights come from the Graph token's claims (read, not verified): app-only `roles`
 * Application.ReadWrite.All / Application.ReadWrite.OwnedBy, or delegated `scp` Application.ReadWrite.All /
 * Directory.AccessAsUser.All plus, for a new app, the tenant letting users create apps or a directory
 * role that may (Application Administrator, Cloud Application Administrator, Application Developer,
 * Global Administrator). ARM rights come from the Permissions API on the resource group, or from the
 * caller's role assignments on the subscription while the group does not exist yet.
 */

import { settled } from "../../engine/settled.js";
import { AuthError } from "../../errors.js";
import { allows } from "./arm.js";
import {
  type AciContext,
  type Azure,
  BLOCK_TYPE,
  findApp,
  findGroup,
  findIdentity,
  findRegistry,
  findServicePrincipal,
  hasRole,
  ROLE,
  rgScope,
} from "./context.js";
import { APP_CREATOR_ROLES } from "./graph.js";
import { azureErrorCode, azureStatus, tokenClaims } from "./sdk.js";

/** The roles Prefect's guide asks for, for the error's hint. */
export const REQUIRED_ROLES =
  "Contributor, User Access Administrator, Application Administrator, Managed Identity Operator and " +
  "Azure Container Registry Contributor";

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : typeof v === "string" ? v.split(" ") : [];

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

export async function permissionPreflight(e: AciContext): Promise<void> {
  const azure = await e.azure();
  const { arm, subscription } = azure;
  const rg = e.names.resourceGroup;
  const [app, group, block] = await settled([
    findApp(e),
    findGroup(e),
    e.prefect.readBlockDocument(BLOCK_TYPE, e.names.block),
  ]);
  const sp = app ? await findServicePrincipal(e) : null;
  const problems: string[] = [];

  // Microsoft Graph: app, service principal and secret writes.
  const graphWrites = [
    !app && `App registration ${e.names.app}`,
    !sp && `Service principal of ${e.names.app}`,
    !block && `Credentials block ${e.names.block} (a new client secret)`,
  ].filter((x): x is string => typeof x === "string");
  if (graphWrites.length) {
    const reason = await graphRefusal(azure, Boolean(app));
    if (reason) {
      problems.push(
        `${graphWrites.join(", ")}: would fail: the signed-in identity cannot manage app registrations in tenant ` +
          `${subscription.tenantId} (${reason}). It needs the Application Administrator (or Cloud Application ` +
          "Administrator) directory role, or, for a service principal, the Graph application permission " +
          "Application.ReadWrite.All with admin consent.",
      );
    }
  }

  // ARM: the resource group, and role assignments on its scope.
  const scope = rgScope(subscription.id, rg);
  const perms = group ? await unknownIfDenied(arm.permissionsOnResourceGroup(rg)) : null;
  // Without the right to read role assignments wp cannot tell; the writes then report for themselves.
  const effective = perms ?? (await unknownIfDenied(arm.permissionsOnSubscription(azure.callerObjectId)));
  if (effective && !group && !allows(effective, "Microsoft.Resources/subscriptions/resourceGroups/write")) {
    problems.push(
      `Resource group ${rg}: would fail: the signed-in identity may not create resource groups in subscription ` +
        `${subscription.name} (${subscription.id}). It needs Contributor (or Owner) on the subscription.`,
    );
  }
  const [contributorHeld, acrPullHeld] = await settled([
    sp && group ? hasRole(e, scope, ROLE.Contributor, sp.id) : Promise.resolve(false),
    (async () => {
      const [identity, registry] = await Promise.all([findIdentity(e), findRegistry(e)]);
      return identity && registry ? hasRole(e, registry.id, ROLE.AcrPull, identity.principalId) : false;
    })(),
  ]);
  const roleWrites = [
    !contributorHeld && `Role assignment Contributor on ${rg}`,
    !acrPullHeld && "Role assignment AcrPull on the registry",
  ].filter((x): x is string => typeof x === "string");
  if (effective && roleWrites.length && !allows(effective, "Microsoft.Authorization/roleAssignments/write")) {
    problems.push(
      `${roleWrites.join(", ")}: would fail: the signed-in identity may not write role assignments on ${scope}. ` +
        "It needs User Access Administrator (or Owner) on the resource group or the subscription.",
    );
  }
  if (problems.length) {
    throw new AuthError(
      `Azure permissions are missing; nothing was changed.\n  - ${problems.join("\n  - ")}\n`,
      `Prefect's guide lists the roles for this: ${REQUIRED_ROLES}.`,
    );
  }
}

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
