/**
 * The Cloud Run provisioner (`cloud-run:push`, `cloud-run-v2:push`, and the pull types
 * `cloud-run`, `cloud-run-v2`): Prefect's resources, names and order, as wp steps, without gcloud.
 * Independent chains run concurrently: Cloud Run API ∥ Artifact Registry API → repository → Docker
 * login ∥ service account → roles, and → key + credentials block.
 */

import { CredentialGuard } from "../../engine/credential.js";
import { deploySample } from "../../engine/deploy-sample.js";
import type { Outputs, Provisioner, Target } from "../../engine/types.js";
import { CloudError } from "../../errors.js";
import { wpHome } from "../../home.js";
import type { PrefectApi } from "../../prefect/api.js";
import { blockRef, withDefaults } from "../../prefect/template.js";
import type { JobTemplate } from "../../prefect/types.js";
import type { DockerOptions } from "../docker.js";
import type { Env } from "./config.js";
import { checkKeyPreconditions, credentialsStep } from "./credentials.js";
import { iamBindingsStep, serviceAccountStep } from "./iam.js";
import { type CloudRunNames, defaultNames, type GcpContext, retryDelay, serviceAccountEmail } from "./names.js";
import { preflight as gcpPreflight } from "./permissions.js";
import { dockerLoginStep, dockerTargetLabel, repositoryStep } from "./registry.js";
import { type GcpApi, type GcpOptions, resolveGcp } from "./sdk.js";
import { serviceSteps } from "./steps.js";

export type { CloudRunNames } from "./names.js";

export const CLOUD_RUN_TYPES = ["cloud-run:push", "cloud-run-v2:push", "cloud-run", "cloud-run-v2"];

export interface CloudRunProvisionerOptions {
  poolName: string;
  prefect: PrefectApi;
  project: string;
  region: string;
  names?: Partial<CloudRunNames>;
  env?: Env;
  /** Credentials instead of ADC (tests). */
  authClient?: GcpOptions["authClient"];
  /** An already resolved adapter. */
  gcp?: GcpApi;
  docker?: Partial<DockerOptions>;
  guard?: CredentialGuard;
  /** read: status, deprovision, rotation, verify (default provision). */
  mode?: "provision" | "read";
}

/** The provisioner, with what its resources share (rotation and verify use it: the same names, project and region). */
export interface CloudRunProvisioner extends Provisioner {
  context: GcpContext;
}

/** What the pool's resources share, from the read-mode provisioner the engine built with the record's names. */
export function gcpContextOf(input: { provisioner: Provisioner }): GcpContext {
  return (input.provisioner as CloudRunProvisioner).context;
}

export function createCloudRunProvisioner(opts: CloudRunProvisionerOptions): CloudRunProvisioner {
  const env = opts.env ?? process.env;
  const names: CloudRunNames = {
    ...defaultNames(opts.poolName),
    ...Object.fromEntries(Object.entries(opts.names ?? {}).filter(([, v]) => typeof v === "string" && v)),
  };
  let api: Promise<GcpApi> | undefined = opts.gcp ? Promise.resolve(opts.gcp) : undefined;
  const c: GcpContext = {
    pool: opts.poolName,
    mode: opts.mode ?? "provision",
    names,
    project: opts.project,
    region: opts.region,
    prefect: opts.prefect,
    gcp: () => {
      api ??= resolveGcp({
        project: opts.project,
        region: opts.region,
        env,
        ...(opts.authClient ? { authClient: opts.authClient } : {}),
      });
      return api;
    },
    docker: { env, ...opts.docker },
    guard: opts.guard ?? new CredentialGuard({ home: wpHome(env) }),
    retryMs: retryDelay(env),
    env,
    teardown: {},
    reads: {},
  };

  return {
    context: c,
    types: CLOUD_RUN_TYPES,
    async targets(): Promise<Target[]> {
      const targets = [
        { key: "gcp", label: `GCP project ${c.project}, region ${c.region}` },
        { key: "docker", label: dockerTargetLabel(c) },
      ];
      // Reading refuses nothing: the resources' reads report what is wrong.
      if (c.mode === "read") return targets;
      const gcp = await c.gcp();
      // The project must be visible to the caller (this also proves the credentials work), and a key
      // that cannot be made must stop the run before anything is created.
      if (!(await gcp.getProject())) {
        throw new CloudError(
          `GCP project ${c.project} does not exist, or ${gcp.credentialSource} gives no access to it.`,
          "NOT_FOUND",
          "Pass --project with a project id you can use (`wp` lists them at the prompt on a terminal).",
        );
      }
      await checkKeyPreconditions(c);
      return targets;
    },
    lockScopes: async () => [`GCP project ${c.project}`],
    // Before any write: exactly the permissions the plan's writes need (permissions.ts).
    async preflight(plan) {
      const email = serviceAccountEmail(c);
      const exists = plan.get("gcp.service-account")?.action !== "create";
      return gcpPreflight(await c.gcp(), plan, { email, exists });
    },
    steps: () => [
      ...serviceSteps(c),
      repositoryStep(c),
      dockerLoginStep(c),
      serviceAccountStep(c),
      iamBindingsStep(c),
      credentialsStep(c),
    ],
    jobTemplate: (base, outputs) => cloudRunJobTemplate(base, outputs, c.region, serviceAccountEmail(c)),
    nextSteps: (outputs) => cloudRunNextSteps(opts.poolName, outputs),
  };
}

/** Pure: `credentials` → the block, and where the template declares them, `region` and the runtime service account. */
export function cloudRunJobTemplate(base: JobTemplate, outputs: Outputs, region: string, email: string): JobTemplate {
  const block = outputs.get("blockDocumentId");
  if (typeof block !== "string" || !block) throw new Error("Cloud Run outputs missing: blockDocumentId");
  const props = (base.variables as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
  const sa = outputs.get("serviceAccountEmail");
  return withDefaults(base, {
    credentials: blockRef(block),
    ...("region" in props ? { region } : {}),
    ...("service_account_name" in props ? { service_account_name: typeof sa === "string" && sa ? sa : email } : {}),
  });
}

/** Prefect's closing text: the namespace, and a sample deployment for Cloud Run. */
export function cloudRunNextSteps(pool: string, outputs: Outputs): string[] {
  const ns = outputs.get("dockerNamespace");
  if (typeof ns !== "string" || !ns) return [];
  return [
    `Your default Docker build namespace has been set to '${ns}'.`,
    "Use any image name to build and push to this registry by default:",
    "",
    ...deploySample(pool, "my-image", "in Cloud Run"),
    "",
    `The image is pushed as ${ns}/my-image:latest.`,
  ];
}
