/**
 * The `ecs:push` provisioner: Prefect's ECS resources, names and order, as wp steps. Independent
 * chains run concurrently: IAM (role → user → policy → credentials block) ∥ cluster ∥ VPC ∥
 * ECR (repository → Docker login).
 */

import { CredentialGuard } from "../../engine/credential.js";
import { deploySample } from "../../engine/deploy-sample.js";
import type { Resource } from "../../engine/resource.js";
import { settled } from "../../engine/settled.js";
import type { Outputs, Provisioner, Target } from "../../engine/types.js";
import { wpHome } from "../../home.js";
import type { PrefectApi } from "../../prefect/api.js";
import { blockRef, withDefaults } from "../../prefect/template.js";
import type { JobTemplate } from "../../prefect/types.js";
import type { DockerOptions } from "../docker.js";
import { clusterStep } from "./cluster.js";
import { checkKeyQuota, credentialsStep } from "./credentials.js";
import { dockerLoginStep, dockerTargetLabel, repositoryStep } from "./ecr.js";
import { iamPolicyStep, iamUserStep } from "./iam.js";
import { executionRoleStep } from "./iam-role.js";
import { defaultNames, type EcsContext, type EcsNames, outputString } from "./names.js";
import { type AwsSession, type Env, resolveAws } from "./sdk.js";
import { findVpcForPlan, vpcStep } from "./vpc.js";

export type { EcsNames } from "./names.js";

export interface EcsProvisionerOptions {
  poolName: string;
  /** provision (default): plan and apply; read: status, deprovision, rotation, verify (no quota refusals). */
  mode?: "provision" | "read";
  prefect: PrefectApi;
  /** Resource names; unset ones get Prefect's defaults. */
  names?: Partial<EcsNames>;
  /** --region (else AWS_REGION, AWS_DEFAULT_REGION, the profile's region). */
  region?: string;
  /** --aws-profile (else AWS_PROFILE, honoured by the SDK). */
  profile?: string;
  /** Environment for region, endpoints and Docker settings; default process.env. */
  env?: Env;
  /** One endpoint for every AWS service (tests); beats AWS_ENDPOINT_URL*. */
  endpoint?: string;
  /** An already resolved AWS session (tests, or a caller that resolved it). */
  session?: AwsSession;
  /** Docker config/engine settings; env defaults to `env`. */
  docker?: Partial<DockerOptions>;
  /** VPCs-per-region quota (tests); by default read from Service Quotas when the region is full. */
  vpcQuota?: number;
  /** Where the AWS SDK's warnings go (one line each). */
  warn?: (line: string) => void;
  /** Where the SDK's error records go (--debug). */
  debug?: (line: string) => void;
  /** The progress line: retries of throttled calls say so here. */
  progress?: (line: string) => void;
  /** The credential guard (default: one over $WP_HOME of `env`). */
  guard?: CredentialGuard;
}

/** The provisioner, with the ECS context its resources share (the lifecycle's rotation and verify use it). */
export interface EcsProvisioner extends Provisioner {
  ecs: EcsContext;
}

export function createEcsProvisioner(opts: EcsProvisionerOptions): EcsProvisioner {
  const env = opts.env ?? process.env;
  const names: EcsNames = { ...defaultNames(opts.poolName), ...definedOnly(opts.names ?? {}) };
  let session: Promise<AwsSession> | undefined = opts.session ? Promise.resolve(opts.session) : undefined;
  const e: EcsContext = {
    pool: opts.poolName,
    mode: opts.mode ?? "provision",
    env,
    endpoint: opts.endpoint,
    names,
    prefect: opts.prefect,
    aws: () => {
      session ??= resolveAws({
        region: opts.region,
        profile: opts.profile,
        env,
        endpoint: opts.endpoint,
        warn: opts.warn,
        debug: opts.debug,
        progress: opts.progress,
      });
      return session;
    },
    docker: { env, ...opts.docker },
    vpcQuota: opts.vpcQuota,
    guard: opts.guard ?? new CredentialGuard({ home: wpHome(env) }),
  };

  /** Every step's check first records the account and region (read-only, memoised). */
  const seeded = (step: Resource): Resource => ({
    ...step,
    check: async (ctx) => {
      const s = await e.aws();
      ctx.outputs.set("accountId", (await s.identity()).accountId);
      ctx.outputs.set("region", s.region);
      return step.check(ctx);
    },
  });

  return {
    types: ["ecs:push", "ecs"],
    ecs: e,
    targets: () => ecsTargets(e),
    async lockScopes() {
      const s = await e.aws();
      return [`AWS account ${(await s.identity()).accountId}, region ${s.region}`];
    },
    steps: () =>
      [
        executionRoleStep(e),
        iamUserStep(e),
        iamPolicyStep(e),
        credentialsStep(e),
        clusterStep(e),
        vpcStep(e),
        repositoryStep(e),
        dockerLoginStep(e),
      ].map(seeded),
    preflight: async (plan) => (await import("./preflight.js")).ecsPreflight(e, plan),
    jobTemplate: ecsJobTemplate,
    nextSteps: (outputs) => ecsNextSteps(opts.poolName, names.repository, outputs),
  };
}

/** The preflight: who the caller is; in provision mode also what would stop the run half-way. */
async function ecsTargets(e: EcsContext): Promise<Target[]> {
  const s = await e.aws();
  if (e.mode === "read") {
    // Read mode: who the caller is, nothing refused (the resources' reads report).
    const { accountId } = await s.identity();
    return [{ key: "aws", label: `AWS account ${accountId}, region ${s.region}` }];
  }
  // Load the SDK clients while requests are in flight: IAM and EC2 for the quotas below, then
  // ECS and ECR for the plan's checks (the first failure to load surfaces where it is used).
  const identity = s.identity();
  void settled([s.iam(), s.ec2()]).then(
    () => Promise.allSettled([s.ecs(), s.ecr()]),
    () => {},
  );
  // Who the caller is, and the quotas that would stop the run half-way, before anything is
  // created; all read-only, so together. A credentials error is reported as the identity's.
  // (A derived block name that is another pool's block is refused by the engine before this.)
  const [{ accountId }] = await settled([identity, checkKeyQuota(e), findVpcForPlan(e)]);
  return [
    {
      key: "aws",
      label: `AWS account ${accountId}, region ${s.region}${s.profile ? ` (profile ${s.profile})` : ""}`,
    },
    { key: "docker", label: dockerTargetLabel(e) },
  ];
}

function definedOnly(names: Partial<EcsNames>): Partial<EcsNames> {
  return Object.fromEntries(Object.entries(names).filter(([, v]) => typeof v === "string" && v !== ""));
}

/** Pure: the ECS template with `aws_credentials`, `cluster`, `execution_role_arn` and (if any) `vpc_id` set. */
export function ecsJobTemplate(base: JobTemplate, outputs: Outputs): JobTemplate {
  const block = outputString(outputs, "blockDocumentId");
  const cluster = outputString(outputs, "clusterName");
  const role = outputString(outputs, "executionRoleArn");
  const vpc = outputString(outputs, "vpcId");
  const missing = [!block && "blockDocumentId", !cluster && "clusterName", !role && "executionRoleArn"].filter(Boolean);
  // A VPC still to be created (its check said so) will change vpc_id.
  if (!vpc && outputs.get("vpcPending") === true) missing.push("vpcId");
  if (!block || !cluster || !role || missing.length) throw new Error(`ECS outputs missing: ${missing.join(", ")}`);
  return withDefaults(base, {
    aws_credentials: blockRef(block),
    cluster,
    ...(vpc ? { vpc_id: vpc } : {}),
    execution_role_arn: role,
  });
}

/** Prefect's "next steps": the namespace, the image name and a sample deployment script. */
export function ecsNextSteps(pool: string, repository: string, outputs: Outputs): string[] {
  const registry = outputString(outputs, "registry");
  if (!registry) return [];
  const image = `${registry}/${repository}`;
  return [
    `Your default Docker build namespace has been set to '${registry}'.`,
    "",
    `To build and push a Docker image to your repository, use '${image}' as your image name:`,
    "",
    ...deploySample(pool, image, "on ECS"),
  ];
}
