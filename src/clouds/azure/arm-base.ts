/** Azure Resource Manager: the types wp reads and writes, the SDK clients (made on first use) and the error wrapping every call shares. */
import type { Registry } from "@azure/arm-containerregistry";
import { type AzureAuth, azureErrorCode, azureStatus, toAzureError } from "./sdk.js";

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
  /** "Succeeded", or "Deleting" while a delete runs (then it holds nothing wp can use). */
  provisioningState?: string;
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
  /** When the assignment was made (ARM's createdOn), when known. */
  createdOn?: Date;
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
export const bare = (scope: string) => scope.replace(/^\/+/, "");
export const notFound = (err: unknown) =>
  azureStatus(err) === 404 ||
  ["ResourceNotFound", "ResourceGroupNotFound", "NotFound"].includes(azureErrorCode(err) ?? "");

export async function orNull<T>(op: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    if (notFound(err)) return null;
    throw toAzureError(op, err);
  }
}

export async function wrap<T>(op: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toAzureError(op, err);
  }
}

export async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export function clientOptions(auth: AzureAuth) {
  return {
    endpoint: auth.endpoints.arm,
    credentialScopes: [`${auth.endpoints.arm}/.default`],
    userAgentOptions: { userAgentPrefix: "wp" },
    ...(auth.ca ? { tlsOptions: { ca: auth.ca } } : {}),
  };
}

export const tagsOf = (t: Record<string, string> | undefined) => ({ ...(t ?? {}) });

export function registryInfo(r: Registry): RegistryInfo {
  return {
    id: r.id ?? "",
    name: r.name ?? "",
    loginServer: r.loginServer ?? "",
    location: r.location,
    tags: tagsOf(r.tags),
    provisioningState: r.provisioningState ?? "",
  };
}

/** The SDK clients, each imported and made on first use. */
export function armClients(auth: AzureAuth, subscriptionId: string) {
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
  return { rm, az, cr, mi };
}

export type ArmClients = ReturnType<typeof armClients>;
