/** What every ACI step shares: names, the Azure clients (resolved once), Prefect, Docker settings, lookups. */
import { createHash } from "node:crypto";
import type { CredentialGuard } from "../../engine/credential.js";
import { UsageError } from "../../errors.js";
import type { PrefectApi } from "../../prefect/api.js";
import { pyRepr } from "../../ui/io.js";
import type { DockerOptions } from "../docker.js";
import type { ArmApi, AzureSubscription, IdentityInfo, RegistryInfo } from "./arm.js";
import type { GraphApi, GraphApp, GraphServicePrincipal } from "./graph.js";
import type { AzureAuth, RetryOptions } from "./sdk.js";

export interface AciNames {
  resourceGroup: string;
  app: string;
  registryPrefix: string;
  identity: string;
  /** Prefect credentials block, `<pool>-push-pool-credentials` by default. */
  block: string;
}

export const BLOCK_TYPE = "azure-container-instance-credentials";
/** Prefect's provisioner refuses a third client secret; so does wp, before anything is created. */
export const MAX_SECRETS = 2;
export const ROLE = {
  Contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c",
  AcrPull: "7f951dda-4ed3-4680-a7ca-43fe172d538d",
} as const;

/**
 * Tags on the resource group, registry and identity. Azure refuses `/` in tag names, so the pool tag
 * is `prefect.io.work-pool` (the `prefect.io/work-pool` of the other clouds, with a dot).
 */
export const TAG_POOL = "prefect.io.work-pool";
export const TAG_MANAGER = "managed-by";
export const MANAGER = "wp";

export function tags(pool: string): Record<string, string> {
  return { [TAG_POOL]: pool.slice(0, 256), [TAG_MANAGER]: MANAGER };
}

export interface Azure {
  auth: AzureAuth;
  subscription: AzureSubscription;
  arm: ArmApi;
  graph: GraphApi;
  /** Object id of the signed-in identity (from its ARM token). */
  callerObjectId: string;
  /** The subscription as the record keeps it (as given, else its unique name, else its id). */
  recordedSubscription: string;
}

export interface AciContext {
  pool: string;
  /** provision: plan and apply; read: status, deprovision, rotation, verify (no refusals). */
  mode: "provision" | "read";
  names: AciNames;
  /** --registry-name: use or create exactly this registry. */
  registryName: string | undefined;
  /** The name a new registry gets (prefix + unix seconds + 4 random characters), chosen once per run. */
  registryCandidate: string;
  location: string;
  azure(): Promise<Azure>;
  prefect: PrefectApi;
  docker: DockerOptions;
  guard: CredentialGuard;
  retry: RetryOptions;
  /** Read-only lookups shared by the preflight and the checks of one plan (see `read`). */
  phase: Phase;
}

/**
 * The plan's reads are shared: the preflight and every step's check ask for the same resource group,
 * app and registry. A lookup is cached per plan pass (a pass starts again when a step is checked a
 * second time, as after waiting for another run's lock) and never once any apply has started.
 */
export interface Phase {
  applying: boolean;
  pass: number;
  checks: Map<string, number>;
  cache: Map<string, Promise<unknown>>;
}

export function newPhase(): Phase {
  return { applying: false, pass: 1, checks: new Map(), cache: new Map() };
}

/** Marks the check of `stepId` (a second check of a step starts a new pass). */
export function checking(phase: Phase, stepId: string): void {
  const n = (phase.checks.get(stepId) ?? 0) + 1;
  phase.checks.set(stepId, n);
  if (n > phase.pass) phase.pass = n;
}

export function read<T>(e: AciContext, key: string, fn: () => Promise<T>): Promise<T> {
  if (e.phase.applying) return fn();
  const k = `${e.phase.pass}:${key}`;
  let p = e.phase.cache.get(k) as Promise<T> | undefined;
  if (!p) {
    p = fn();
    e.phase.cache.set(k, p);
    p.catch(() => e.phase.cache.delete(k));
  }
  return p;
}

/** The resource group as Azure has it, also while it is being deleted. */
export async function readGroup(e: AciContext) {
  return read(e, "group", async () => (await e.azure()).arm.getResourceGroup(e.names.resourceGroup));
}

/** The resource group, unless it is being deleted (then it and all it holds are as good as gone). */
export async function findGroup(e: AciContext) {
  const g = await readGroup(e);
  return g && g.provisioningState !== "Deleting" ? g : null;
}

export const rgScope = (sub: string, rg: string) => `/subscriptions/${sub}/resourceGroups/${rg}`;

/** The app registration by display name; two or more with that name is ambiguous (Graph does not keep names unique). */
export async function findApp(e: AciContext): Promise<GraphApp | null> {
  const apps = await read(e, "apps", async () => (await e.azure()).graph.findApps(e.names.app));
  if (apps.length > 1) {
    throw new UsageError(
      `${apps.length} app registrations are named ${pyRepr(e.names.app)} (${apps.map((a) => a.appId).join(", ")}).`,
      "Delete the extra ones, or pass --app-name to use another name.",
    );
  }
  return apps[0] ?? null;
}

export async function findServicePrincipal(e: AciContext): Promise<GraphServicePrincipal | null> {
  const app = await findApp(e);
  return app ? read(e, `sp:${app.appId}`, async () => (await e.azure()).graph.findServicePrincipal(app.appId)) : null;
}

/**
 * The registry this pool uses: the one named by --registry-name, else one in the resource group
 * tagged for this pool by wp whose name has the prefix. Never any other `prefect*` registry.
 */
export async function findRegistry(e: AciContext): Promise<RegistryInfo | null> {
  const { arm } = await e.azure();
  const named = e.registryName;
  if (named) return read(e, "registry", () => arm.getRegistry(e.names.resourceGroup, named));
  if (!(await findGroup(e))) return null;
  const prefix = e.names.registryPrefix.toLowerCase();
  const mine = (await read(e, "registries", () => arm.listRegistries(e.names.resourceGroup)))
    .filter((r) => r.tags[TAG_POOL] === e.pool && r.tags[TAG_MANAGER] === MANAGER)
    .filter((r) => r.name.toLowerCase().startsWith(prefix))
    .sort((a, b) => a.name.localeCompare(b.name));
  return mine[0] ?? null;
}

export async function findIdentity(e: AciContext): Promise<IdentityInfo | null> {
  const { arm } = await e.azure();
  if (!(await findGroup(e))) return null;
  return read(e, "identity", () => arm.getIdentity(e.names.resourceGroup, e.names.identity));
}

/** Whether `principalId` holds role `roleId` exactly at `scope` (matched by role definition id and scope). */
export async function hasRole(e: AciContext, scope: string, roleId: string, principalId: string): Promise<boolean> {
  return (await roleAssignments(e, scope, roleId, principalId)).length > 0;
}

/** A role assignment name derived from (scope, role, principal): a re-run PUTs the same one. */
export function assignmentName(scope: string, roleId: string, principalId: string): string {
  const h = createHash("sha256").update(`${scope.toLowerCase()}|${roleId}|${principalId}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((Number.parseInt(h[16] ?? "0", 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function roleDefinitionId(sub: string, roleId: string): string {
  return `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${roleId}`;
}

export function outputString(outputs: Map<string, unknown>, key: string): string | undefined {
  const v = outputs.get(key);
  return typeof v === "string" && v ? v : undefined;
}

export function requireOutput(outputs: Map<string, unknown>, key: string): string {
  const v = outputString(outputs, key);
  if (!v) throw new Error(`internal: ${key} is not known yet`);
  return v;
}

export const lower = (s: string | undefined) => (s ?? "").toLowerCase();

/** wp's tags for this pool are on the resource. */
export const wpTagged = (t: Record<string, string> | undefined, pool: string) =>
  t?.[TAG_POOL] === pool && t?.[TAG_MANAGER] === MANAGER;

/** The assignments of `roleId` for `principalId` exactly at `scope`. */
export async function roleAssignments(e: AciContext, scope: string, roleId: string, principalId: string) {
  const list = await read(e, `roles:${scope}:${principalId}`, async () =>
    (await e.azure()).arm.listRoleAssignments(scope, principalId),
  );
  return list.filter(
    (a) =>
      lower(a.scope) === lower(scope) &&
      a.principalId === principalId &&
      lower(a.roleDefinitionId).endsWith(`/${roleId}`),
  );
}
