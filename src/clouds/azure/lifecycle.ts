/**
 * The ACI pool's life: status of every resource the pool depends on (resource group, app
 * registration and service principal, the block's client secret checked as the block's own identity
 * and for expiry, Contributor on the group, registry, identity and AcrPull, Docker login), the
 * teardown plan in dependency order (the block and its secret, role assignments, identity, registry,
 * app registration with its service principal, the resource group when wp made it and nothing else
 * is in it) and client-secret rotation through the CredentialGuard.
 */

import type { CredentialSpec } from "../../engine/credential.js";
import {
  blockRefOf,
  credentialsBlockTeardown,
  decideTeardown,
  dockerLoginItem,
  type Lifecycle,
  type LifecycleInput,
  type RotateResult,
  type StatusItem,
  stringDefault,
  type TeardownItem,
  templateDefault,
} from "../../engine/lifecycle-types.js";
import type { RecordResource } from "../../engine/record.js";
import { CloudError, UsageError, WpError } from "../../errors.js";
import type { WorkPool } from "../../prefect/types.js";
import { wpCommand } from "../../ui/io.js";
import { storedLogin } from "../docker.js";
import { type ArmApi, type AzureSubscription, armApi, listSubscriptions } from "./arm.js";
import { BLOCK_TYPE, MANAGER, MAX_SECRETS, ROLE, rgScope, TAG_MANAGER, TAG_POOL } from "./context.js";
import { type GraphApi, type GraphApp, graphApi, type PasswordCredential } from "./graph.js";
import { defaultNames } from "./index.js";
import { type AzureAuth, acrRepositories, azureAuth, secretSignsIn } from "./sdk.js";

/** A secret within this many days of its end date is drift: rotate it. */
export const EXPIRY_WARNING_DAYS = 30;
const DAY = 86_400_000;

interface Session {
  auth: AzureAuth;
  subscription: AzureSubscription;
  arm: ArmApi;
  graph: GraphApi;
}

interface BlockSecret {
  clientId?: string;
  tenantId?: string;
  secret?: string;
  data: Record<string, unknown>;
}

const lower = (s: string | undefined) => (s ?? "").toLowerCase();
const lastSegment = (id: string | undefined) => (id ?? "").split("/").filter(Boolean).pop();
const hintOf = (secret: string | undefined) =>
  typeof secret === "string" && secret.length >= 3 && !/^\*+$/.test(secret) ? secret.slice(0, 3) : null;
const wpTagged = (tags: Record<string, string> | undefined, pool: string) =>
  tags?.[TAG_POOL] === pool && tags?.[TAG_MANAGER] === MANAGER;

function imageRegistry(pool: WorkPool): { registryUrl?: string; identity?: string } {
  const v = templateDefault(pool, "image_registry") as { registry_url?: unknown; identity?: unknown } | undefined;
  return {
    ...(typeof v?.registry_url === "string" && v.registry_url ? { registryUrl: v.registry_url } : {}),
    ...(typeof v?.identity === "string" && v.identity ? { identity: v.identity } : {}),
  };
}

function identitiesOf(pool: WorkPool): string[] {
  const v = templateDefault(pool, "identities");
  const list = Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && x !== "") : [];
  const fromRegistry = imageRegistry(pool).identity;
  return fromRegistry && !list.includes(fromRegistry) ? [...list, fromRegistry] : list;
}

export function aciLifecycle(input: LifecycleInput): Lifecycle {
  const { pool, record } = input;
  const entry = (step: string): RecordResource | undefined => record?.record.resources.find((r) => r.step === step);
  const defaults = defaultNames(pool.name);
  const flag = (k: string) =>
    typeof input.flags[k] === "string" && input.flags[k] ? String(input.flags[k]).trim() : undefined;
  const subscriptionId =
    flag("subscription") ??
    stringDefault(pool, "subscription_id") ??
    record?.record.context.subscriptionId ??
    /^\/subscriptions\/([^/]+)/i.exec(entry("azure.resource-group")?.id ?? "")?.[1];
  const resourceGroup =
    stringDefault(pool, "resource_group_name") ?? entry("azure.resource-group")?.name ?? defaults.resourceGroup;
  const identityId = identitiesOf(pool)[0] ?? entry("azure.identity")?.id;
  const identityName = lastSegment(identityId) ?? defaults.identity;
  const identityGroup = /\/resourcegroups\/([^/]+)\//i.exec(identityId ?? "")?.[1] ?? resourceGroup;
  const loginServer = imageRegistry(pool).registryUrl;
  const recordedRegistry = entry("azure.container-registry")?.id;
  const fix = wpCommand("provision-infra", pool.name);
  const rotateFix = wpCommand("rotate-credentials", pool.name);

  let session: Promise<Session> | undefined;
  const azure = (): Promise<Session> => {
    session ??= (async () => {
      const auth = await azureAuth(input.env);
      const subs = await listSubscriptions(auth);
      const subscription = subscriptionId
        ? subs.find((s) => lower(s.id) === lower(subscriptionId))
        : subs.length === 1
          ? subs[0]
          : undefined;
      if (!subscription)
        throw new UsageError(
          subscriptionId
            ? `Azure subscription ${subscriptionId} of work pool '${pool.name}' is not visible to this identity.`
            : `The Azure subscription of work pool '${pool.name}' cannot be found from its template or record.`,
          "Sign in with an identity that can see it, or pass --subscription.",
        );
      const retry = input.env.WP_AZURE_RETRY_BASE_MS
        ? { baseMs: Number(input.env.WP_AZURE_RETRY_BASE_MS), pollMs: Number(input.env.WP_AZURE_RETRY_BASE_MS) }
        : {};
      return { auth, subscription, arm: armApi(auth, subscription.id, retry), graph: graphApi(auth, retry) };
    })();
    return session;
  };

  /** The block's data with its secret (read once; never printed). */
  let blockData: Promise<BlockSecret> | undefined;
  const blockSecret = (): Promise<BlockSecret> => {
    blockData ??= (async () => {
      if (!input.block) return { data: {} };
      const full = await input.api.readBlockDocumentById(input.block.id, true);
      const d = { ...((full?.data ?? {}) as Record<string, unknown>) };
      const str = (k: string) => (typeof d[k] === "string" && d[k] ? (d[k] as string) : undefined);
      const clientId = str("client_id");
      const tenantId = str("tenant_id");
      const secret = str("client_secret");
      return {
        data: d,
        ...(clientId ? { clientId } : {}),
        ...(tenantId ? { tenantId } : {}),
        ...(secret ? { secret } : {}),
      };
    })();
    return blockData;
  };

  /** The app registration: the block's client id, else the record's, else Prefect's default name. */
  async function findApp(s: Session): Promise<GraphApp | null> {
    const b = await blockSecret();
    const appId = b.clientId ?? entry("azure.app-registration")?.id;
    if (appId) return s.graph.findAppByAppId(appId);
    const apps = await s.graph.findApps(entry("azure.app-registration")?.name ?? defaults.app);
    return apps.length === 1 ? (apps[0] ?? null) : null;
  }

  async function findRegistry(s: Session) {
    if (!(await s.arm.getResourceGroup(resourceGroup))) return null;
    const all = await s.arm.listRegistries(resourceGroup);
    return (
      all.find((r) => recordedRegistry && lower(r.id) === lower(recordedRegistry)) ??
      all.find((r) => loginServer && lower(r.loginServer) === lower(loginServer)) ??
      null
    );
  }

  async function hasRole(s: Session, scope: string, roleId: string, principalId: string) {
    const list = await s.arm.listRoleAssignments(scope, principalId);
    return list.filter(
      (a) =>
        lower(a.scope) === lower(scope) &&
        a.principalId === principalId &&
        lower(a.roleDefinitionId).endsWith(`/${roleId}`),
    );
  }

  /** Hints of the secrets other ACI blocks hold for `appId` (null: one of them cannot be read: all held). */
  async function hintsHeldElsewhere(appId: string): Promise<Set<string> | null> {
    const out = new Set<string>();
    for (const d of await input.api.listBlockDocuments(BLOCK_TYPE)) {
      if (d.id === input.block?.id || d.data?.client_id !== appId) continue;
      const full = d.name ? await input.api.readBlockDocument(BLOCK_TYPE, d.name, true) : null;
      const hint = hintOf(full?.data?.client_secret as string | undefined);
      if (hint === null) return null;
      out.add(hint);
    }
    return out;
  }

  /** Other pools whose blocks hold a secret of `appId` (they need the app, its principal and Contributor). */
  async function appHolders(appId: string): Promise<string[]> {
    const out: string[] = [];
    for (const d of await input.api.listBlockDocuments(BLOCK_TYPE)) {
      if (d.id === input.block?.id || d.data?.client_id !== appId) continue;
      out.push(input.otherPools.find((p) => blockRefOf(p, "aci_credentials") === d.id)?.name ?? `block ${d.name}`);
    }
    return out;
  }

  /** Other pools that use a resource: by their records (same step and id), or by their templates. */
  const usedBy = (step: string, id: string | undefined, inTemplate?: (p: WorkPool) => boolean): string[] => {
    if (!id) return [];
    const out = new Set<string>();
    for (const r of input.otherRecords)
      if (r.record.resources.some((x) => x.step === step && lower(x.id) === lower(id))) out.add(r.record.work_pool);
    if (inTemplate) for (const p of input.otherPools) if (p.type.startsWith("azure") && inTemplate(p)) out.add(p.name);
    return [...out];
  };

  const secretsOfBlock = (creds: PasswordCredential[], secret: string | undefined) => {
    const hint = hintOf(secret);
    return hint ? creds.filter((c) => c.hint === hint) : [];
  };

  return {
    blockType: BLOCK_TYPE,
    async target() {
      const s = await azure();
      return `Azure subscription ${s.subscription.name} (${s.subscription.id}), resource group ${resourceGroup}`;
    },
    async lockScopes() {
      const s = await azure();
      return [`Azure subscription ${s.subscription.id}`, `Entra ID tenant ${s.subscription.tenantId}`];
    },
    unknowns() {
      if (record) return [];
      return [
        "No provisioning record: the resource group, registry and identity count as wp's for this pool only when " +
          `tagged ${TAG_POOL}=${pool.name} and ${TAG_MANAGER}=${MANAGER}; the app registration, its service principal ` +
          "and the role assignments carry no such tags and count as adopted (never deleted).",
      ];
    },

    async status() {
      const s = await azure();
      const items: StatusItem[] = [];
      const group = await s.arm.getResourceGroup(resourceGroup);
      items.push(
        group
          ? { resource: "Resource group", name: resourceGroup, id: group.id, state: "ok", detail: group.location }
          : { resource: "Resource group", name: resourceGroup, state: "missing", fix },
      );

      const app = await findApp(s);
      const b = await blockSecret();
      const appName = app?.displayName ?? entry("azure.app-registration")?.name ?? defaults.app;
      items.push(
        app
          ? { resource: "App registration", name: appName, id: app.appId, state: "ok" }
          : {
              resource: "App registration",
              name: appName,
              ...(b.clientId ? { id: b.clientId } : {}),
              state: "missing",
              fix,
            },
      );
      const sp = app ? await s.graph.findServicePrincipal(app.appId) : null;
      items.push(
        sp
          ? { resource: "Service principal", name: appName, id: sp.id, state: "ok" }
          : { resource: "Service principal", name: appName, state: "missing", fix },
      );

      // The block's client secret, as the block's own identity, and its end date.
      if (input.block) {
        const name = input.block.name ?? input.block.id;
        const base = { resource: "Client secret", name };
        const mine = app ? secretsOfBlock(app.passwordCredentials, b.secret) : [];
        if (!b.clientId || !b.tenantId || !b.secret)
          items.push({
            ...base,
            state: "missing",
            detail: "the block lacks client_id, tenant_id or client_secret",
            fix,
          });
        else if (app && mine.length === 0)
          items.push({
            ...base,
            state: "missing",
            detail: `the block's secret is not on app registration ${appName} (deleted in the cloud?)`,
            fix: rotateFix,
          });
        else {
          const keyId = mine.length === 1 ? mine[0]?.keyId : undefined;
          const withId = keyId ? { id: keyId } : {};
          const problem = await secretSignsIn(input.env, {
            tenantId: b.tenantId,
            clientId: b.clientId,
            clientSecret: b.secret,
          });
          const ends = mine
            .map((c) => (c.endDateTime ? Date.parse(c.endDateTime) : Number.NaN))
            .filter((t) => Number.isFinite(t))
            .sort((x, y) => x - y)[0];
          const endText = ends !== undefined ? new Date(ends).toISOString().slice(0, 10) : undefined;
          if (problem)
            items.push({ ...base, ...withId, state: "drift", detail: `does not sign in: ${problem}`, fix: rotateFix });
          else if (ends !== undefined && ends - Date.now() < EXPIRY_WARNING_DAYS * DAY)
            items.push({
              ...base,
              ...withId,
              state: "drift",
              detail: `${ends < Date.now() ? "expired" : "expires"} ${endText} (within ${EXPIRY_WARNING_DAYS} days)`,
              fix: rotateFix,
            });
          else
            items.push({
              ...base,
              ...withId,
              state: "ok",
              detail: `signs in as ${b.clientId}${endText ? `; expires ${endText}` : ""}`,
            });
        }
      }

      const scope = rgScope(s.subscription.id, resourceGroup);
      const contributor = sp && group ? await hasRole(s, scope, ROLE.Contributor, sp.id) : [];
      items.push(
        contributor.length
          ? {
              resource: "Role assignment",
              name: `Contributor on ${resourceGroup}`,
              id: contributor[0]?.id ?? "",
              state: "ok",
            }
          : {
              resource: "Role assignment",
              name: `Contributor on ${resourceGroup}`,
              state: sp && group ? "drift" : "missing",
              detail: `${appName} lacks Contributor on the resource group`,
              fix,
            },
      );

      const registry = group ? await findRegistry(s) : null;
      items.push(
        registry
          ? {
              resource: "Container registry",
              name: registry.name,
              id: registry.id,
              state: "ok",
              detail: registry.loginServer,
            }
          : {
              resource: "Container registry",
              name: loginServer ?? "(none)",
              state: "missing",
              detail: loginServer ? `no registry ${loginServer} in ${resourceGroup}` : "the template names no registry",
              fix,
            },
      );
      const identity = (await s.arm.getResourceGroup(identityGroup))
        ? await s.arm.getIdentity(identityGroup, identityName)
        : null;
      items.push(
        identity
          ? { resource: "Managed identity", name: identityName, id: identity.id, state: "ok" }
          : { resource: "Managed identity", name: identityName, state: "missing", fix },
      );
      const pull = identity && registry ? await hasRole(s, registry.id, ROLE.AcrPull, identity.principalId) : [];
      items.push(
        pull.length
          ? { resource: "Role assignment", name: `AcrPull on the registry`, id: pull[0]?.id ?? "", state: "ok" }
          : {
              resource: "Role assignment",
              name: "AcrPull on the registry",
              state: identity && registry ? "drift" : "missing",
              detail: `${identityName} cannot pull from the registry`,
              fix,
            },
      );
      const server = registry?.loginServer ?? loginServer;
      if (server) {
        const login = await storedLogin(server, { env: input.env });
        items.push(dockerLoginItem(server, login, fix));
      }
      return items;
    },

    async teardown({ force }) {
      const s = await azure();
      const items: TeardownItem[] = [];
      const b = await blockSecret();
      const app = await findApp(s);
      const group = await s.arm.getResourceGroup(resourceGroup);
      const holders = app ? await appHolders(app.appId) : [];

      const decide = decideTeardown;
      const createdByWp = (step: string, tags?: Record<string, string>) =>
        entry(step)?.created === true || wpTagged(tags, pool.name);

      // 1. The credentials block, with its client secret (unless another block holds the same one).
      if (input.block) {
        const heldElsewhere = app ? await hintsHeldElsewhere(app.appId) : null;
        const hint = hintOf(b.secret);
        const mine =
          app && hint && heldElsewhere && !heldElsewhere.has(hint)
            ? secretsOfBlock(app.passwordCredentials, b.secret)
            : [];
        items.push(
          ...credentialsBlockTeardown(
            input,
            "prefect.aci-credentials",
            entry("prefect.aci-credentials")?.created === true,
            app && mine.length
              ? {
                  reason: `with client secret ${mine.map((c) => c.keyId).join(", ")}`,
                  revoke: async () => {
                    for (const c of mine) await s.graph.removePassword(app.id, c.keyId);
                  },
                }
              : undefined,
          ),
        );
      }

      // 2. Role assignments: AcrPull on the registry, Contributor on the group.
      const registry = group ? await findRegistry(s) : null;
      const identity = (await s.arm.getResourceGroup(identityGroup))
        ? await s.arm.getIdentity(identityGroup, identityName)
        : null;
      const pull = registry && identity ? await hasRole(s, registry.id, ROLE.AcrPull, identity.principalId) : [];
      items.push(
        decide(
          {
            step: "azure.acrpull-role",
            resource: "Role assignment",
            name: `AcrPull on ${registry?.name ?? "the registry"} for ${identityName}`,
            ...(pull[0] ? { id: pull[0].id } : {}),
          },
          pull.length > 0,
          entry("azure.acrpull-role")?.created === true,
          usedBy("azure.acrpull-role", registry?.id),
          async () => {
            for (const a of pull) await s.arm.deleteRoleAssignment(a.id);
          },
        ),
      );
      const sp = app ? await s.graph.findServicePrincipal(app.appId) : null;
      const scope = rgScope(s.subscription.id, resourceGroup);
      const contributor = sp && group ? await hasRole(s, scope, ROLE.Contributor, sp.id) : [];
      const appUsers = [
        ...new Set([
          ...usedBy("azure.app-registration", app?.appId),
          ...usedBy("azure.service-principal", sp?.id),
          ...holders,
        ]),
      ];
      items.push(
        decide(
          {
            step: "azure.contributor-role",
            resource: "Role assignment",
            name: `Contributor on ${resourceGroup} for ${app?.displayName ?? defaults.app}`,
            ...(contributor[0] ? { id: contributor[0].id } : {}),
          },
          contributor.length > 0,
          entry("azure.contributor-role")?.created === true,
          [...new Set([...usedBy("azure.contributor-role", scope), ...appUsers])],
          async () => {
            for (const a of contributor) await s.arm.deleteRoleAssignment(a.id);
          },
        ),
      );

      // 3. The identity.
      const identityItem = decide(
        {
          step: "azure.identity",
          resource: "Managed identity",
          name: identityName,
          ...(identity ? { id: identity.id } : {}),
        },
        Boolean(identity),
        createdByWp("azure.identity", identity?.tags),
        usedBy("azure.identity", identity?.id, (p) => identitiesOf(p).some((i) => lower(i) === lower(identity?.id))),
        () => s.arm.deleteIdentity(identityGroup, identityName),
      );
      items.push(identityItem);

      // 4. The registry: kept while it holds repositories, unless --force.
      let repoNote: string | undefined;
      if (registry && !force) {
        try {
          const repos = await acrRepositories(s.auth, registry.loginServer, s.subscription.tenantId);
          if (repos.length)
            repoNote = `holds ${repos.length} ${repos.length === 1 ? "repository" : "repositories"} (--force deletes them)`;
        } catch (err) {
          repoNote = `its repositories cannot be listed (${err instanceof Error ? err.message : String(err)}); --force deletes it`;
        }
      }
      const registryItem = decide(
        {
          step: "azure.container-registry",
          resource: "Container registry",
          name: registry?.name ?? loginServer ?? "(none)",
          ...(registry ? { id: registry.id } : {}),
        },
        Boolean(registry),
        createdByWp("azure.container-registry", registry?.tags),
        usedBy(
          "azure.container-registry",
          registry?.id,
          (p) => lower(imageRegistry(p).registryUrl) === lower(registry?.loginServer),
        ),
        () => s.arm.deleteRegistry(resourceGroup, registry?.name ?? ""),
        repoNote,
      );
      items.push(registryItem);

      // 5. The app registration (deleting it deletes its service principal and its secrets).
      items.push(
        decide(
          {
            step: "azure.app-registration",
            resource: "App registration",
            name: app?.displayName ?? defaults.app,
            ...(app ? { id: app.appId } : {}),
            ...(app ? { reason: "with its service principal and client secrets" } : {}),
          },
          Boolean(app),
          entry("azure.app-registration")?.created === true,
          appUsers,
          async () => {
            if (app) await s.graph.deleteApp(app.id);
          },
        ),
      );

      // 6. The resource group: only when wp made it and nothing but what this teardown deletes is in it.
      const deleting = new Set(
        [identityItem, registryItem].filter((i) => i.action === "delete" && i.id).map((i) => lower(i.id)),
      );
      const others = group
        ? (await s.arm.listGroupResources(resourceGroup)).filter((r) => !deleting.has(lower(r.id)))
        : [];
      items.push(
        decide(
          {
            step: "azure.resource-group",
            resource: "Resource group",
            name: resourceGroup,
            ...(group ? { id: group.id } : {}),
          },
          Boolean(group),
          createdByWp("azure.resource-group", group?.tags),
          usedBy("azure.resource-group", group?.id, (p) => stringDefault(p, "resource_group_name") === resourceGroup),
          async () => {
            const left = await s.arm.listGroupResources(resourceGroup);
            if (left.length)
              throw new CloudError(
                `Resource group ${resourceGroup} still holds ${left.map((r) => r.name).join(", ")}; it was not deleted.`,
                "ResourceGroupNotEmpty",
              );
            await s.arm.deleteResourceGroup(resourceGroup);
          },
          others.length
            ? `holds ${others.length} other resource${others.length === 1 ? "" : "s"} (${others.map((r) => r.name).join(", ")})`
            : undefined,
        ),
      );
      items.push({
        step: "azure.resource-providers",
        resource: "Resource providers",
        name: "ContainerRegistry, ManagedIdentity, ContainerInstance",
        action: "keep",
        reason: "registrations stay (other workloads may use them)",
      });
      return items;
    },

    async rotate(): Promise<RotateResult> {
      if (!input.block)
        throw new WpError(`Work pool '${pool.name}' references no ACI credentials block.`, `Run \`${fix}\`.`);
      const s = await azure();
      const blockId = input.block.id;
      const b = await blockSecret();
      const app = await findApp(s);
      if (!app)
        throw new WpError(
          `The app registration of work pool '${pool.name}' (${b.clientId ?? defaults.app}) does not exist.`,
          `Run \`${fix}\` first.`,
        );
      const tenantId = b.tenantId ?? s.subscription.tenantId;
      const old = secretsOfBlock(app.passwordCredentials, b.secret);
      const others = app.passwordCredentials.filter((c) => !old.includes(c));
      if (others.length >= MAX_SECRETS)
        throw new UsageError(
          `App registration ${app.displayName} (${app.appId}) holds ${others.length} client secrets besides the block's ` +
            `(${others.map((c) => c.keyId).join(", ")}); wp keeps at most ${MAX_SECRETS} besides the one it rotates.`,
          `Delete an unused secret (az ad app credential delete --id ${app.appId} --key-id …) and run again.`,
        );
      const displayName = `wp: Prefect work pool ${pool.name}`;
      const spec: CredentialSpec<{ id: string; secretText: string }> = {
        scope: `azure:${tenantId}:app/${app.appId}`,
        noun: "client secret",
        owner: `app registration ${app.displayName} (${app.appId})`,
        async mint() {
          const n = await s.graph.addPassword(app.id, displayName);
          return { id: n.keyId, secretText: n.secretText };
        },
        revoke: (id) => s.graph.removePassword(app.id, id),
        list: async () =>
          ((await s.graph.getApp(app.id))?.passwordCredentials ?? []).map((p) => ({
            id: p.keyId,
            created: p.startDateTime ? new Date(p.startDateTime) : undefined,
          })),
        async held() {
          const creds = (await s.graph.getApp(app.id))?.passwordCredentials ?? [];
          const held = new Set<string>();
          for (const d of await input.api.listBlockDocuments(BLOCK_TYPE)) {
            if (d.data?.client_id !== app.appId) continue;
            const full = d.name ? await input.api.readBlockDocument(BLOCK_TYPE, d.name, true) : null;
            const hint = hintOf(full?.data?.client_secret as string | undefined);
            for (const c of creds) if (hint === null || c.hint === hint) held.add(c.keyId);
          }
          return held;
        },
      };
      await input.guard.recover(spec, input.note);
      const newId = await input.guard.mintInto(
        spec,
        async (n) => {
          if (!n.secretText) throw new CloudError("Microsoft Graph returned no secret text.", "NoSecretText");
          await input.api.updateBlockDocument(blockId, {
            ...b.data,
            client_id: app.appId,
            tenant_id: tenantId,
            client_secret: n.secretText,
          });
          // Entra ID can take a moment to accept a new secret.
          let problem: string | null = "not checked";
          for (let i = 0; i < 8 && problem; i++) {
            problem = await secretSignsIn(input.env, { tenantId, clientId: app.appId, clientSecret: n.secretText });
            if (problem) await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** i, 8000)));
          }
          if (problem) {
            await input.api.updateBlockDocument(blockId, b.data);
            await s.graph.removePassword(app.id, n.id);
            throw new CloudError(
              `The new client secret ${n.id} does not sign in (${problem}); the block keeps the old one.`,
            );
          }
          return n.id;
        },
        input.note,
      );
      // The old secret, by its hint: deleted unless another block holds a secret with the same hint.
      const heldElsewhere = await hintsHeldElsewhere(app.appId);
      const hint = hintOf(b.secret);
      const removable = heldElsewhere && hint && !heldElsewhere.has(hint) ? old.filter((c) => c.keyId !== newId) : [];
      for (const c of removable) await s.graph.removePassword(app.id, c.keyId);
      return {
        block: input.block.name ?? blockId,
        newId,
        ...(removable.length ? { oldId: removable.map((c) => c.keyId).join(", ") } : {}),
        checked: `an Entra ID token was issued for ${app.appId} with the new secret`,
      };
    },
  };
}
