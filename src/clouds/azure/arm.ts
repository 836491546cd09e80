/**
 * Azure Resource Manager, narrowly: what the ACI provisioner reads and writes, through the Azure SDK
 * clients (imported on first use). Missing resources are `null` (by HTTP status / error code, never
 * by message text); every other failure is a CloudError/AuthError with the Azure code.
 */
import type { Registry } from "@azure/arm-containerregistry";
import { CloudError } from "../../errors.js";
import { type AzureAuth, azureErrorCode, azureStatus, type RetryOptions, retrying, toAzureError } from "./sdk.js";

export interface AzureSubscription {
  id: string;
  name: string;
  tenantId: string;
  state: string;
}

export interface ResourceGroupInfo {
  id: string;
  name: string;
  location: string;
  tags: Record<string, string>;
}

export interface RegistryInfo {
  id: string;
  name: string;
  loginServer: string;
  location: string;
  tags: Record<string, string>;
  provisioningState: string;
}

export interface IdentityInfo {
  id: string;
  name: string;
  principalId: string;
  clientId: string;
  tags: Record<string, string>;
}

export interface RoleAssignmentInfo {
  id: string;
  scope: string;
  roleDefinitionId: string;
  principalId: string;
}

export interface PermissionSet {
  actions: string[];
  notActions: string[];
}

export interface ArmApi {
  subscriptionId: string;
  getResourceGroup(name: string): Promise<ResourceGroupInfo | null>;
  createResourceGroup(name: string, location: string, tags: Record<string, string>): Promise<ResourceGroupInfo>;
  listRegistries(resourceGroup: string): Promise<RegistryInfo[]>;
  getRegistry(resourceGroup: string, name: string): Promise<RegistryInfo | null>;
  /** `null` when the name is free, else Azure's reason ("AlreadyExists", "Invalid"). */
  registryNameTaken(name: string): Promise<string | null>;
  createRegistry(
    resourceGroup: string,
    name: string,
    location: string,
    tags: Record<string, string>,
    progress: (status: string) => void,
  ): Promise<RegistryInfo>;
  getIdentity(resourceGroup: string, name: string): Promise<IdentityInfo | null>;
  createIdentity(
    resourceGroup: string,
    name: string,
    location: string,
    tags: Record<string, string>,
  ): Promise<IdentityInfo>;
  /** Assignments for `principalId` that apply at `scope` (wp filters by scope and role itself). */
  listRoleAssignments(scope: string, principalId: string): Promise<RoleAssignmentInfo[]>;
  /**
   * Creates an assignment under the given GUID; "already exists" is success, and PrincipalNotFound
   * (a new principal not yet replicated) is retried with backoff.
   */
  createRoleAssignment(scope: string, name: string, roleDefinitionId: string, principalId: string): Promise<void>;
  /** A resource provider's registration state in the subscription ("Registered", "NotRegistered", …). */
  providerState(namespace: string): Promise<string>;
  /** Registers a resource provider and waits until it is registered. */
  registerProvider(namespace: string, progress: (state: string) => void): Promise<void>;
  /** The caller's permissions on a resource group; null when the group does not exist. */
  permissionsOnResourceGroup(resourceGroup: string): Promise<PermissionSet[] | null>;
  /** The caller's permissions on the subscription, from its role assignments there. */
  permissionsOnSubscription(principalId: string): Promise<PermissionSet[]>;
  /** Every resource in a group (id and type); empty when the group does not exist. */
  listGroupResources(resourceGroup: string): Promise<Array<{ id: string; type: string; name: string }>>;
  /** Deletes (and waits for) a resource group; one already gone is success. */
  deleteResourceGroup(name: string): Promise<void>;
  /** Deletes a registry; one already gone is success. */
  deleteRegistry(resourceGroup: string, name: string): Promise<void>;
  /** Deletes a user-assigned identity; one already gone is success. */
  deleteIdentity(resourceGroup: string, name: string): Promise<void>;
  /** Deletes a role assignment by its full id; one already gone is success. */
  deleteRoleAssignment(id: string): Promise<void>;
}

/** ARM paths in the SDK's role-assignment calls go after a "/": scopes are passed without the leading one. */
const bare = (scope: string) => scope.replace(/^\/+/, "");
const notFound = (err: unknown) =>
  azureStatus(err) === 404 ||
  ["ResourceNotFound", "ResourceGroupNotFound", "NotFound"].includes(azureErrorCode(err) ?? "");

async function orNull<T>(op: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    if (notFound(err)) return null;
    throw toAzureError(op, err);
  }
}

async function wrap<T>(op: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toAzureError(op, err);
  }
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function clientOptions(auth: AzureAuth) {
  return {
    endpoint: auth.endpoints.arm,
    credentialScopes: [`${auth.endpoints.arm}/.default`],
    userAgentOptions: { userAgentPrefix: "wp" },
    ...(auth.ca ? { tlsOptions: { ca: auth.ca } } : {}),
  };
}

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

const tagsOf = (t: Record<string, string> | undefined) => ({ ...(t ?? {}) });

function registryInfo(r: Registry): RegistryInfo {
  return {
    id: r.id ?? "",
    name: r.name ?? "",
    loginServer: r.loginServer ?? "",
    location: r.location,
    tags: tagsOf(r.tags),
    provisioningState: r.provisioningState ?? "",
  };
}

export function armApi(auth: AzureAuth, subscriptionId: string, retry: RetryOptions = {}): ArmApi {
  const opts = clientOptions(auth);
  let resources: Promise<import("@azure/arm-resources").ResourceManagementClient> | undefined;
  let authz: Promise<import("@azure/arm-authorization").AuthorizationManagementClient> | undefined;
  let acr: Promise<import("@azure/arm-containerregistry").ContainerRegistryManagementClient> | undefined;
  let msi: Promise<import("@azure/arm-msi").ManagedServiceIdentityClient> | undefined;
  const rm = () => {
    resources ??= import("@azure/arm-resources").then(
      (m) => new m.ResourceManagementClient(auth.credential, subscriptionId, opts),
    );
    return resources;
  };
  const az = () => {
    authz ??= import("@azure/arm-authorization").then(
      (m) => new m.AuthorizationManagementClient(auth.credential, subscriptionId, opts),
    );
    return authz;
  };
  const cr = () => {
    acr ??= import("@azure/arm-containerregistry").then(
      (m) =>
        new m.ContainerRegistryManagementClient(auth.credential, subscriptionId, {
          endpoint: auth.endpoints.arm,
          credentials: { scopes: [`${auth.endpoints.arm}/.default`] },
          userAgentOptions: { userAgentPrefix: "wp" },
          ...(auth.ca ? { tlsOptions: { ca: auth.ca } } : {}),
        }),
    );
    return acr;
  };
  const mi = () => {
    msi ??= import("@azure/arm-msi").then(
      (m) => new m.ManagedServiceIdentityClient(auth.credential, subscriptionId, opts),
    );
    return msi;
  };
  const perms = (p: { actions?: string[]; notActions?: string[] }): PermissionSet => ({
    actions: p.actions ?? [],
    notActions: p.notActions ?? [],
  });

  return {
    subscriptionId,
    getResourceGroup: (name) =>
      orNull(`reading resource group ${name}`, async () => {
        const g = await (await rm()).resourceGroups.get(name);
        return { id: g.id ?? "", name: g.name ?? name, location: g.location, tags: tagsOf(g.tags) };
      }),
    createResourceGroup: (name, location, tags) =>
      wrap(`creating resource group ${name}`, async () => {
        const g = await (await rm()).resourceGroups.createOrUpdate(name, { location, tags });
        return { id: g.id ?? "", name: g.name ?? name, location: g.location, tags: tagsOf(g.tags) };
      }),
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
      wrap(`creating container registry ${name}`, async () => {
        const poller = (await cr()).registries.create(
          rg,
          name,
          {
            location,
            tags,
            sku: { name: "Basic" },
            adminUserEnabled: false,
          },
          retry.pollMs ? { updateIntervalInMs: retry.pollMs } : {},
        );
        poller.onProgress((s) => progress(s.status));
        return registryInfo(await poller.pollUntilDone());
      }),
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
    listGroupResources: async (rg) =>
      (await orNull(`listing the resources of ${rg}`, async () =>
        (
          await all((await rm()).resources.listByResourceGroup(rg))
        ).map((r) => ({
          id: r.id ?? "",
          type: r.type ?? "",
          name: r.name ?? "",
        })),
      )) ?? [],
    deleteResourceGroup: async (name) => {
      await orNull(`deleting resource group ${name}`, async () =>
        (await rm()).resourceGroups.beginDeleteAndWait(name, retry.pollMs ? { updateIntervalInMs: retry.pollMs } : {}),
      );
    },
    deleteRegistry: async (rg, name) => {
      await orNull(`deleting container registry ${name}`, async () =>
        (await cr()).registries
          .delete(rg, name, retry.pollMs ? { updateIntervalInMs: retry.pollMs } : {})
          .pollUntilDone(),
      );
    },
    deleteIdentity: async (rg, name) => {
      await orNull(`deleting identity ${name}`, async () => (await mi()).userAssignedIdentities.delete(rg, name));
    },
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
