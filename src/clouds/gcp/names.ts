/** Cloud Run provisioner names and fixed values, as Prefect's `cloud_run.py` defines them. */

import type { CredentialGuard } from "../../engine/credential.js";
import type { PrefectApi } from "../../prefect/api.js";
import type { DockerOptions } from "../docker.js";
import type { GcpApi } from "./sdk.js";

export interface CloudRunNames {
  serviceAccount: string;
  repository: string;
  /** Prefect credentials block, `<pool>-push-pool-credentials` by default. */
  block: string;
}

export const SERVICE_ACCOUNT = "prefect-cloud-run";
export const SERVICE_ACCOUNT_DISPLAY_NAME = "Prefect Cloud Run Service Account";
export const REPOSITORY = "prefect-images";
export const REPOSITORY_DESCRIPTION = "Docker images of Prefect flows (created by wp)";
export const ROLES = ["roles/iam.serviceAccountUser", "roles/run.developer"];
export const SERVICES = [
  { id: "run.googleapis.com", title: "Cloud Run API", step: "gcp.run-api" },
  { id: "artifactregistry.googleapis.com", title: "Artifact Registry API", step: "gcp.artifactregistry-api" },
];
export const BLOCK_TYPE = "gcp-credentials";
/** Google allows 10 keys per service account. */
export const MAX_KEYS = 10;
export const LABEL_POOL = "prefect-io-work-pool";
export const LABEL_MANAGER = "managed-by";
export const MANAGER = "wp";

export function defaultNames(pool: string): CloudRunNames {
  return { serviceAccount: SERVICE_ACCOUNT, repository: REPOSITORY, block: `${pool}-push-pool-credentials` };
}

/** A label value Google accepts: lowercase letters, digits, `_` and `-`, at most 63 characters. */
export function labelValue(v: string): string {
  return v
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "-")
    .slice(0, 63);
}

/** What every Cloud Run resource shares. */
export interface GcpContext {
  pool: string;
  /** read: status, deprovision, rotation and verify (no refusals, no prompts). */
  mode: "provision" | "read";
  names: CloudRunNames;
  project: string;
  region: string;
  gcp(): Promise<GcpApi>;
  prefect: PrefectApi;
  docker: DockerOptions;
  guard: CredentialGuard;
  /** First retry delay (ms) for Google's eventual consistency. */
  retryMs: number;
  env: Record<string, string | undefined>;
  /** Teardown decisions one resource hands to the next (the repository's fate decides the Docker login's). */
  teardown: { repositoryGoes?: boolean };
  /** The service account's one read per check round, shared by its own read and its roles' (see iam.ts). */
  reads: { serviceAccount?: { read: Promise<unknown>; left: number } };
}

/** Where the pool's resources live, for the record (the provider's `recorded` keys). */
export function setWhere(c: GcpContext, outputs: Map<string, unknown>): void {
  outputs.set("project", c.project);
  outputs.set("region", c.region);
}

export const serviceAccountEmail = (c: GcpContext) => `${c.names.serviceAccount}@${c.project}.iam.gserviceaccount.com`;
export const registryHost = (c: GcpContext) => `${c.region}-docker.pkg.dev`;
export const dockerNamespace = (c: GcpContext) => `${registryHost(c)}/${c.project}/${c.names.repository}`;

/** First pause of the waits for eventual consistency (WP_GCP_POLL_MS shortens it in tests). */
export function retryDelay(env: Record<string, string | undefined>): number {
  return Number(env.WP_GCP_POLL_MS) || 1000;
}
