/**
 * Azure Resource Manager, narrowly: what the ACI provisioner reads and writes, through the Azure SDK
 * clients (imported on first use). Missing resources are `null` (by HTTP status / error code, never
 * by message text); every other failure is a CloudError/AuthError with the Azure code.
 */
import { CloudError } from "../../errors.js";
import {
  type ArmApi,
  type ArmClients,
  type AzureSubscription,
  all,
  armClients,
  bare,
  clientOptions,
  orNull,
  type PermissionSet,
  registryInfo,
  tagsOf,
  wrap,
} from "./arm-base.js";
import { type AzureAuth, azureErrorCode, type RetryOptions, retrying } from "./sdk.js";

export type {
  ArmApi,
  AzureSubscription,
  IdentityInfo,
  PermissionSet,
  RegistryInfo,
  ResourceGroupInfo,
  RoleAssignmentInfo,
} from "./arm-base.js";

/** The longest wp waits for a registry create (Azure's take minutes at most). */
const REGISTRY_CREATE_MS = 15 * 60_000;

/** api-versions for a GET by id of the resource types a pool's group holds (others count as there). */
const GET_API_VERSIONS: Record<string, string> = {
  "microsoft.containerregistry/registries": "2023-07-01",
  "microsoft.managedidentity/userassignedidentities": "2023-01-31",
  "microsoft.containerinstance/containergroups": "2023-05-01",
};

export async function listSubscriptions(auth: AzureAuth): Promise<AzureSubscription[]> {
  const { SubscriptionClient } = await import("@azure/arm-resources-subscriptions");
  const client = new SubscriptionClient(auth.credential, clientOptions(auth));
  const subs = await wrap("listing Azure subscriptions", () => all(client.subscriptions.list()));
  return subs.map((s) => ({
    id: s.subscriptionId ?? "",
    name: s.displayName ?? "",
    tenantId: s.tenantId ?? "",
    state: s.state ?? "",
  }));
}

/** Resource groups, their resources and resource providers. */
function groupMethods(
  c: ArmClients,
  retry: RetryOptions,
): Pick<
  ArmApi,
  | "getResourceGroup"
  | "createResourceGroup"
  | "providerState"
  | "registerProvider"
  | "listGroupResources"
  | "deleteResourceGroup"
> {
  const { rm } = c;
  return {
    getResourceGroup: (name) =>
      orNull(`reading resource group ${name}`, async () => {
        const g = await (await rm()).resourceGroups.get(name);
        return {
          id: g.id ?? "",
          name: g.name ?? name,
          location: g.location,
          tags: tagsOf(g.tags),
          ...(g.properties?.provisioningState ? { provisioningState: g.properties.provisioningState } : {}),
        };
      }),
    createResourceGroup: (name, location, tags) =>
      wrap(`creating resource group ${name}`, async () => {
        const g = await (await rm()).resourceGroups.createOrUpdate(name, { location, tags });
        return { id: g.id ?? "", name: g.name ?? name, location: g.location, tags: tagsOf(g.tags) };
      }),
    providerState: (ns) =>
      wrap(
        `reading resource provider ${ns}`,
        async () => (await (await rm()).providers.get(ns)).registrationState ?? "",
      ),
    registerProvider: (ns, progress) =>
      wrap(`registering resource provider ${ns}`, async () => {
        const client = await rm();
        let state = (await client.providers.register(ns)).registrationState ?? "";
        const deadline = Date.now() + 10 * 60_000;
        for (let wait = retry.pollMs ?? 2000; state !== "Registered"; ) {
          if (Date.now() > deadline)
            throw new CloudError(`Resource provider ${ns} is still ${state}.`, "RegistrationTimeout");
          progress(state);
          await new Promise((r) => setTimeout(r, wait));
          state = (await client.providers.get(ns)).registrationState ?? "";
        }
      }),
    // The listing is served from a cache that can still show resources just deleted (azure-rest-api-specs#21221):
    // each listed resource of a type wp knows is read by GET, and counts only if that finds it.
    listGroupResources: async (rg) => {
      const client = await rm();
      const listed =
        (await orNull(`listing the resources of ${rg}`, async () =>
          (
            await all(client.resources.listByResourceGroup(rg))
          ).map((r) => ({
            id: r.id ?? "",
            type: r.type ?? "",
            name: r.name ?? "",
          })),
        )) ?? [];
      const there = await Promise.all(
        listed.map(async (r) => {
          const version = GET_API_VERSIONS[r.type.toLowerCase()];
          if (!version) return true;
          return (await orNull(`reading ${r.name}`, () => client.resources.getById(r.id, version))) !== null;
        }),
      );
      return listed.filter((_, i) => there[i]);
    },
    deleteResourceGroup: async (name) => {
      await orNull(`deleting resource group ${name}`, async () =>
        (await rm()).resourceGroups.beginDeleteAndWait(name, retry.pollMs ? { updateIntervalInMs: retry.pollMs } : {}),
      );
    },
  };
}

/**
 * Creates a registry and polls its long-running operation until it is done. Every wait has a deadline; an
 * operation that ends Failed stops here with its reason.
 */
async function registryUntilDone(
  client: import("@azure/arm-containerregistry").ContainerRegistryManagementClient,
  retry: RetryOptions,
  o: { rg: string; name: string; location: string; tags: Record<string, string>; progress(status: string): void },
) {
  const poller = client.registries.create(
    o.rg,
    o.name,
    { location: o.location, tags: o.tags, sku: { name: "Basic" }, adminUserEnabled: false },
    retry.pollMs ? { updateIntervalInMs: retry.pollMs } : {},
  );
  poller.onProgress((s) => o.progress(s.status));
  const deadline = AbortSignal.timeout(REGISTRY_CREATE_MS);
  try {
    return registryInfo(await poller.pollUntilDone({ abortSignal: deadline }));
  } catch (err) {
    if (deadline.aborted)
      throw new CloudError(
        `Container registry ${o.name} was not ready after ${REGISTRY_CREATE_MS / 60_000} minutes (still ${poller.operationState?.status}).`,
        "Timeout",
      );
    if (poller.operationState?.status === "failed") {
      const code = azureErrorCode(err) ?? "Failed";
      const why = (err instanceof Error ? err.message : String(err)).split("\n")[0];
      throw new CloudError(`Container registry ${o.name}: its create ended Failed (${code}: ${why}).`, code);
    }
    throw err;
  }
}

/** Container registries and managed identities. */
function registryMethods(
  c: ArmClients,
  retry: RetryOptions,
): Pick<
  ArmApi,
  | "listRegistries"
  | "getRegistry"
  | "registryNameTaken"
  | "createRegistry"
  | "deleteRegistry"
  | "getIdentity"
  | "createIdentity"
  | "deleteIdentity"
> {
  const { cr, mi } = c;
  return {
    listRegistries: (rg) =>
      wrap(`listing the container registries of ${rg}`, async () =>
        (await all((await cr()).registries.listByResourceGroup(rg))).map(registryInfo),
      ),
    getRegistry: (rg, name) =>
      orNull(`reading container registry ${name}`, async () =>
        registryInfo(await (await cr()).registries.get(rg, name)),
      ),
    registryNameTaken: (name) =>
      wrap("checking the registry name", async () => {
        const s = await (await cr()).registries.checkNameAvailability({
          name,
          type: "Microsoft.ContainerRegistry/registries",
        });
        return s.nameAvailable ? null : (s.reason ?? "AlreadyExists");
      }),
    createRegistry: (rg, name, location, tags, progress) =>
      wrap(`creating container registry ${name}`, async () =>
        registryUntilDone(await cr(), retry, { rg, name, location, tags, progress }),
      ),
    deleteRegistry: async (rg, name) => {
      await orNull(`deleting container registry ${name}`, async () =>
        (await cr()).registries
          .delete(rg, name, retry.pollMs ? { updateIntervalInMs: retry.pollMs } : {})
          .pollUntilDone(),
      );
    },
    getIdentity: (rg, name) =>
      orNull(`reading identity ${name}`, async () => {
        const i = await (await mi()).userAssignedIdentities.get(rg, name);
        return {
          id: i.id ?? "",
          name: i.name ?? name,
          principalId: i.principalId ?? "",
          clientId: i.clientId ?? "",
          tags: tagsOf(i.tags),
        };
      }),
    createIdentity: (rg, name, location, tags) =>
      wrap(`creating identity ${name}`, async () => {
        const i = await (await mi()).userAssignedIdentities.createOrUpdate(rg, name, { location, tags });
        return {
          id: i.id ?? "",
          name: i.name ?? name,
          principalId: i.principalId ?? "",
          clientId: i.clientId ?? "",
          tags: tagsOf(i.tags),
        };
      }),
    deleteIdentity: async (rg, name) => {
      await orNull(`deleting identity ${name}`, async () => (await mi()).userAssignedIdentities.delete(rg, name));
    },
  };
}

const perms = (p: { actions?: string[]; notActions?: string[] }): PermissionSet => ({
  actions: p.actions ?? [],
  notActions: p.notActions ?? [],
});

/** Role assignments and the caller's permissions. */
function roleMethods(
  c: ArmClients,
  subscriptionId: string,
  retry: RetryOptions,
): Pick<
  ArmApi,
  | "listRoleAssignments"
  | "createRoleAssignment"
  | "deleteRoleAssignment"
  | "permissionsOnResourceGroup"
  | "permissionsOnSubscription"
> {
  const { az } = c;

  return {
    listRoleAssignments: (scope, principalId) =>
      wrap(`listing role assignments on ${scope}`, async () => {
        const list = await all(
          (await az()).roleAssignments.listForScope(bare(scope), { filter: `principalId eq '${principalId}'` }),
        );
        return list.map((a) => ({
          id: a.id ?? "",
          scope: a.scope ?? "",
          roleDefinitionId: a.roleDefinitionId ?? "",
          principalId: a.principalId ?? "",
          ...(a.createdOn ? { createdOn: new Date(a.createdOn) } : {}),
        }));
      }),
    createRoleAssignment: (scope, name, roleDefinitionId, principalId) =>
      wrap(`assigning a role on ${scope}`, async () => {
        const client = await az();
        await retrying(
          "Role assignment",
          async () => {
            try {
              await client.roleAssignments.create(bare(scope), name, {
                roleDefinitionId,
                principalId,
                principalType: "ServicePrincipal",
              });
            } catch (err) {
              if (azureErrorCode(err) === "RoleAssignmentExists") return;
              throw err;
            }
          },
          (err) => azureErrorCode(err) === "PrincipalNotFound",
          retry,
        );
      }),
    deleteRoleAssignment: async (id) => {
      await orNull(`deleting role assignment ${id}`, async () => (await az()).roleAssignments.deleteById(bare(id)));
    },
    permissionsOnResourceGroup: (rg) =>
      orNull(`reading your permissions on ${rg}`, async () =>
        (await all((await az()).permissions.listForResourceGroup(rg))).map(perms),
      ),
    permissionsOnSubscription: (principalId) =>
      wrap("reading your role assignments", async () => {
        const client = await az();
        // assignedTo() includes the groups the principal is in; only assignments at the subscription or
        // above (management groups, root) apply to a resource group that does not exist yet.
        const sub = `/subscriptions/${subscriptionId}`.toLowerCase();
        const assignments = (
          await all(
            client.roleAssignments.listForScope(`subscriptions/${subscriptionId}`, {
              filter: `assignedTo('${principalId}')`,
            }),
          )
        ).filter((a) => {
          const scope = (a.scope ?? "").toLowerCase();
          return scope === sub || scope === "/" || scope.startsWith("/providers/microsoft.management/");
        });
        const defs = await Promise.all(
          [...new Set(assignments.map((a) => a.roleDefinitionId ?? ""))]
            .filter(Boolean)
            .map((id) => client.roleDefinitions.getById(bare(id))),
        );
        return defs.flatMap((d) => (d.permissions ?? []).map(perms));
      }),
  };
}

export function armApi(auth: AzureAuth, subscriptionId: string, retry: RetryOptions = {}): ArmApi {
  const c = armClients(auth, subscriptionId);
  return {
    subscriptionId,
    ...groupMethods(c, retry),
    ...registryMethods(c, retry),
    ...roleMethods(c, subscriptionId, retry),
  };
}

/** Whether `permissions` allow `action` (ARM's wildcard rules: `*` anywhere, case-insensitive). */
export function allows(permissions: PermissionSet[], action: string): boolean {
  const match = (pattern: string) =>
    new RegExp(
      `^${pattern
        .split("*")
        .map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, "\\$&"))
        .join(".*")}$`,
      "i",
    ).test(action);
  // Assignments add up: one that allows the action without excluding it is enough.
  return permissions.some((p) => p.actions.some(match) && !p.notActions.some(match));
}
