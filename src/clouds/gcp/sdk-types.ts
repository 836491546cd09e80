/**
 * The shapes of wp's Google Cloud adapter (sdk.ts): the resources it reads and writes, with the
 * @googleapis packages' own schema types, and the adapter's methods.
 */
import type { cloudresourcemanager_v1 } from "@googleapis/cloudresourcemanager";
import type { iam_v1 } from "@googleapis/iam";
import type { serviceusage_v1 } from "@googleapis/serviceusage";
import type { Env } from "./config.js";
import type { AuthLike } from "./sdk-auth.js";

export type Policy = cloudresourcemanager_v1.Schema$Policy;
export type Binding = cloudresourcemanager_v1.Schema$Binding;
export type ServiceAccount = iam_v1.Schema$ServiceAccount;
export type ServiceAccountKey = iam_v1.Schema$ServiceAccountKey;
export type Operation = serviceusage_v1.Schema$Operation;

/** An Artifact Registry repository (v1 REST resource; the fields wp reads and writes). */
export interface Repository {
  name?: string;
  format?: string;
  mode?: string;
  description?: string;
  labels?: Record<string, string>;
  registryUri?: string;
  createTime?: string;
  updateTime?: string;
}

export interface GcpOptions {
  project: string;
  region: string;
  env: Env;
  /** An auth client to use instead of ADC (tests, or a caller that has one). */
  authClient?: AuthLike;
  /** Operation poll interval start (ms); WP_GCP_POLL_MS overrides. */
  pollMs?: number;
}

export interface GcpApi {
  project: string;
  region: string;
  /** How the credentials were found, for the plan: "ADC file ...", "gcloud login", "metadata server". */
  credentialSource: string;
  getProject(): Promise<cloudresourcemanager_v1.Schema$Project | null>;
  listProjects(): Promise<cloudresourcemanager_v1.Schema$Project[]>;
  serviceEnabled(service: string): Promise<boolean>;
  /** Enables a service and waits for its operation. */
  enableService(service: string, progress: (m: string) => void): Promise<void>;
  getRepository(id: string): Promise<Repository | null>;
  /** Creates a repository and waits for its operation; null when it already exists. */
  createRepository(id: string, body: Repository, progress: (m: string) => void): Promise<Repository | null>;
  getServiceAccount(email: string): Promise<ServiceAccount | null>;
  /** null when it already exists. */
  createServiceAccount(accountId: string, displayName: string): Promise<ServiceAccount | null>;
  getIamPolicy(): Promise<Policy>;
  setIamPolicy(policy: Policy): Promise<Policy>;
  listKeys(email: string): Promise<ServiceAccountKey[]>;
  /** The service account's user-managed keys; null when the service account does not exist. */
  findKeys(email: string): Promise<ServiceAccountKey[] | null>;
  createKey(email: string): Promise<ServiceAccountKey>;
  /** Deletes a key by its full name; one already gone is not an error. */
  deleteKey(name: string): Promise<void>;
  /**
   * The key-creation constraint enforced on the project (legacy or managed), false when neither is,
   * null when that cannot be known (a policy the caller may not read).
   */
  keyCreationForbidden(): Promise<string | false | null>;
  /** Enables a disabled service account. */
  enableServiceAccount(email: string): Promise<void>;
  /** Deletes a service account; one already gone is not an error. */
  deleteServiceAccount(email: string): Promise<void>;
  /** How many Docker images a repository holds. */
  dockerImageCount(id: string): Promise<number>;
  /** Deletes a repository (and its images) and waits for the operation; one already gone is not an error. */
  deleteRepository(id: string, progress: (m: string) => void): Promise<void>;
  accessToken(): Promise<string>;
  /** `projects.testIamPermissions`: which of `permissions` the caller holds on the project. */
  testIamPermissions(permissions: string[]): Promise<string[]>;
  /** The service account's `testIamPermissions`: which of `permissions` the caller holds on it. */
  testServiceAccountPermissions(email: string, permissions: string[]): Promise<string[]>;
}
