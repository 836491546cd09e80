/** ECS provisioner names and fixed values, as Prefect's `ecs.py` defines them. */

import type { CredentialGuard } from "../../engine/credential.js";
import type { StepState } from "../../engine/types.js";
import type { PrefectApi } from "../../prefect/api.js";
import type { DockerOptions } from "../docker.js";
import { type AwsSession, awsErrorCode } from "./sdk.js";

export interface EcsNames {
  iamUser: string;
  iamPolicy: string;
  cluster: string;
  vpc: string;
  securityGroup: string;
  repository: string;
  /** Prefect credentials block, `<pool>-aws-credentials` by default. */
  block: string;
  /** The task execution role: Prefect's fixed name, or (a pool without a record) the one its template names. */
  role: string;
}

export const EXECUTION_ROLE = "PrefectEcsTaskExecutionRole";
export const EXECUTION_ROLE_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
export const EXECUTION_ROLE_DESCRIPTION = "Role for ECS tasks to access ECR and other resources.";
/** Inline policy wp adds so the awslogs driver may create the log group (`awslogs-create-group`). */
export const EXECUTION_ROLE_LOGS_POLICY = "PrefectEcsTaskExecutionLogs";
export const SECURITY_GROUP_DESCRIPTION = "Block all inbound traffic and allow all outbound traffic";
export const BLOCK_TYPE = "aws-credentials";
/** Default regional VPC quota; creating a 6th VPC fails with VpcLimitExceeded. */
export const DEFAULT_VPC_QUOTA = 5;
/** AWS allows two access keys per IAM user. */
export const MAX_ACCESS_KEYS = 2;

export function defaultNames(pool: string): EcsNames {
  return {
    iamUser: "prefect-ecs-user",
    iamPolicy: "prefect-ecs-policy",
    cluster: "prefect-ecs-cluster",
    vpc: "prefect-ecs-vpc",
    securityGroup: "prefect-ecs-security-group",
    repository: "prefect-flows",
    block: `${pool}-aws-credentials`,
    role: EXECUTION_ROLE,
  };
}

export const TAG_POOL = "prefect.io/work-pool";
export const TAG_MANAGER = "managed-by";
export const MANAGER = "wp";

/** Tags for a resource wp creates. Characters AWS refuses in tag values (IAM is strictest) become "-". */
export function tags(pool: string, extra: Record<string, string> = {}): Array<{ Key: string; Value: string }> {
  const value = (v: string) => v.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, "-").slice(0, 256);
  return Object.entries({ ...extra, [TAG_POOL]: pool, [TAG_MANAGER]: MANAGER }).map(([Key, v]) => ({
    Key,
    Value: value(v),
  }));
}

/** What every ECS step shares: names, the AWS session (resolved once), Prefect, Docker settings. */
export interface EcsContext {
  pool: string;
  /** provision: plan and apply; read: status, deprovision, rotation, verify (no quota refusals). */
  mode: "provision" | "read";
  /** The environment (region, endpoints; the block's key is checked with it). */
  env: Record<string, string | undefined>;
  /** One endpoint for every AWS service (tests), also for the checks made with the block's key. */
  endpoint?: string | undefined;
  names: EcsNames;
  aws(): Promise<AwsSession>;
  prefect: PrefectApi;
  docker: DockerOptions;
  /** VPCs-per-region quota override (tests); else read from Service Quotas when a region is full. */
  vpcQuota: number | undefined;
  /** Mints the access key safely (see credential.ts). */
  guard: CredentialGuard;
}

/** A string output, or undefined. */
export function outputString(outputs: Map<string, unknown>, key: string): string | undefined {
  const v = outputs.get(key);
  return typeof v === "string" && v ? v : undefined;
}

/** Runs `create`; an "already exists" code (a concurrent or earlier run) is not an error. */
export async function createOrExisting(create: () => Promise<unknown>, codes: string[]): Promise<boolean> {
  try {
    await create();
    return true;
  } catch (err) {
    if (codes.includes(awsErrorCode(err) ?? "")) return false;
    throw err;
  }
}

/**
 * The resource, read unless the plan said it is missing, else created; an "already exists" code
 * (created by someone since the plan) means read it again. `created` tells whether this run made it.
 */
export async function readOrCreate<T>(
  planned: StepState,
  read: () => Promise<T | null>,
  create: () => Promise<T>,
  existsCodes: string[],
): Promise<{ value: T | null; created: boolean }> {
  const found = planned.action === "create" ? null : await read();
  if (found) return { value: found, created: false };
  const made = await createdOrNull(create, existsCodes);
  return made ? { value: made, created: true } : { value: await read(), created: false };
}

/** Runs `create` and returns its result; null when an "already exists" code says it is there already. */
export async function createdOrNull<T>(create: () => Promise<T>, codes: string[]): Promise<T | null> {
  try {
    return await create();
  } catch (err) {
    if (codes.includes(awsErrorCode(err) ?? "")) return null;
    throw err;
  }
}

export const NO_SUCH = ["NoSuchEntity", "NoSuchEntityException"];

/** A deletion's "already gone": the AWS error codes that mean not found are success. */
export const gone =
  (codes: string[]) =>
  (err: unknown): void => {
    if (!codes.includes(awsErrorCode(err) ?? "")) throw err;
  };

type Tags = Array<{ Key?: string | undefined; Value?: string | undefined }> | undefined;

/** wp's tag (managed-by=wp) is on the resource. */
export const wpTagged = (t: Tags): boolean => t?.some((x) => x.Key === TAG_MANAGER && x.Value === MANAGER) ?? false;
