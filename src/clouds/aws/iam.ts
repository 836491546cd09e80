/**
 * The IAM user and its policy (Prefect's actions and iam:PassRole on the execution role, attached to
 * the user), each one resource with its read, create or repair, and delete. Both stay while another
 * block holds one of the user's keys (key-holders.ts).
 */

import type { Resource } from "../../engine/resource.js";
import { settled } from "../../engine/settled.js";
import { type StepContext, type StepState, sharedRead } from "../../engine/types.js";
import { CloudError } from "../../errors.js";
import { keyHolders, keysHeldElsewhere, userKeys } from "./key-holders.js";
import { createdOrNull, type EcsContext, gone, NO_SUCH, outputString, readOrCreate, tags, wpTagged } from "./names.js";
import { ecsPolicyDocument, mergeEcsPolicy, missingEcsPolicyParts } from "./policy.js";
import { afterCreate, untilFound } from "./propagation.js";
import type { IamApi } from "./sdk.js";
import { awsErrorCode } from "./sdk.js";

const EXISTS = ["EntityAlreadyExists", "EntityAlreadyExistsException"];

export function iamUserStep(e: EcsContext): Resource {
  const name = e.names.iamUser;
  const iamOf = async () => (await e.aws()).iam();
  return {
    id: "aws.iam-user",
    resource: "IAM user",
    name,
    target: "aws",
    async check(ctx) {
      const user = await readUser(e, ctx);
      return user ? { action: "exists", ...(user.Arn ? { id: user.Arn } : {}) } : { action: "create" };
    },
    async apply(ctx, state) {
      const iam = await (await e.aws()).iam();
      const { value, created } = await readOrCreate(
        state,
        () => iam.getUser(name),
        () => iam.createUser({ UserName: name, Tags: tags(e.pool) }),
        EXISTS,
      );
      // "Already exists" but not readable yet: IAM's reads lag its writes.
      const user = value ?? (await untilFound(`IAM user ${name}`, ctx.note, () => iam.getUser(name)));
      return { action: created ? "create" : "exists", ...(user.Arn ? { id: user.Arn } : {}) };
    },
    async teardownFacts(ctx) {
      const user = await (await iamOf()).getUser(name);
      return { tagged: wpTagged(user?.Tags), users: await keyHolders(e, ctx) };
    },
    async delete() {
      const iam = await iamOf();
      const held = await keysHeldElsewhere(e);
      for (const k of await userKeys(e))
        if (k.AccessKeyId && !held.has(k.AccessKeyId))
          await iam.deleteAccessKey(name, k.AccessKeyId).catch(gone(NO_SUCH));
      for (const arn of await iam.listAttachedUserPolicies(name).catch(() => []))
        await iam.detachUserPolicy(name, arn).catch(gone(NO_SUCH));
      await iam.deleteUser(name).catch(gone(NO_SUCH));
    },
  };
}

/**
 * The role ARN the PassRole statement names: the real one (read from IAM, as a role may have a
 * path), else, for a role wp is about to create (path "/"), the one IAM will assign.
 */
async function currentRoleArn(e: EcsContext, iam: IamApi, ctx?: StepContext): Promise<string> {
  const [role, { accountId, arn: caller }] = await settled([
    sharedRead(ctx, `iam:GetRole:${e.names.role}`, () => iam.getRole(e.names.role)),
    (await e.aws()).identity(),
  ]);
  if (role?.Arn) return role.Arn;
  const partition = caller.split(":")[1] || "aws";
  return `arn:${partition}:iam::${accountId}:role/${e.names.role}`;
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

export function iamPolicyStep(e: EcsContext): Resource {
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
      // Checks run concurrently: read the role's ARN here (one read with the role step's) rather than wait for it.
      const s = await policyStatus(e, iam, currentRoleArn(e, iam, ctx));
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
        const arn = created?.Arn;
        if (arn) {
          // A new policy has our document; it only needs attaching (the user may be new too).
          await afterCreate(`IAM policy ${name} and user ${user}`, ctx.note, () => iam.attachUserPolicy(user, arn));
          return { action: "create", id: arn };
        }
        // "Already exists" but not listed yet: IAM's reads lag its writes.
        s = await untilFound(`IAM policy ${name}`, ctx.note, async () => {
          const found = await policyStatus(e, iam, role);
          return found.arn ? found : null;
        });
      }
      const arn = s.arn;
      if (!arn) throw new CloudError(`IAM policy ${name} was not found after creating it.`, "NoSuchEntity");
      const fixes = [
        s.missing.length > 0 && newDefaultVersion(iam, arn, role),
        !s.attached && afterCreate(`IAM user ${user}`, ctx.note, () => iam.attachUserPolicy(user, arn)),
      ];
      await settled(fixes);
      return { action: fixes.some(Boolean) ? "update" : "exists", id: arn };
    },
    async teardownFacts(ctx, state) {
      const iam = await (await e.aws()).iam();
      const tagged = state.id ? wpTagged(await iam.listPolicyTags(state.id)) : false;
      // Attached to the user: kept while the user is.
      return { tagged, users: await keyHolders(e, ctx) };
    },
    async delete(_ctx, state) {
      const arn = state.id;
      if (!arn) return;
      const iam = await (await e.aws()).iam();
      await iam.detachUserPolicy(user, arn).catch(gone(NO_SUCH));
      for (const v of await iam.listPolicyVersions(arn).catch(() => []))
        if (!v.IsDefaultVersion && v.VersionId) await iam.deletePolicyVersion(arn, v.VersionId).catch(gone(NO_SUCH));
      await iam.deletePolicy(arn).catch(gone(NO_SUCH));
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

/** The pool's IAM user, read once per check pass (the user step and the block's key both need it). */
export async function readUser(e: EcsContext, ctx?: StepContext) {
  const iam = await (await e.aws()).iam();
  return sharedRead(ctx, `iam:GetUser:${e.names.iamUser}`, () => iam.getUser(e.names.iamUser));
}
