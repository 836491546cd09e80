/**
 * `wp create NAME --type azure-container-instance:push --print-permissions`: the least-privilege grant the ACI
 * provisioning needs, for the chosen subscription, resource group and location: the Entra ID directory role (or,
 * for a service principal, the Graph application permission) that may register the app, its service principal
 * and client secret; and one custom Azure role with exactly the Microsoft.* actions wp calls, assigned at the
 * subscription (the group may not exist yet) with a condition that lets it grant only Contributor and AcrPull.
 */
import type { PermissionsDocument } from "../../engine/permissions.js";
import type { PermissionsInput } from "../../engine/provider.js";
import { ROLE } from "./context.js";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every ARM action the provisioning, status, rotation, verify and deprovision of a pool make with your identity. */
export const ACI_ACTIONS = [
  // Resource providers: read, and registered once per subscription when missing.
  "Microsoft.Resources/subscriptions/providers/read",
  "Microsoft.ContainerRegistry/register/action",
  "Microsoft.ManagedIdentity/register/action",
  "Microsoft.ContainerInstance/register/action",
  // The resource group, and (deprovision) what it holds, each read by GET.
  "Microsoft.Resources/subscriptions/resourceGroups/read",
  "Microsoft.Resources/subscriptions/resourceGroups/write",
  "Microsoft.Resources/subscriptions/resourceGroups/delete",
  "Microsoft.Resources/subscriptions/resourceGroups/resources/read",
  // The registry (its name is checked first) and its Docker login / catalog (ACR token exchange).
  "Microsoft.ContainerRegistry/checkNameAvailability/read",
  "Microsoft.ContainerRegistry/registries/read",
  "Microsoft.ContainerRegistry/registries/write",
  "Microsoft.ContainerRegistry/registries/delete",
  "Microsoft.ContainerRegistry/registries/pull/read",
  "Microsoft.ContainerRegistry/registries/push/write",
  // The user-assigned identity the worker pulls with.
  "Microsoft.ManagedIdentity/userAssignedIdentities/read",
  "Microsoft.ManagedIdentity/userAssignedIdentities/write",
  "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
  // Contributor for the app on the group, AcrPull for the identity on the registry (see the condition).
  "Microsoft.Authorization/roleAssignments/read",
  "Microsoft.Authorization/roleAssignments/write",
  "Microsoft.Authorization/roleAssignments/delete",
  "Microsoft.Authorization/roleDefinitions/read",
  "Microsoft.Authorization/permissions/read",
  // A container group an interrupted `wp verify` left is deleted with your identity.
  "Microsoft.ContainerInstance/containerGroups/read",
  "Microsoft.ContainerInstance/containerGroups/delete",
];

/**
 * The role assignment condition that lets the custom role write and delete only Contributor and AcrPull
 * assignments (https://learn.microsoft.com/azure/role-based-access-control/delegate-role-assignments-examples).
 */
export function grantOnlyCondition(roleIds: string[] = [ROLE.Contributor, ROLE.AcrPull]): string {
  const ids = roleIds.join(", ");
  return (
    "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR " +
    `(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${ids}})) AND ` +
    "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR " +
    `(@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${ids}}))`
  );
}

/** The subscription id: --subscription when it is one, else the only (or named) one the signed-in identity sees. */
async function subscriptionId(input: PermissionsInput): Promise<{ id: string; note?: string }> {
  const given = typeof input.flags.subscription === "string" ? input.flags.subscription.trim() : "";
  if (GUID.test(given)) return { id: given.toLowerCase() };
  try {
    const [{ azureAuth }, { listSubscriptions }, { pickSubscription }] = await Promise.all([
      import("./sdk.js"),
      import("./arm.js"),
      import("./index.js"),
    ]);
    const subs = await listSubscriptions(await azureAuth(input.env));
    return { id: (await pickSubscription(subs, given || undefined, { interactive: false })).id };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { id: "<subscription-id>", note: `The subscription could not be resolved (${why}); put its id in.` };
  }
}

export async function aciPermissions(input: PermissionsInput): Promise<PermissionsDocument> {
  const sub = await subscriptionId(input);
  const subScope = `/subscriptions/${sub.id}`;
  const group = `${subScope}/resourceGroups/${input.names.resourceGroup}`;
  const location = typeof input.flags.location === "string" ? input.flags.location : "eastus";
  const roleName = `wp ACI push pool provisioner (${input.names.resourceGroup})`;
  return {
    cloud: "azure",
    format: "azure-role-assignments",
    document: {
      subscription: sub.id,
      resourceGroup: input.names.resourceGroup,
      location,
      directory: {
        forUsers: {
          role: "Application Developer",
          roleTemplateId: "cf1c38e5-3621-4004-a7cb-879624dced7c",
          why: "registers the app (owned by you), its service principal and client secrets, even where users may not register apps",
        },
        forServicePrincipals: {
          graphApplicationPermission: "Application.ReadWrite.OwnedBy",
          adminConsent: true,
          why: "creates and manages only the app registrations it owns",
        },
      },
      customRole: {
        Name: roleName,
        IsCustom: true,
        Description: `What wp needs to provision and tear down the ACI push pool '${input.poolName}' in ${input.names.resourceGroup}.`,
        Actions: ACI_ACTIONS,
        NotActions: [],
        DataActions: [],
        NotDataActions: [],
        AssignableScopes: [subScope],
      },
      roleAssignments: [
        {
          role: roleName,
          scope: subScope,
          condition: grantOnlyCondition(),
          conditionVersion: "2.0",
          why: "the resource group may not exist yet; the condition limits the role grants to Contributor and AcrPull",
        },
      ],
      grantsMade: [
        { role: "Contributor", roleDefinitionId: ROLE.Contributor, scope: group, to: `app ${input.names.app}` },
        {
          role: "AcrPull",
          roleDefinitionId: ROLE.AcrPull,
          scope: `${group}/providers/Microsoft.ContainerRegistry/registries/<registry>`,
          to: `identity ${input.names.identity}`,
        },
      ],
    },
    notes: [
      `Create the role: az role definition create --role-definition <customRole as a file>.`,
      `Assign it: az role assignment create --assignee <you> --role "${roleName}" --scope ${subScope} ` +
        `--condition "<condition>" --condition-version 2.0.`,
      "Directory: a user needs the Application Developer role (az rest or the Entra admin center); a service " +
        "principal needs Application.ReadWrite.OwnedBy with admin consent.",
      "If an admin creates the resource group first, the role can be assigned at the group instead of the subscription " +
        "(leave out the resourceGroups write and delete actions then).",
      ...(sub.note ? [sub.note] : []),
    ],
  };
}
