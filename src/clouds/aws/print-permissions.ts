/**
 * `wp create NAME --type ecs:push --print-permissions`: the least-privilege IAM policy an admin
 * attaches to whoever runs wp, for these names and this region — the actions wp calls, each on the
 * pool's resource ARNs where IAM allows, "*" only for actions that take no resource. The account id
 * comes from sts:GetCallerIdentity when credentials are available, else a placeholder.
 */
import type { PermissionsDocument } from "../../engine/permissions.js";
import type { PermissionsInput } from "../../engine/provider.js";
import { policyDocument } from "./grants.js";
import { defaultNames, type EcsNames } from "./names.js";
import { resolveAws } from "./sdk.js";

const PLACEHOLDER = "ACCOUNT_ID";

export async function ecsPermissions(input: PermissionsInput): Promise<PermissionsDocument> {
  const flag = (k: string) =>
    typeof input.flags[k] === "string" && input.flags[k] ? String(input.flags[k]) : undefined;
  const given = Object.fromEntries(Object.entries(input.names).filter(([, v]) => typeof v === "string" && v !== ""));
  const names: EcsNames = { ...defaultNames(input.poolName), ...given };
  const profile = flag("awsProfile");
  const session = await resolveAws({ region: flag("region"), env: input.env, ...(profile ? { profile } : {}) });
  let account = PLACEHOLDER;
  let partition = "aws";
  const notes: string[] = [];
  try {
    const who = await session.identity();
    account = who.accountId;
    partition = who.arn.split(":")[1] || "aws";
  } catch {
    notes.push(
      `No AWS credentials answered sts:GetCallerIdentity, so the account id is the placeholder ${PLACEHOLDER}: replace it with your 12-digit account id.`,
    );
  }
  return {
    cloud: "aws",
    format: "aws-iam-policy",
    document: policyDocument({ partition, account, region: session.region, names }),
    notes: [
      ...notes,
      `For the resources of work pool '${input.poolName}' in ${session.region}: IAM user ${names.iamUser}, policy ${names.iamPolicy}, role ${names.role}, ECS cluster ${names.cluster}, ECR repository ${names.repository}; VPC resources (ids AWS assigns at creation) are scoped to the region.`,
      "Create it as a customer-managed policy (aws iam create-policy --policy-name wp-ecs-provisioning --policy-document file://policy.json) and attach it to the user or role that runs wp.",
      "It covers create, provision-infra, status, rotate-credentials and deprovision; iam:SimulatePrincipalPolicy lets wp check these permissions before it changes anything.",
      `"*" appears only where AWS defines no resource for the action (ecr:GetAuthorizationToken, sts:GetCallerIdentity, the EC2 Describe calls, iam:ListPolicies, servicequotas:GetServiceQuota).`,
    ],
  };
}
