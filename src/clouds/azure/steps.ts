/**
 * The Azure steps, in Prefect's order: resource group, app registration, service principal,
 * Contributor on the group, container registry (+ Docker login), identity, AcrPull on the registry.
 * Existence is always a GET (null on 404); creates are PUTs that are idempotent, or Graph POSTs made
 * only after a read found nothing (under the run's lock).
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Step, StepContext, StepState } from "../../engine/types.js";
import { CloudError, UsageError } from "../../errors.js";
import { dockerConfigPath, dockerLogin, storedLogin } from "../docker.js";
import {
  type AciContext,
  assignmentName,
  findApp,
  findGroup,
  findIdentity,
  findRegistry,
  findServicePrincipal,
  hasRole,
  outputString,
  ROLE,
  requireOutput,
  rgScope,
  roleDefinitionId,
  tags,
} from "./context.js";
import { ACR_TOKEN_USER, acrRefreshToken, azureErrorCode, tokenClaims } from "./sdk.js";

/** `prefix` + unix seconds + 4 random [a-z0-9], as Prefect names registries. */
export function registryName(prefix: string, now = Date.now()): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const random = [...randomBytes(4)].map((b) => alphabet[b % alphabet.length]).join("");
  return `${prefix}${Math.floor(now / 1000)}${random}`;
}

/** The resource providers the pool needs: the registry, the identity, and the container groups the worker runs. */
export const PROVIDERS = ["Microsoft.ContainerRegistry", "Microsoft.ManagedIdentity", "Microsoft.ContainerInstance"];

export function resourceProvidersStep(e: AciContext): Step {
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

export function resourceGroupStep(e: AciContext): Step {
  const name = e.names.resourceGroup;
  return {
    id: "azure.resource-group",
    resource: "Resource group",
    name,
    target: "azure",
    async check(ctx) {
      const g = await findGroup(e);
      if (!g) return { action: "create", detail: `location ${e.location}` };
      ctx.outputs.set("resourceGroupId", g.id);
      return { action: "exists", id: g.id, ...(g.location !== e.location ? { detail: `location ${g.location}` } : {}) };
    },
    async apply(ctx, state) {
      const { arm } = await e.azure();
      // The PUT is idempotent: a group made since the plan keeps its location (or the PUT says why not).
      const found = state.action === "create" ? null : await arm.getResourceGroup(name);
      const g = found ?? (await arm.createResourceGroup(name, e.location, tags(e.pool)));
      ctx.outputs.set("resourceGroupId", g.id);
      return { action: found ? "exists" : "create", id: g.id };
    },
  };
}

export function appStep(e: AciContext): Step {
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
      return { action: "exists", id: app.appId };
    },
    async apply(ctx) {
      const found = await findApp(e);
      const app =
        found ??
        (await (
          await e.azure()
        ).graph.createApp(e.names.app, "Created by wp for Prefect push work pools.", [`managed-by:${"wp"}`]));
      ctx.outputs.set("appId", app.appId);
      ctx.outputs.set("appObjectId", app.id);
      return { action: found ? "exists" : "create", id: app.appId };
    },
  };
}

export function servicePrincipalStep(e: AciContext): Step {
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
    async apply(ctx, state) {
      const { graph } = await e.azure();
      const appId = requireOutput(ctx.outputs, "appId");
      // A principal made since the plan answers 409, which createServicePrincipal reads back.
      const found = state.action === "create" ? null : await graph.findServicePrincipal(appId);
      const sp = found ?? (await graph.createServicePrincipal(appId));
      ctx.outputs.set("servicePrincipalId", sp.id);
      return { action: found ? "exists" : "create", id: sp.id };
    },
  };
}

/** A role assignment step: `role` for a principal at a scope, found by role definition id and scope. */
function roleStep(
  e: AciContext,
  o: {
    id: string;
    role: keyof typeof ROLE;
    name: string;
    after: string[];
    /** Scope and principal as the plan sees them (null: made by an earlier step of this run). */
    lookup(): Promise<{ scope: string; principalId: string } | null>;
    /** Scope and principal from the earlier steps' outputs. */
    fromOutputs(ctx: StepContext): { scope: string; principalId: string };
  },
): Step {
  const roleId = ROLE[o.role];
  return {
    id: o.id,
    resource: "Role assignment",
    name: o.name,
    target: "azure",
    after: o.after,
    async check(): Promise<StepState> {
      const at = await o.lookup();
      if (!at) return { action: "create" };
      if (await hasRole(e, at.scope, roleId, at.principalId)) return { action: "exists", id: at.scope };
      return { action: "create" };
    },
    async apply(ctx, state) {
      const { arm, subscription } = await e.azure();
      const { scope, principalId } = o.fromOutputs(ctx);
      // The PUT is idempotent (a name derived from scope, role and principal; "exists" is success).
      if (state.action !== "create" && (await hasRole(e, scope, roleId, principalId))) {
        return { action: "exists", id: scope };
      }
      await arm.createRoleAssignment(
        scope,
        assignmentName(scope, roleId, principalId),
        roleDefinitionId(subscription.id, roleId),
        principalId,
      );
      return { action: "create", id: scope };
    },
  };
}

export function contributorStep(e: AciContext): Step {
  return roleStep(e, {
    id: "azure.contributor-role",
    role: "Contributor",
    name: `Contributor on ${e.names.resourceGroup} for ${e.names.app}`,
    after: ["azure.service-principal", "azure.resource-group"],
    async lookup() {
      const { subscription } = await e.azure();
      const [sp, g] = await Promise.all([findServicePrincipal(e), findGroup(e)]);
      return sp && g ? { scope: rgScope(subscription.id, e.names.resourceGroup), principalId: sp.id } : null;
    },
    fromOutputs(ctx) {
      return {
        scope: rgScope(requireSubscription(ctx), e.names.resourceGroup),
        principalId: requireOutput(ctx.outputs, "servicePrincipalId"),
      };
    },
  });
}

export function acrPullStep(e: AciContext): Step {
  return roleStep(e, {
    id: "azure.acrpull-role",
    role: "AcrPull",
    name: `AcrPull on the registry for ${e.names.identity}`,
    after: ["azure.identity", "azure.container-registry"],
    async lookup() {
      const [identity, registry] = await Promise.all([findIdentity(e), findRegistry(e)]);
      return identity && registry ? { scope: registry.id, principalId: identity.principalId } : null;
    },
    fromOutputs(ctx) {
      return {
        scope: requireOutput(ctx.outputs, "registryId"),
        principalId: requireOutput(ctx.outputs, "identityPrincipalId"),
      };
    },
  });
}

function requireSubscription(ctx: StepContext): string {
  return requireOutput(ctx.outputs, "subscriptionId");
}

function setRegistryOutputs(ctx: StepContext, r: { id: string; loginServer: string }): void {
  ctx.outputs.set("registryId", r.id);
  ctx.outputs.set("loginServer", r.loginServer);
  ctx.outputs.set("registry", r.loginServer);
  ctx.outputs.set("dockerNamespace", r.loginServer);
}

export function registryStep(e: AciContext): Step {
  return {
    id: "azure.container-registry",
    resource: "Container registry",
    name: e.registryName ?? `${e.names.registryPrefix}…`,
    target: "azure",
    after: ["azure.resource-group", "azure.resource-providers"],
    async check(ctx) {
      const found = await findRegistry(e);
      if (found) {
        setRegistryOutputs(ctx, found);
        return { action: "exists", id: found.id, name: found.name };
      }
      const name = e.registryName ?? e.registryCandidate;
      const taken = await (await e.azure()).arm.registryNameTaken(name);
      if (taken && e.registryName) {
        throw new UsageError(
          `Registry name ${e.registryName} is not available (${taken}).`,
          "Registry names are global across Azure: pass another --registry-name.",
        );
      }
      return { action: "create", name, detail: `Basic SKU, tagged for work pool ${e.pool}` };
    },
    async apply(ctx, state) {
      const { arm } = await e.azure();
      const found = state.action === "create" ? null : await findRegistry(e);
      if (found) {
        setRegistryOutputs(ctx, found);
        return { action: "exists", id: found.id };
      }
      let name = e.registryName ?? state.name ?? e.registryCandidate;
      ctx.note(`Creating container registry ${name} (this may take a few minutes)…`);
      let noted = false;
      const progress = (status: string) => {
        if (noted || status === "succeeded") return;
        noted = true;
        ctx.note(`Container registry ${name}: ${status}; polling until it is ready…`);
      };
      for (let attempt = 0; ; attempt++) {
        try {
          const r = await arm.createRegistry(e.names.resourceGroup, name, e.location, tags(e.pool), progress);
          if (r.provisioningState && r.provisioningState !== "Succeeded") {
            throw new CloudError(`Container registry ${name} ended ${r.provisioningState}.`, r.provisioningState);
          }
          setRegistryOutputs(ctx, r);
          return { action: "create", id: r.id };
        } catch (err) {
          // Taken elsewhere in Azure since the plan: a generated name may pick another one.
          if (azureErrorCode(err) !== "AlreadyInUse" || e.registryName || attempt >= 2) throw err;
          name = registryName(e.names.registryPrefix);
        }
      }
    },
  };
}

export function identityStep(e: AciContext): Step {
  const name = e.names.identity;
  return {
    id: "azure.identity",
    resource: "Managed identity",
    name,
    target: "azure",
    after: ["azure.resource-group", "azure.resource-providers"],
    async check(ctx) {
      const i = await findIdentity(e);
      if (!i) return { action: "create", detail: "user-assigned" };
      ctx.outputs.set("identityId", i.id);
      ctx.outputs.set("identityPrincipalId", i.principalId);
      return { action: "exists", id: i.id };
    },
    async apply(ctx, state) {
      const { arm } = await e.azure();
      // The PUT is idempotent: an identity made since the plan keeps its principal.
      const found = state.action === "create" ? null : await arm.getIdentity(e.names.resourceGroup, name);
      const i = found ?? (await arm.createIdentity(e.names.resourceGroup, name, e.location, tags(e.pool)));
      ctx.outputs.set("identityId", i.id);
      ctx.outputs.set("identityPrincipalId", i.principalId);
      return { action: found ? "exists" : "create", id: i.id };
    },
  };
}

/**
 * ACR refresh tokens last about three hours. A login wp stored in config.json (user 0000…, the token as
 * password) is renewed when its `exp` is past or near; other logins are left alone.
 */
async function acrLoginExpired(server: string, env: Record<string, string | undefined>): Promise<boolean> {
  let config: { auths?: Record<string, { auth?: string }> };
  try {
    config = JSON.parse(await readFile(dockerConfigPath(env), "utf8"));
  } catch {
    return false;
  }
  const auth = config.auths?.[server]?.auth;
  if (!auth) return false;
  const decoded = Buffer.from(auth, "base64").toString("utf8");
  const [user, token] = [decoded.slice(0, decoded.indexOf(":")), decoded.slice(decoded.indexOf(":") + 1)];
  if (user !== ACR_TOKEN_USER) return false;
  const exp = tokenClaims(token).exp;
  return typeof exp === "number" && exp * 1000 < Date.now() + 5 * 60_000;
}

export function dockerLoginStep(e: AciContext): Step {
  return {
    id: "docker.acr-login",
    resource: "Docker login",
    name: "Azure container registry",
    target: "docker",
    after: ["azure.container-registry"],
    async check(ctx) {
      const server = outputString(ctx.outputs, "loginServer") ?? (await findRegistry(e))?.loginServer;
      if (!server) return { action: "create", detail: `new registry in ${dockerConfigPath(e.docker.env)}` };
      const stored = await storedLogin(server, e.docker);
      if (stored.found && !(await acrLoginExpired(server, e.docker.env))) {
        return { action: "exists", detail: stored.detail, id: server };
      }
      if (stored.found) return { action: "create", detail: `stored ACR token for ${server} expired` };
      return { action: "create", detail: `${server} in ${stored.detail}` };
    },
    async apply(ctx) {
      const { auth, subscription } = await e.azure();
      const server = requireOutput(ctx.outputs, "loginServer");
      const password = await acrRefreshToken(auth, server, subscription.tenantId);
      const result = await dockerLogin(
        { registry: server, username: ACR_TOKEN_USER, password, serverUrl: server },
        e.docker,
      );
      ctx.note(result.note);
      return { action: "create", id: server };
    },
  };
}
