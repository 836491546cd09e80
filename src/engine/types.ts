/**
 * The provisioning contract. A provisioner is a list of small steps; each has a read-only `check`
 * and an idempotent `apply`. The engine (engine.ts) owns every piece of UX: plan rendering,
 * confirmation, progress, summary, JSON.
 */
import type { PrefectApi } from "../prefect/api.js";
import type { JobTemplate } from "../prefect/types.js";
import type { PermissionReport } from "./permissions.js";
import type { Resource } from "./resource.js";

/** What a step would do (plan) or did (result). */
export type Action = "exists" | "create" | "update";

export interface StepState {
  action: Action;
  /** Short extra text for the plan, e.g. "CIDR 172.32.0.0/16" or "missing actions: logs:CreateLogGroup". */
  detail?: string;
  /** The resource's id/ARN when it already exists. */
  id?: string;
  /** What is really used, when it is not the step's name (e.g. "default VPC vpc-0abc"). */
  name?: string;
  /** Status: the resource exists but what matters about it cannot be checked (a token wp cannot test offline). */
  unchecked?: boolean;
  /** Status: the command that repairs this state, when not the resource's own (see resource.ts). */
  repair?: "provision-infra" | "rotate-credentials";
}

export interface StepResult {
  /** What was done: "exists" when nothing had to change. */
  action: Action;
  /** id/ARN of the resource. */
  id?: string;
}

/** Values steps hand to later steps and to the job template (e.g. roleArn, clusterName, vpcId, blockId). */
export type Outputs = Map<string, unknown>;

export interface StepContext {
  prefect: PrefectApi;
  outputs: Outputs;
  /** Progress lines for long steps (stderr; never secrets). */
  note(message: string): void;
  signal?: AbortSignal;
  /**
   * One check pass's shared reads (see `sharedRead`): two resources that read the same thing in one plan
   * (a user, a role) ask the cloud once. Fresh for every pass, absent in apply, so nothing stale is reused.
   */
  reads?: Map<string, Promise<unknown>>;
}

/** `read()` once per check pass for `key`; outside a check pass (apply, rotation, verify) always read. */
export function sharedRead<T>(ctx: StepContext | undefined, key: string, read: () => Promise<T>): Promise<T> {
  if (!ctx?.reads) return read();
  let p = ctx.reads.get(key) as Promise<T> | undefined;
  if (!p) {
    p = read();
    ctx.reads.set(key, p);
  }
  return p;
}

export interface Step {
  /** Stable id, e.g. "aws.iam-user". */
  id: string;
  /** Resource kind shown in the plan, e.g. "IAM user". */
  resource: string;
  /** Resource name, e.g. "prefect-ecs-user". */
  name: string;
  /** Key of the target group this step belongs to (see Provisioner.targets), e.g. "aws" or "prefect". */
  target: string;
  /** Ids of steps whose apply must finish before this one's apply starts. */
  after?: string[];
  /** Read-only: decide exists / create / update. Must not mutate anything. May set outputs of existing resources. */
  check(ctx: StepContext): Promise<StepState>;
  /** Idempotent: brings the resource to the desired state; safe to re-run after any failure. */
  apply(ctx: StepContext, state: StepState): Promise<StepResult>;
}

/** A group of steps acting on one account/workspace, e.g. { key: "aws", label: "AWS account 123456789012, region us-east-1" }. */
export interface Target {
  key: string;
  label: string;
}

export interface Provisioner {
  /** Work pool types served, e.g. ["ecs:push", "ecs"]. */
  types: string[];
  /** Cloud preflight: resolve credentials/region/account, check quotas. Read-only. Throws UsageError/AuthError. */
  targets(): Promise<Target[]>;
  /**
   * What the apply must hold exclusively on this machine, e.g. "AWS account 123456789012, region
   * us-east-1" (called after targets). Runs for pools that share resources share the scope.
   */
  lockScopes?(): Promise<string[]>;
  /** The pool's resources (see resource.ts), in plan order. */
  steps(): Resource[];
  /**
   * Permission preflight (see permissions.ts), after the plan is read and before anything is written:
   * what the plan's writes (the steps whose state is create/update) need that the caller may not do.
   */
  preflight?(plan: ReadonlyMap<string, StepState>): Promise<PermissionReport>;
  /** Pure: the job template with the outputs filled in as variable defaults. */
  jobTemplate(base: JobTemplate, outputs: Outputs): JobTemplate;
  /** Lines printed after a successful apply (next steps), built from outputs. */
  nextSteps?(outputs: Outputs): string[];
}
