/**
 * The `azure-container-instance:push` (and pull) provisioner: Prefect's ACI resources, names and order
 * as wp steps, on the Azure SDKs and Microsoft Graph. Independent chains run concurrently:
 * resource group → (registry → Docker login ∥ identity) → AcrPull; app → service principal →
 * Contributor; app → client secret + credentials block.
 */

import { CredentialGuard } from "../../engine/credential.js";
import { deploySample } from "../../engine/deploy-sample.js";
import type { ProviderInput } from "../../engine/provider.js";
import type { Resource } from "../../engine/resource.js";
import type { Outputs, Provisioner, Target } from "../../engine/types.js";
import { UsageError } from "../../errors.js";
import { wpHome } from "../../home.js";
import type { PrefectApi } from "../../prefect/api.js";
import { blockRef, withDefaults } from "../../prefect/template.js";
import type { JobTemplate } from "../../prefect/types.js";
import type { Prompter } from "../../ui/prompts.js";
import { type DockerOptions, dockerConfigPath } from "../docker.js";
import { type AzureSubscription, armApi, listSubscriptions } from "./arm.js";
import { type AciContext, type AciNames, type Azure, checking, newPhase, outputString } from "./context.js";
import { checkSecretQuota, credentialsStep } from "./credentials.js";
import { graphApi } from "./graph.js";
import { permissionReport } from "./preflight.js";
import { DEFAULT_LOCATION } from "./provider.js";
import { type AzureAuth, azureAuth, type Env, type RetryOptions, tokenClaims, tokenFor } from "./sdk.js";
import {
  acrPullStep,
  appStep,
  contributorStep,
  dockerLoginStep,
  identityStep,
  registryName,
  registryStep,
  resourceGroupStep,
  resourceProvidersStep,
  servicePrincipalStep,
} from "./steps.js";

export type { AciNames } from "./context.js";

export interface AciProvisionerOptions {
  poolName: string;
  /** provision (default): plan and apply; read: status, deprovision, rotation, verify (no refusals). */
  mode?: "provision" | "read";
  type?: string;
  prefect: PrefectApi;
  names?: Partial<AciNames>;
  /** --subscription: id or display name. */
  subscription?: string | undefined;
  location?: string;
  registryName?: string | undefined;
  env?: Env;
  /** A credential (tests); default the environment's service principal, else DefaultAzureCredential. */
  credential?: AzureAuth["credential"];
  docker?: Partial<DockerOptions>;
  guard?: CredentialGuard;
  interactive?: boolean;
  prompts?: Prompter;
  /** Backoff for replication delays (tests shorten it). */
  retry?: RetryOptions;
  note?: (message: string) => void;
}

export function defaultNames(pool: string): AciNames {
  return {
    resourceGroup: "prefect-aci-push-pool-rg",
    app: "prefect-aci-push-pool-app",
    registryPrefix: "prefect",
    identity: "prefect-acr-identity",
    block: `${pool}-push-pool-credentials`,
  };
}

/** On a terminal, before the names prompt (the provider's choose): the subscription's id, picked when there are several. */
export async function chooseSubscription(ui: { env: Env; prompts: Prompter }): Promise<string> {
  const auth = await azureAuth(ui.env);
  return (await pickSubscription(await listSubscriptions(auth), undefined, { interactive: true, prompts: ui.prompts }))
    .id;
}

/** The subscription: --subscription by id or name, else the only one, else a picker on a terminal. */
export async function pickSubscription(
  subs: AzureSubscription[],
  wanted: string | undefined,
  o: { interactive: boolean; prompts?: Prompter | undefined },
): Promise<AzureSubscription> {
  const list = () => subs.map((s) => `${s.name} (${s.id})`).join(", ");
  if (wanted) {
    const w = wanted.toLowerCase();
    const byId = subs.find((s) => s.id.toLowerCase() === w);
    const byName = subs.filter((s) => s.name.toLowerCase() === w);
    if (byId) return byId;
    if (byName.length === 1 && byName[0]) return byName[0];
    throw new UsageError(
      byName.length > 1
        ? `${byName.length} Azure subscriptions are named ${wanted}.`
        : `No Azure subscription ${wanted} is visible to this identity.`,
      subs.length ? `Pass --subscription with one of these ids: ${list()}.` : "Sign in with an identity that has one.",
    );
  }
  const enabled = subs.filter((s) => s.state !== "Disabled" && s.state !== "Deleted");
  if (enabled.length === 0) {
    throw new UsageError(
      "No Azure subscriptions found. Please create an Azure subscription and try again.",
      "Or sign in with an identity that can see one.",
    );
  }
  if (enabled.length === 1 && enabled[0]) return enabled[0];
  if (!o.interactive || !o.prompts) {
    throw new UsageError(
      `There are ${enabled.length} Azure subscriptions and no terminal to choose one.`,
      `Pass --subscription with one of: ${enabled.map((s) => `${s.name} (${s.id})`).join(", ")}.`,
    );
  }
  return o.prompts.select(
    "Please select which Azure subscription to use:",
    enabled.map((s) => ({ label: s.name, hint: s.id, value: s })),
  );
}

/** Signs in, picks the subscription, and makes the ARM and Graph clients (once per provisioner). */
async function resolveAzure(opts: AciProvisionerOptions, env: Env, retry: RetryOptions): Promise<Azure> {
  const auth = await azureAuth(env, opts.credential);
  const subs = await listSubscriptions(auth);
  // A read of an existing pool: its template names the subscription its resources are in.
  const fromTemplate =
    opts.mode === "read" && !opts.subscription
      ? (await opts.prefect.readWorkPool(opts.poolName).catch(() => null))?.base_job_template
      : undefined;
  const templateSub = (fromTemplate as { variables?: { properties?: { subscription_id?: { default?: unknown } } } })
    ?.variables?.properties?.subscription_id?.default;
  const subscription = await pickSubscription(
    subs,
    opts.subscription ?? (typeof templateSub === "string" && templateSub ? templateSub : undefined),
    {
      interactive: opts.interactive ?? false,
      prompts: opts.prompts,
    },
  );
  // The record keeps the subscription as given, else by its name when that is unique (as a re-run may name it).
  const unique = subs.filter((x) => x.name.toLowerCase() === subscription.name.toLowerCase()).length === 1;
  const recorded = opts.subscription ?? (unique ? subscription.name : subscription.id);
  const claims = tokenClaims(await tokenFor(auth, auth.endpoints.arm));
  return {
    auth,
    subscription,
    arm: armApi(auth, subscription.id, retry),
    graph: graphApi(auth, retry),
    callerObjectId: typeof claims.oid === "string" ? claims.oid : "",
    recordedSubscription: recorded,
  };
}

/** The provisioner, with the context its resources share (rotation and verify use it). */
export type AciProvisioner = Provisioner & { aci: AciContext };

export function createAciProvisioner(opts: AciProvisionerOptions): AciProvisioner {
  const env = opts.env ?? process.env;
  const names: AciNames = { ...defaultNames(opts.poolName), ...definedOnly(opts.names ?? {}) };
  const retry: RetryOptions = { ...(opts.note ? { note: opts.note } : {}), ...opts.retry };
  let azure: Promise<Azure> | undefined;
  const e: AciContext = {
    pool: opts.poolName,
    mode: opts.mode ?? "provision",
    names,
    registryName: opts.registryName,
    registryCandidate: registryName(names.registryPrefix),
    location: opts.location ?? DEFAULT_LOCATION,
    azure: () => {
      azure ??= resolveAzure(opts, env, retry);
      return azure;
    },
    prefect: opts.prefect,
    docker: { env, ...opts.docker },
    guard: opts.guard ?? new CredentialGuard({ home: wpHome(env) }),
    retry,
    phase: newPhase(),
  };

  const seeded = (step: Resource): Resource => ({
    ...step,
    apply: (ctx, state) => {
      e.phase.applying = true;
      return step.apply(ctx, state);
    },
    check: async (ctx) => {
      checking(e.phase, step.id);
      const { subscription, recordedSubscription } = await e.azure();
      ctx.outputs.set("subscriptionId", subscription.id);
      ctx.outputs.set("subscription", recordedSubscription);
      ctx.outputs.set("tenantId", subscription.tenantId);
      ctx.outputs.set("resourceGroupName", names.resourceGroup);
      return step.check(ctx);
    },
  });

  return {
    types: ["azure-container-instance:push", "azure-container-instance"],
    async targets(): Promise<Target[]> {
      const { subscription } = await e.azure();
      // What would stop the run half-way, before anything is created; read-only (not for a read).
      if (e.mode === "provision") await checkSecretQuota(e);
      return [
        {
          key: "azure",
          label: `Azure subscription ${subscription.name} (${subscription.id}), location ${e.location}`,
        },
        { key: "docker", label: `Docker (${dockerConfigPath(e.docker.env)})` },
      ];
    },
    preflight: (plan) => permissionReport(e, plan),
    async lockScopes() {
      const { subscription } = await e.azure();
      // The app registration is tenant-wide (and Graph does not keep display names unique).
      return [`Azure subscription ${subscription.id}`, `Entra ID tenant ${subscription.tenantId}`];
    },
    steps: () => {
      const registry = registryStep(e);
      return [
        resourceProvidersStep(e),
        resourceGroupStep(e),
        appStep(e),
        servicePrincipalStep(e),
        credentialsStep(e),
        contributorStep(e),
        registry,
        dockerLoginStep(e, registry),
        identityStep(e),
        acrPullStep(e),
      ].map(seeded);
    },
    jobTemplate: aciJobTemplate,
    nextSteps: (outputs) => aciNextSteps(opts.poolName, outputs),
    aci: e,
  };
}

function definedOnly(names: Partial<AciNames>): Partial<AciNames> {
  return Object.fromEntries(Object.entries(names).filter(([, v]) => typeof v === "string" && v !== ""));
}

/** Pure: the ACI template with `aci_credentials`, `resource_group_name`, `subscription_id`, `image_registry`, `identities`. */
export function aciJobTemplate(base: JobTemplate, outputs: Outputs): JobTemplate {
  const need = ["blockDocumentId", "subscriptionId", "loginServer", "identityId"];
  const missing = need.filter((k) => !outputString(outputs, k));
  const rg = outputString(outputs, "resourceGroupName");
  if (missing.length || !rg)
    throw new Error(`ACI outputs missing: ${[...missing, ...(rg ? [] : ["resourceGroupName"])].join(", ")}`);
  const identity = outputString(outputs, "identityId") ?? "";
  return withDefaults(base, {
    aci_credentials: blockRef(outputString(outputs, "blockDocumentId") ?? ""),
    resource_group_name: rg,
    subscription_id: outputString(outputs, "subscriptionId"),
    image_registry: { registry_url: outputString(outputs, "loginServer"), identity },
    identities: [identity],
  });
}

/** Prefect's closing lines: the namespace, the image name and a sample deployment script. */
export function aciNextSteps(pool: string, outputs: Outputs): string[] {
  const registry = outputString(outputs, "loginServer");
  if (!registry) return [];
  const image = `${registry}/example-image`;
  return [
    `Your default Docker build namespace has been set to '${registry}'.`,
    "",
    `To build and push a Docker image to your registry, use an image name like '${image}':`,
    "",
    ...deploySample(pool, image, "on an Azure Container Instance"),
  ];
}

/** Adapts the CLI's provider input (registry.ts) to createAciProvisioner's options. */
export function createAciProvisionerFromInput(input: ProviderInput): AciProvisioner {
  const flag = (k: string) =>
    typeof input.flags[k] === "string" && input.flags[k] ? String(input.flags[k]).trim() : undefined;
  const names: Partial<AciNames> = {};
  for (const key of ["resourceGroup", "app", "registryPrefix", "identity", "block"] as const) {
    const v = input.names[key];
    if (v) names[key] = v;
  }
  // A record-less pool's template gives its subscription and registry (provider.namesFromTemplate).
  return createAciProvisioner({
    poolName: input.poolName,
    mode: input.mode,
    prefect: input.prefect,
    names,
    subscription: flag("subscription") ?? input.names.subscription,
    location: flag("location") ?? DEFAULT_LOCATION,
    registryName: flag("registryName") ?? input.names.registry,
    env: input.env,
    guard: input.guard,
    interactive: input.interactive,
    prompts: input.prompts,
    note: input.note,
    // Tuning (and tests): the first backoff wait for replication delays, and the LRO poll interval.
    ...(input.env.WP_AZURE_RETRY_BASE_MS
      ? {
          retry: { baseMs: Number(input.env.WP_AZURE_RETRY_BASE_MS), pollMs: Number(input.env.WP_AZURE_RETRY_BASE_MS) },
        }
      : {}),
  });
}
