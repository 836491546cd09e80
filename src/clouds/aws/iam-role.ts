/**
 * The ECS task execution role, one resource: read (exists, and what it lacks: the managed
 * AmazonECSTaskExecutionRolePolicy, the inline log-group policy), create or repair, delete
 * (policies detached and removed, then the role). The template's `execution_role_arn` names it.
 */

import type { Resource } from "../../engine/resource.js";
import { settled } from "../../engine/settled.js";
import { sharedRead } from "../../engine/types.js";
import { CloudError } from "../../errors.js";
import {
  type EcsContext,
  EXECUTION_ROLE_DESCRIPTION,
  EXECUTION_ROLE_LOGS_POLICY,
  EXECUTION_ROLE_POLICY_ARN,
  gone,
  NO_SUCH,
  readOrCreate,
  tags,
  wpTagged,
} from "./names.js";
import { EXECUTION_LOG_ACTIONS, EXECUTION_LOGS_DOCUMENT, EXECUTION_ROLE_TRUST, missingActions } from "./policy.js";
import { afterCreate, untilFound } from "./propagation.js";
import type { IamApi } from "./sdk.js";

const EXISTS = ["EntityAlreadyExists", "EntityAlreadyExistsException"];
const ATTACH_GAP = "attach AmazonECSTaskExecutionRolePolicy";
const LOGS_GAP = "allow log group creation";

/** What the existing execution role lacks. */
async function roleGaps(iam: IamApi, role: string): Promise<string[]> {
  const [attached, inline] = await settled([
    iam.listAttachedRolePolicies(role),
    iam.getRolePolicy(role, EXECUTION_ROLE_LOGS_POLICY),
  ]);
  const gaps: string[] = [];
  if (!attached.includes(EXECUTION_ROLE_POLICY_ARN)) gaps.push(ATTACH_GAP);
  if (inline === null || missingActions(inline, EXECUTION_LOG_ACTIONS).length > 0) gaps.push(LOGS_GAP);
  return gaps;
}

export function executionRoleStep(e: EcsContext): Resource {
  const name = e.names.role;
  const iamOf = async () => (await e.aws()).iam();
  return {
    id: "aws.execution-role",
    resource: "IAM role",
    name,
    target: "aws",
    templateVariable: "execution_role_arn",
    async check(ctx) {
      const iam = await iamOf();
      const role = await sharedRead(ctx, `iam:GetRole:${name}`, () => iam.getRole(name));
      if (!role?.Arn) return { action: "create", detail: "ECS task execution role" };
      ctx.outputs.set("executionRoleArn", role.Arn);
      const gaps = await roleGaps(iam, name);
      if (gaps.length > 0) return { action: "update", detail: gaps.join("; "), id: role.Arn };
      return { action: "exists", id: role.Arn };
    },
    async apply(ctx, state) {
      const iam = await iamOf();
      // The plan said whether the role exists; "already exists" covers a role created since.
      const { value: role, created } = await readOrCreate(
        state,
        () => iam.getRole(name),
        () =>
          iam.createRole({
            RoleName: name,
            Description: EXECUTION_ROLE_DESCRIPTION,
            AssumeRolePolicyDocument: EXECUTION_ROLE_TRUST,
            Tags: tags(e.pool),
          }),
        EXISTS,
      );
      // "Already exists" but not readable yet: IAM's reads lag its writes.
      const arn = (role ?? (await untilFound(`IAM role ${name}`, ctx.note, () => iam.getRole(name)))).Arn;
      if (!arn) throw new CloudError(`IAM role ${name} has no ARN.`, "NoSuchEntity");
      // A role this run created has no policies yet (and IAM may not show it for a few seconds).
      const what = `IAM role ${name}`;
      const gaps = created ? [ATTACH_GAP, LOGS_GAP] : await afterCreate(what, ctx.note, () => roleGaps(iam, name));
      // Both writes are idempotent: repeated together until IAM shows the role.
      await afterCreate(
        what,
        ctx.note,
        () =>
          settled([
            gaps.includes(ATTACH_GAP) && iam.attachRolePolicy(name, EXECUTION_ROLE_POLICY_ARN),
            gaps.includes(LOGS_GAP) && iam.putRolePolicy(name, EXECUTION_ROLE_LOGS_POLICY, EXECUTION_LOGS_DOCUMENT),
          ]),
        ctx.signal,
      );
      ctx.outputs.set("executionRoleArn", arn);
      return { action: created ? "create" : gaps.length > 0 ? "update" : "exists", id: arn };
    },
    async teardownFacts() {
      return { tagged: wpTagged((await (await iamOf()).getRole(name))?.Tags) };
    },
    async delete() {
      const iam = await iamOf();
      for (const arn of await iam.listAttachedRolePolicies(name).catch(() => []))
        await iam.detachRolePolicy(name, arn).catch(gone(NO_SUCH));
      for (const p of await iam.listRolePolicies(name).catch(() => []))
        await iam.deleteRolePolicy(name, p).catch(gone(NO_SUCH));
      await iam.deleteRole(name).catch(gone(NO_SUCH));
    },
  };
}
