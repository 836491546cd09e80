/**
 * The pool's container registry (kept while it holds repositories, unless --force), the Docker login
 * for it (forgotten, with the profile's build namespace, when wp deletes the registry), and the
 * user-assigned identity the worker pulls with. Each is one resource: read, create, delete, and the
 * facts a teardown needs.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { type Resource, type TeardownContext, usersOf } from "../../engine/resource.js";
import type { StepContext } from "../../engine/types.js";
import { CloudError, UsageError } from "../../errors.js";
import { dockerConfigPath, dockerLogin, forgetLogin, storedLogin } from "../docker.js";
import { ACR_TOKEN_USER, acrRefreshToken, acrRepositories } from "./acr.js";
import {
  type AciContext,
  findIdentity,
  findRegistry,
  lower,
  outputString,
  read,
  requireOutput,
  tags,
  wpTagged,
} from "./context.js";
import { azureErrorCode, tokenClaims } from "./sdk.js";
import { identitiesOf, imageRegistry } from "./template.js";

/** `prefix` + unix seconds + 4 random [a-z0-9], as Prefect names registries. */
export function registryName(prefix: string, now = Date.now()): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const random = [...randomBytes(4)].map((b) => alphabet[b % alphabet.length]).join("");
  return `${prefix}${Math.floor(now / 1000)}${random}`;
}

function setRegistryOutputs(ctx: StepContext, r: { id: string; name: string; loginServer: string }): void {
  ctx.outputs.set("registryId", r.id);
  ctx.outputs.set("registryName", r.name);
  ctx.outputs.set("loginServer", r.loginServer);
  ctx.outputs.set("registry", r.loginServer);
  ctx.outputs.set("dockerNamespace", r.loginServer);
}

/** Why the pool's registry stays because it holds repositories (without --force); undefined: nothing holds it. */
export async function registryKeep(e: AciContext, force: boolean): Promise<string | undefined> {
  const r = await findRegistry(e);
  if (force || !r) return undefined;
  return read(e, "registry-keep", () => repositoriesKeep(e, r.loginServer));
}

async function repositoriesKeep(e: AciContext, loginServer: string): Promise<string | undefined> {
  const { auth, subscription } = await e.azure();
  try {
    const repos = await acrRepositories(auth, loginServer, subscription.tenantId);
    if (!repos.length) return undefined;
    return `holds ${repos.length} ${repos.length === 1 ? "repository" : "repositories"} (--force deletes them)`;
  } catch (err) {
    return `its repositories cannot be listed (${err instanceof Error ? err.message : String(err)}); --force deletes it`;
  }
}

export function registryStep(e: AciContext): Resource {
  const step: Resource = {
    id: "azure.container-registry",
    resource: "Container registry",
    name: e.registryName ?? `${e.names.registryPrefix}…`,
    target: "azure",
    templateVariable: "image_registry",
    after: ["azure.resource-group", "azure.resource-providers"],
    async check(ctx) {
      const found = await findRegistry(e);
      if (found) {
        setRegistryOutputs(ctx, found);
        return { action: "exists", id: found.id, name: found.name, detail: found.loginServer };
      }
      const name = e.registryName ?? e.registryCandidate;
      const taken = e.mode === "provision" ? await (await e.azure()).arm.registryNameTaken(name) : null;
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
    async teardownFacts(ctx) {
      const r = await findRegistry(e);
      if (!r) return {};
      const keep = await registryKeep(e, ctx.force);
      const users = ctx.otherPools
        .filter((p) => lower(imageRegistry(p).registryUrl) === lower(r.loginServer))
        .map((p) => p.name);
      return { tagged: wpTagged(r.tags, e.pool), users, ...(keep ? { keep } : {}) };
    },
    async delete(_ctx, state) {
      const name = state.name ?? (await findRegistry(e))?.name;
      if (name) await (await e.azure()).arm.deleteRegistry(e.names.resourceGroup, name);
    },
  };
  return step;
}

/** Whether this teardown deletes the pool's registry (wp made it for this pool, nothing keeps it). */
async function registryGoes(e: AciContext, registry: Resource, ctx: TeardownContext): Promise<boolean> {
  const r = await findRegistry(e);
  if (!r || !wpTagged(r.tags, e.pool)) return false;
  const facts = (await registry.teardownFacts?.(ctx, { action: "exists", id: r.id, name: r.name })) ?? {};
  const users = [...usersOf(registry, { action: "exists", id: r.id, name: r.name }, ctx), ...(facts.users ?? [])];
  return !facts.keep && users.length === 0;
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

export function dockerLoginStep(e: AciContext, registry: Resource): Resource {
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
        return { action: "exists", name: server, detail: stored.detail, id: server };
      }
      if (stored.found) return { action: "create", name: server, detail: `stored ACR token for ${server} expired` };
      return { action: "create", name: server, detail: `${server} in ${stored.detail}` };
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
    // wp's own login; it goes only with the registry it logs in to.
    async teardownFacts(ctx) {
      return (await registryGoes(e, registry, ctx)) ? { tagged: true } : { tagged: true, keep: "its registry stays" };
    },
    async delete(ctx, state) {
      if (!state.id) return;
      await forgetLogin(state.id, e.docker);
      await ctx.forgetDockerNamespace(state.id);
    },
  };
}

export function identityStep(e: AciContext): Resource {
  const name = e.names.identity;
  return {
    id: "azure.identity",
    resource: "Managed identity",
    name,
    target: "azure",
    templateVariable: "identities",
    after: ["azure.resource-group", "azure.resource-providers"],
    async check(ctx) {
      const i = await findIdentity(e);
      if (!i) return { action: "create", detail: "user-assigned" };
      ctx.outputs.set("identityId", i.id);
      ctx.outputs.set("identityPrincipalId", i.principalId);
      return { action: "exists", id: i.id };
    },
    async apply(ctx) {
      const { arm } = await e.azure();
      // The PUT is idempotent: an identity made since the plan keeps its principal.
      const i = await arm.createIdentity(e.names.resourceGroup, name, e.location, tags(e.pool));
      ctx.outputs.set("identityId", i.id);
      ctx.outputs.set("identityPrincipalId", i.principalId);
      return { action: "create", id: i.id };
    },
    async teardownFacts(ctx, state) {
      const i = await findIdentity(e);
      const users = ctx.otherPools
        .filter((p) => identitiesOf(p).some((x) => lower(x) === lower(state.id)))
        .map((p) => p.name);
      return { tagged: wpTagged(i?.tags, e.pool), users };
    },
    async delete() {
      await (await e.azure()).arm.deleteIdentity(e.names.resourceGroup, name);
    },
  };
}
