/** IAM steps, in Prefect's order: execution role → user → policy (attached to the user). */

import type { IamApi } from "../../clouds/aws.js";
import { awsErrorCode } from "../../clouds/aws.js";
import { CloudError } from "../../errors.js";
import type { Step, StepContext, StepState } from "../types.js";
import {
  createOrExisting,
  type EcsContext,
  EXECUTION_ROLE,
  EXECUTION_ROLE_DESCRIPTION,
  EXECUTION_ROLE_LOGS_POLICY,
  EXECUTION_ROLE_POLICY_ARN,
  outputString,
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

const EXISTS = ["EntityAlreadyExists", "EntityAlreadyExistsException"];

/** What the existing execution role lacks. */
async function roleGaps(iam: IamApi): Promise<string[]> {
  const gaps: string[] = [];
  if (!(await iam.listAttachedRolePolicies(EXECUTION_ROLE)).includes(EXECUTION_ROLE_POLICY_ARN)) {
    gaps.push("attach AmazonECSTaskExecutionRolePolicy");
  }
  const inline = await iam.getRolePolicy(EXECUTION_ROLE, EXECUTION_ROLE_LOGS_POLICY);
  if (inline === null || missingActions(inline, EXECUTION_LOG_ACTIONS).length > 0)
    gaps.push("allow log group creation");
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
    async apply(ctx) {
      const iam = await (await e.aws()).iam();
      let created = false;
      if (!(await iam.getRole(EXECUTION_ROLE))) {
        created = await createOrExisting(
          () =>
            iam.createRole({
              RoleName: EXECUTION_ROLE,
              Description: EXECUTION_ROLE_DESCRIPTION,
              AssumeRolePolicyDocument: EXECUTION_ROLE_TRUST,
              Tags: tags(e.pool),
            }),
          EXISTS,
        );
      }
      const gaps = await roleGaps(iam);
      if (gaps.some((g) => g.startsWith("attach")))
        await iam.attachRolePolicy(EXECUTION_ROLE, EXECUTION_ROLE_POLICY_ARN);
      if (gaps.some((g) => g.startsWith("allow"))) {
        await iam.putRolePolicy(EXECUTION_ROLE, EXECUTION_ROLE_LOGS_POLICY, EXECUTION_LOGS_DOCUMENT);
      }
      const arn = (await iam.getRole(EXECUTION_ROLE))?.Arn;
      if (!arn) throw new CloudError(`IAM role ${EXECUTION_ROLE} vanished while it was being set up.`, "NoSuchEntity");
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
    after: ["aws.execution-role"],
    async check() {
      const user = await (await (await e.aws()).iam()).getUser(name);
      return user ? { action: "exists", ...(user.Arn ? { id: user.Arn } : {}) } : { action: "create" };
    },
    async apply() {
      const iam = await (await e.aws()).iam();
      const created =
        !(await iam.getUser(name)) &&
        (await createOrExisting(() => iam.createUser({ UserName: name, Tags: tags(e.pool) }), EXISTS));
      const arn = (await iam.getUser(name))?.Arn;
      return { action: created ? "create" : "exists", ...(arn ? { id: arn } : {}) };
    },
  };
}

/** The role ARN the PassRole statement names: the real one when known, else the one IAM will assign. */
async function roleArn(e: EcsContext, ctx: StepContext): Promise<string> {
  const known = outputString(ctx.outputs, "executionRoleArn");
  if (known) return known;
  const { accountId } = await (await e.aws()).identity();
  return `arn:aws:iam::${accountId}:role/${EXECUTION_ROLE}`;
}

interface PolicyStatus {
  arn?: string;
  missing: string[];
  attached: boolean;
}

async function policyStatus(e: EcsContext, iam: IamApi, role: string): Promise<PolicyStatus> {
  const policy = (await iam.listLocalPolicies()).find((p) => p.PolicyName === e.names.iamPolicy);
  let attached = false;
  if (policy?.Arn) {
    try {
      attached = (await iam.listAttachedUserPolicies(e.names.iamUser)).includes(policy.Arn);
    } catch (err) {
      // The user may not exist yet (it is created by the step before this one).
      if (!["NoSuchEntity", "NoSuchEntityException"].includes(awsErrorCode(err) ?? "")) throw err;
    }
  }
  if (!policy?.Arn || !policy.DefaultVersionId) return { missing: [], attached };
  const doc = await iam.getPolicyDocument(policy.Arn, policy.DefaultVersionId);
  return { arn: policy.Arn, missing: missingEcsPolicyParts(doc, role), attached };
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
    async check(ctx): Promise<StepState> {
      const iam = await (await e.aws()).iam();
      const s = await policyStatus(e, iam, await roleArn(e, ctx));
      if (!s.arn) return { action: "create", detail: `attached to user ${user}` };
      const gaps = [...(s.missing.length ? [`missing ${s.missing.join(", ")}`] : [])];
      if (!s.attached) gaps.push(`attach to user ${user}`);
      return gaps.length ? { action: "update", detail: gaps.join("; "), id: s.arn } : { action: "exists", id: s.arn };
    },
    async apply(ctx) {
      const iam = await (await e.aws()).iam();
      const role = await roleArn(e, ctx);
      let s = await policyStatus(e, iam, role);
      let action: "create" | "update" | "exists" = "exists";
      if (!s.arn) {
        const created = await createOrExisting(
          () => iam.createPolicy({ PolicyName: name, PolicyDocument: ecsPolicyDocument(role), Tags: tags(e.pool) }),
          EXISTS,
        );
        if (created) action = "create";
        s = await policyStatus(e, iam, role);
      }
      const arn = s.arn;
      if (!arn) throw new CloudError(`IAM policy ${name} was not found after creating it.`, "NoSuchEntity");
      if (s.missing.length > 0) {
        await newDefaultVersion(iam, arn, role);
        action = action === "create" ? action : "update";
      }
      if (!s.attached) {
        await iam.attachUserPolicy(user, arn);
        action = action === "create" ? action : "update";
      }
      return { action, id: arn };
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
