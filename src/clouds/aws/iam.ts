/** IAM steps, in Prefect's order: execution role → user → policy (attached to the user). */

import { settled } from "../../engine/settled.js";
import type { Step, StepContext, StepState } from "../../engine/types.js";
import { CloudError } from "../../errors.js";
import {
  createdOrNull,
  type EcsContext,
  EXECUTION_ROLE,
  EXECUTION_ROLE_DESCRIPTION,
  EXECUTION_ROLE_LOGS_POLICY,
  EXECUTION_ROLE_POLICY_ARN,
  outputString,
  readOrCreate,
  tags,
} from "./names.js";
import {
  EXECUTION_LOG_ACTIONS,
  EXECUTION_LOGS_DOCUMENT,
  EXECUTION_ROLE_TRUST,
  ecsPolicyDocument,
  mergeEcsPolicy,
  missingActions,
  missingEcsPolicyParts,
} from "./policy.js";
import type { IamApi } from "./sdk.js";
import { awsErrorCode } from "./sdk.js";

const EXISTS = ["EntityAlreadyExists", "EntityAlreadyExistsException"];

const ATTACH_GAP = "attach AmazonECSTaskExecutionRolePolicy";
const LOGS_GAP = "allow log group creation";

/** What the existing execution role lacks. */
async function roleGaps(iam: IamApi): Promise<string[]> {
  const [attached, inline] = await settled([
    iam.listAttachedRolePolicies(EXECUTION_ROLE),
    iam.getRolePolicy(EXECUTION_ROLE, EXECUTION_ROLE_LOGS_POLICY),
  ]);
  const gaps: string[] = [];
  if (!attached.includes(EXECUTION_ROLE_POLICY_ARN)) gaps.push(ATTACH_GAP);
  if (inline === null || missingActions(inline, EXECUTION_LOG_ACTIONS).length > 0) gaps.push(LOGS_GAP);
  return gaps;
}

export function executionRoleStep(e: EcsContext): Step {
  return {
    id: "aws.execution-role",
    resource: "IAM role",
    name: EXECUTION_ROLE,
    target: "aws",
    async check(ctx) {
      const iam = await (await e.aws()).iam();
      const role = await iam.getRole(EXECUTION_ROLE);
      if (!role?.Arn) return { action: "create", detail: "ECS task execution role" };
      ctx.outputs.set("executionRoleArn", role.Arn);
      const gaps = await roleGaps(iam);
      if (gaps.length > 0) return { action: "update", detail: gaps.join("; "), id: role.Arn };
      return { action: "exists", id: role.Arn };
    },
    async apply(ctx, state) {
      const iam = await (await e.aws()).iam();
      // The plan said whether the role exists; "already exists" covers a role created since.
      const { value: role, created } = await readOrCreate(
        state,
        () => iam.getRole(EXECUTION_ROLE),
        () =>
          iam.createRole({
            RoleName: EXECUTION_ROLE,
            Description: EXECUTION_ROLE_DESCRIPTION,
            AssumeRolePolicyDocument: EXECUTION_ROLE_TRUST,
            Tags: tags(e.pool),
          }),
        EXISTS,
      );
      const arn = role?.Arn;
      if (!arn) throw new CloudError(`IAM role ${EXECUTION_ROLE} vanished while it was being set up.`, "NoSuchEntity");
      // A role this run created has no policies yet.
      const gaps = created ? [ATTACH_GAP, LOGS_GAP] : await roleGaps(iam);
      await settled([
        gaps.includes(ATTACH_GAP) && iam.attachRolePolicy(EXECUTION_ROLE, EXECUTION_ROLE_POLICY_ARN),
        gaps.includes(LOGS_GAP) &&
          iam.putRolePolicy(EXECUTION_ROLE, EXECUTION_ROLE_LOGS_POLICY, EXECUTION_LOGS_DOCUMENT),
      ]);
      ctx.outputs.set("executionRoleArn", arn);
      return { action: created ? "create" : gaps.length > 0 ? "update" : "exists", id: arn };
    },
  };
}

export function iamUserStep(e: EcsContext): Step {
  const name = e.names.iamUser;
  return {
    id: "aws.iam-user",
    resource: "IAM user",
    name,
    target: "aws",
    async check() {
      const user = await (await (await e.aws()).iam()).getUser(name);
      return user ? { action: "exists", ...(user.Arn ? { id: user.Arn } : {}) } : { action: "create" };
    },
    async apply(_ctx, state) {
      const iam = await (await e.aws()).iam();
      const { value: user, created } = await readOrCreate(
        state,
        () => iam.getUser(name),
        () => iam.createUser({ UserName: name, Tags: tags(e.pool) }),
        EXISTS,
      );
      return { action: created ? "create" : "exists", ...(user?.Arn ? { id: user.Arn } : {}) };
    },
  };
}

/**
 * The role ARN the PassRole statement names: the real one (read from IAM, as a role may have a
 * path), else, for a role wp is about to create (path "/"), the one IAM will assign.
 */
async function currentRoleArn(e: EcsContext, iam: IamApi): Promise<string> {
  const [role, { accountId, arn: caller }] = await settled([iam.getRole(EXECUTION_ROLE), (await e.aws()).identity()]);
  if (role?.Arn) return role.Arn;
  const partition = caller.split(":")[1] || "aws";
  return `arn:${partition}:iam::${accountId}:role/${EXECUTION_ROLE}`;
}

/** In apply, the execution role step (an `after` dependency) has recorded the real ARN. */
async function appliedRoleArn(e: EcsContext, iam: IamApi, ctx: StepContext): Promise<string> {
  return outputString(ctx.outputs, "executionRoleArn") ?? (await currentRoleArn(e, iam));
}

interface PolicyStatus {
  arn?: string;
  missing: string[];
  attached: boolean;
}

async function attachedToUser(e: EcsContext, iam: IamApi, policyArn: string): Promise<boolean> {
  try {
    return (await iam.listAttachedUserPolicies(e.names.iamUser)).includes(policyArn);
  } catch (err) {
    // The user may not exist yet (the IAM user step creates it).
    if (!["NoSuchEntity", "NoSuchEntityException"].includes(awsErrorCode(err) ?? "")) throw err;
    return false;
  }
}

/** The policy's state; `role` (the PassRole target) may still be being looked up. */
async function policyStatus(e: EcsContext, iam: IamApi, role: string | Promise<string>): Promise<PolicyStatus> {
  const [policies, roleArn] = await settled([iam.listLocalPolicies(), role]);
  const policy = policies.find((p) => p.PolicyName === e.names.iamPolicy);
  if (!policy?.Arn || !policy.DefaultVersionId) return { missing: [], attached: false };
  const [attached, doc] = await settled([
    attachedToUser(e, iam, policy.Arn),
    iam.getPolicyDocument(policy.Arn, policy.DefaultVersionId),
  ]);
  return { arn: policy.Arn, missing: missingEcsPolicyParts(doc, roleArn), attached };
}

export function iamPolicyStep(e: EcsContext): Step {
  const name = e.names.iamPolicy;
  const user = e.names.iamUser;
  return {
    id: "aws.iam-policy",
    resource: "IAM policy",
    name,
    target: "aws",
    after: ["aws.execution-role", "aws.iam-user"],
    async check(): Promise<StepState> {
      const iam = await (await e.aws()).iam();
      // Checks run concurrently: read the role's ARN here rather than wait for the role step's check.
      const s = await policyStatus(e, iam, currentRoleArn(e, iam));
      if (!s.arn) return { action: "create", detail: `attached to user ${user}` };
      const gaps = [...(s.missing.length ? [`missing ${s.missing.join(", ")}`] : [])];
      if (!s.attached) gaps.push(`attach to user ${user}`);
      return gaps.length ? { action: "update", detail: gaps.join("; "), id: s.arn } : { action: "exists", id: s.arn };
    },
    async apply(ctx, state) {
      const iam = await (await e.aws()).iam();
      const role = await appliedRoleArn(e, iam, ctx);
      let s = state.action === "create" ? null : await policyStatus(e, iam, role);
      if (!s?.arn) {
        const created = await createdOrNull(
          () => iam.createPolicy({ PolicyName: name, PolicyDocument: ecsPolicyDocument(role), Tags: tags(e.pool) }),
          EXISTS,
        );
        if (created?.Arn) {
          // A new policy has our document; it only needs attaching.
          await iam.attachUserPolicy(user, created.Arn);
          return { action: "create", id: created.Arn };
        }
        s = await policyStatus(e, iam, role);
      }
      const arn = s.arn;
      if (!arn) throw new CloudError(`IAM policy ${name} was not found after creating it.`, "NoSuchEntity");
      const fixes = [
        s.missing.length > 0 && newDefaultVersion(iam, arn, role),
        !s.attached && iam.attachUserPolicy(user, arn),
      ];
      await settled(fixes);
      return { action: fixes.some(Boolean) ? "update" : "exists", id: arn };
    },
  };
}

/** IAM keeps at most 5 versions: delete the oldest non-default one first, then add ours as default. */
async function newDefaultVersion(iam: IamApi, arn: string, role: string): Promise<void> {
  const versions = await iam.listPolicyVersions(arn);
  const current = versions.find((v) => v.IsDefaultVersion);
  if (!current?.VersionId) throw new CloudError(`IAM policy ${arn} has no default version.`, "NoSuchEntity");
  const doc = await iam.getPolicyDocument(arn, current.VersionId);
  if (versions.length >= 5) {
    const oldest = versions
      .filter((v) => !v.IsDefaultVersion && v.VersionId)
      .sort(
        (a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0) || versionNo(a) - versionNo(b),
      )[0];
    if (oldest?.VersionId) await iam.deletePolicyVersion(arn, oldest.VersionId);
  }
  await iam.createPolicyVersion(arn, mergeEcsPolicy(doc, role));
}

const versionNo = (v: { VersionId?: string | undefined }): number => Number(v.VersionId?.replace(/^v/, "") ?? 0);
