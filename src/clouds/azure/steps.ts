/**
 * The Azure resources in Prefect's order: resource providers, resource group, app registration,
 * service principal, Contributor on the group, AcrPull on the registry (registry.ts: the registry,
 * its Docker login, the identity). Existence is always a GET (null on 404); creates are PUTs that are
 * idempotent, or Graph POSTs made only after a read found nothing (under the run's lock); deletes
 * treat "already gone" (404) as success.
 */
import { blockRefOf } from "../../engine/lifecycle-types.js";
import type { Resource, TeardownContext } from "../../engine/resource.js";
import type { StepContext, StepState } from "../../engine/types.js";
import { waitUntil } from "../../engine/wait.js";
import { CloudError } from "../../errors.js";
import {
  type AciContext,
  assignmentName,
  BLOCK_TYPE,
  findApp,
  findGroup,
  findIdentity,
  findRegistry,
  findServicePrincipal,
  lower,
  outputString,
  ROLE,
  readGroup,
  requireOutput,
  rgScope,
  roleAssignments,
  roleDefinitionId,
  tags,
  wpTagged,
} from "./context.js";
import { registryKeep } from "./registry.js";
import { azureErrorCode } from "./sdk.js";

export { dockerLoginStep, identityStep, registryName, registryStep } from "./registry.js";

/** The resource providers the pool needs: the registry, the identity, and the container groups the worker runs. */
export const PROVIDERS = ["Microsoft.ContainerRegistry", "Microsoft.ManagedIdentity", "Microsoft.ContainerInstance"];

/** Registrations stay (other workloads may use them): no delete. */
export function resourceProvidersStep(e: AciContext): Resource {
  const missing = async () => {
    const { arm } = await e.azure();
    const states = await Promise.all(PROVIDERS.map(async (ns) => [ns, await arm.providerState(ns)] as const));
    return states.filter(([, state]) => state !== "Registered").map(([ns]) => ns);
  };
  return {
    id: "azure.resource-providers",
    resource: "Resource providers",
    name: "ContainerRegistry, ManagedIdentity, ContainerInstance",
    target: "azure",
    async check() {
      const todo = await missing();
      return todo.length ? { action: "create", detail: `register ${todo.join(", ")}` } : { action: "exists" };
    },
    async apply(ctx) {
      const { arm } = await e.azure();
      const todo = await missing();
      await Promise.all(
        todo.map((ns) => {
          let noted = false;
          return arm.registerProvider(ns, (state) => {
            if (noted) return;
            noted = true;
            ctx.note(`Resource provider ${ns}: ${state}; waiting until it is registered…`);
          });
        }),
      );
      return { action: todo.length ? "create" : "exists" };
    },
  };
}

/** The longest wp waits for another delete of the resource group to finish. */
const GROUP_DELETE_MS = 30 * 60_000;

export function resourceGroupStep(e: AciContext): Resource {
  const name = e.names.resourceGroup;
  return {
    id: "azure.resource-group",
    resource: "Resource group",
    name,
    target: "azure",
    templateVariable: "resource_group_name",
    async check(ctx) {
      const g = await findGroup(e);
      if (!g && (await readGroup(e)))
        return { action: "create", detail: `being deleted; wp waits for that, then creates it in ${e.location}` };
      if (!g) return { action: "create", detail: `location ${e.location}` };
      ctx.outputs.set("resourceGroupId", g.id);
      ctx.outputs.set("location", g.location);
      return { action: "exists", id: g.id, detail: g.location };
    },
    async apply(ctx) {
      // The PUT is idempotent: a group made since the plan keeps its location (or the PUT says why not).
      // A group being deleted refuses it (ResourceGroupBeingDeleted): the delete is waited out first.
      const { arm } = await e.azure();
      const put = () => arm.createResourceGroup(name, e.location, tags(e.pool));
      const g = await put().catch(async (err: unknown) => {
        if (azureErrorCode(err) !== "ResourceGroupBeingDeleted") throw err;
        await waitUntil({
          what: `resource group ${name} to finish being deleted`,
          why: "Azure deletes a resource group and everything in it in the background, which can take minutes",
          timeoutMs: GROUP_DELETE_MS,
          intervalMs: e.retry.pollMs ?? 2000,
          note: ctx.note,
          attempt: async () =>
            (await arm.getResourceGroup(name)) ? { done: false, reason: "Deleting" } : { done: true, value: null },
        });
        return put();
      });
      ctx.outputs.set("resourceGroupId", g.id);
      ctx.outputs.set("location", g.location || e.location);
      return { action: "create", id: g.id };
    },
    async teardownFacts(ctx) {
      const g = await findGroup(e);
      // What this teardown deletes in the group: the pool's registry (unless it is kept) and identity.
      const [registry, identity, keepRegistry] = await Promise.all([
        findRegistry(e),
        findIdentity(e),
        registryKeep(e, ctx.force),
      ]);
      const going = new Set([keepRegistry ? "" : lower(registry?.id), lower(identity?.id)].filter(Boolean));
      // Verify's container groups are removed first by the teardown (the journal's leftovers).
      const verifyGroup = (r: { type: string; name: string }) =>
        lower(r.type) === "microsoft.containerinstance/containergroups" && r.name.startsWith("wp-verify-");
      const others = (await (await e.azure()).arm.listGroupResources(name)).filter(
        (r) => !going.has(lower(r.id)) && !verifyGroup(r),
      );
      const keep = others.length
        ? `holds ${others.length} other resource${others.length === 1 ? "" : "s"} (${others.map((r) => r.name).join(", ")})`
        : undefined;
      return { tagged: wpTagged(g?.tags, e.pool), ...(keep ? { keep } : {}) };
    },
    async delete() {
      const { arm } = await e.azure();
      const left = await arm.listGroupResources(name);
      if (left.length)
        throw new CloudError(
          `Resource group ${name} still holds ${left.map((r) => r.name).join(", ")}; it was not deleted.`,
          "ResourceGroupNotEmpty",
        );
      await arm.deleteResourceGroup(name);
    },
  };
}

/** Other pools whose credentials blocks hold a secret of `appId` (they need the app, its principal and Contributor). */
async function appHolders(e: AciContext, ctx: TeardownContext, appId: string | undefined): Promise<string[]> {
  if (!appId) return [];
  const out: string[] = [];
  for (const d of await ctx.prefect.listBlockDocuments(BLOCK_TYPE)) {
    if (d.name === e.names.block || d.data?.client_id !== appId) continue;
    out.push(ctx.otherPools.find((p) => blockRefOf(p, "aci_credentials") === d.id)?.name ?? `block ${d.name}`);
  }
  return out;
}

export function appStep(e: AciContext): Resource {
  return {
    id: "azure.app-registration",
    resource: "App registration",
    name: e.names.app,
    target: "azure",
    async check(ctx) {
      const app = await findApp(e);
      if (!app) return { action: "create", detail: "Microsoft Entra ID" };
      ctx.outputs.set("appId", app.appId);
      ctx.outputs.set("appObjectId", app.id);
      if (app.createdDateTime) ctx.outputs.set("appCreated", app.createdDateTime);
      return { action: "exists", id: app.appId };
    },
    async apply(ctx) {
      const graph = (await e.azure()).graph;
      const app = await graph.createApp(e.names.app, "Created by wp for Prefect push work pools.", ["managed-by:wp"]);
      ctx.outputs.set("appId", app.appId);
      ctx.outputs.set("appObjectId", app.id);
      ctx.outputs.set("appCreated", app.createdDateTime ?? new Date().toISOString());
      return { action: "create", id: app.appId };
    },
    // No tag says which pool an app serves: without a record entry it counts as adopted.
    async teardownFacts(ctx, state) {
      return { users: await appHolders(e, ctx, state.id) };
    },
    // Deleting the app registration deletes its service principal and its secrets.
    async delete() {
      const app = await findApp(e);
      if (app) await (await e.azure()).graph.deleteApp(app.id);
    },
  };
}

/** Deleted with its app registration (app's delete): no delete of its own. */
export function servicePrincipalStep(e: AciContext): Resource {
  return {
    id: "azure.service-principal",
    resource: "Service principal",
    name: e.names.app,
    target: "azure",
    after: ["azure.app-registration"],
    async check(ctx) {
      const sp = await findServicePrincipal(e);
      if (!sp) return { action: "create", detail: "for the app registration" };
      ctx.outputs.set("servicePrincipalId", sp.id);
      return { action: "exists", id: sp.id };
    },
    async apply(ctx) {
      // A principal made since the plan answers 409, which createServicePrincipal reads back.
      const sp = await (await e.azure()).graph.createServicePrincipal(requireOutput(ctx.outputs, "appId"), {
        appCreated: outputString(ctx.outputs, "appCreated"),
      });
      ctx.outputs.set("servicePrincipalId", sp.id);
      return { action: "create", id: sp.id };
    },
  };
}

interface RoleDef {
  id: string;
  role: keyof typeof ROLE;
  after: string[];
  /** The assignment's name in the plan and the record, for the scope and principal the plan sees. */
  name(): Promise<string>;
  /** Scope and principal as the plan sees them (null: made by an earlier step of this run). */
  lookup(): Promise<{ scope: string; principalId: string } | null>;
  /** Scope and principal from the earlier steps' outputs. */
  fromOutputs(ctx: StepContext): { scope: string; principalId: string };
  users?(ctx: TeardownContext): Promise<string[]>;
}

/** A role assignment: `role` for a principal at a scope, found by role definition id and scope. */
function roleStep(e: AciContext, o: RoleDef, fallbackName: string): Resource {
  const roleId = ROLE[o.role];
  const found = async () => {
    const at = await o.lookup();
    return at ? roleAssignments(e, at.scope, roleId, at.principalId) : [];
  };
  return {
    id: o.id,
    resource: "Role assignment",
    name: fallbackName,
    target: "azure",
    after: o.after,
    async check(): Promise<StepState> {
      const [list, name] = await Promise.all([found(), o.name()]);
      if (list[0]) return { action: "exists", id: list[0].id, name };
      return { action: "create", name };
    },
    async apply(ctx) {
      const { arm, subscription } = await e.azure();
      const { scope, principalId } = o.fromOutputs(ctx);
      // The PUT is idempotent (a name derived from scope, role and principal; "exists" is success).
      const name = assignmentName(scope, roleId, principalId);
      await arm.createRoleAssignment(scope, name, roleDefinitionId(subscription.id, roleId), principalId);
      return { action: "create", id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}` };
    },
    async teardownFacts(ctx) {
      return { users: (await o.users?.(ctx)) ?? [] };
    },
    async delete() {
      const { arm } = await e.azure();
      for (const a of await found()) await arm.deleteRoleAssignment(a.id);
    },
  };
}

export function contributorStep(e: AciContext): Resource {
  const name = `Contributor on ${e.names.resourceGroup} for ${e.names.app}`;
  return roleStep(
    e,
    {
      id: "azure.contributor-role",
      role: "Contributor",
      after: ["azure.service-principal", "azure.resource-group"],
      name: async () => name,
      async lookup() {
        const { subscription } = await e.azure();
        const [sp, g] = await Promise.all([findServicePrincipal(e), findGroup(e)]);
        return sp && g ? { scope: rgScope(subscription.id, e.names.resourceGroup), principalId: sp.id } : null;
      },
      fromOutputs: (ctx) => ({
        scope: rgScope(requireOutput(ctx.outputs, "subscriptionId"), e.names.resourceGroup),
        principalId: requireOutput(ctx.outputs, "servicePrincipalId"),
      }),
      users: async (ctx) => appHolders(e, ctx, (await findApp(e))?.appId),
    },
    name,
  );
}

export function acrPullStep(e: AciContext): Resource {
  const generic = `AcrPull on the registry for ${e.names.identity}`;
  return roleStep(
    e,
    {
      id: "azure.acrpull-role",
      role: "AcrPull",
      after: ["azure.identity", "azure.container-registry"],
      // Each pool has its own registry: the name says which.
      name: async () =>
        `AcrPull on ${(await findRegistry(e))?.name ?? e.registryName ?? e.registryCandidate} for ${e.names.identity}`,
      async lookup() {
        const [identity, registry] = await Promise.all([findIdentity(e), findRegistry(e)]);
        return identity && registry ? { scope: registry.id, principalId: identity.principalId } : null;
      },
      fromOutputs: (ctx) => ({
        scope: requireOutput(ctx.outputs, "registryId"),
        principalId: requireOutput(ctx.outputs, "identityPrincipalId"),
      }),
    },
    generic,
  );
}
