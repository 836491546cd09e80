/**
 * The IAM actions wp's ECS provisioning needs, per resource and per plan action, scoped to the
 * resources' ARNs where IAM allows (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html,
 * …/list_amazonec2.html, …/list_amazonelasticcontainerservice.html, …/list_amazonelasticcontainerregistry.html).
 * The permission preflight simulates them; `--print-permissions` prints them as a policy.
 */
import type { EcsNames } from "./names.js";

export interface Scope {
  partition: string;
  account: string;
  region: string;
  names: EcsNames;
}

export interface Need {
  action: string;
  /** The ARN the action is evaluated on ("*" where the action takes no resource). */
  resource: string;
}

/** The ARNs of the pool's resources. */
export function arns(s: Scope) {
  const iam = `arn:${s.partition}:iam::${s.account}`;
  const regional = (svc: string) => `arn:${s.partition}:${svc}:${s.region}:${s.account}`;
  return {
    role: `${iam}:role/${s.names.role}`,
    user: `${iam}:user/${s.names.iamUser}`,
    policy: `${iam}:policy/${s.names.iamPolicy}`,
    cluster: `${regional("ecs")}:cluster/${s.names.cluster}`,
    repository: `${regional("ecr")}:repository/${s.names.repository}`,
    /** EC2 resources wp creates get ids only when created: the region's resources of each type. */
    ec2: (type: string) => `${regional("ec2")}:${type}/*`,
  };
}

const on = (resource: string, ...actions: string[]): Need[] => actions.map((action) => ({ action, resource }));

/** What each step's apply calls, for a create and for an update (repair). */
export function stepNeeds(step: string, plan: "create" | "update", s: Scope): Need[] {
  const a = arns(s);
  switch (step) {
    case "aws.execution-role":
      return plan === "create"
        ? on(a.role, "iam:CreateRole", "iam:TagRole", "iam:GetRole", "iam:AttachRolePolicy", "iam:PutRolePolicy")
        : on(
            a.role,
            "iam:GetRole",
            "iam:ListAttachedRolePolicies",
            "iam:GetRolePolicy",
            "iam:AttachRolePolicy",
            "iam:PutRolePolicy",
          );
    case "aws.iam-user":
      return on(a.user, "iam:CreateUser", "iam:TagUser", "iam:GetUser");
    case "aws.iam-policy":
      return plan === "create"
        ? [...on(a.policy, "iam:CreatePolicy", "iam:TagPolicy"), ...on(a.user, "iam:AttachUserPolicy")]
        : [
            ...on(
              a.policy,
              "iam:GetPolicyVersion",
              "iam:ListPolicyVersions",
              "iam:CreatePolicyVersion",
              "iam:DeletePolicyVersion",
            ),
            ...on(a.user, "iam:AttachUserPolicy", "iam:ListAttachedUserPolicies"),
          ];
    case "prefect.aws-credentials":
      return on(
        a.user,
        "iam:ListAccessKeys",
        "iam:CreateAccessKey",
        ...(plan === "update" ? ["iam:DeleteAccessKey"] : []),
      );
    case "aws.ecs-cluster":
      return on(a.cluster, "ecs:CreateCluster", "ecs:TagResource");
    case "aws.vpc":
      return [
        ...on(
          a.ec2("vpc"),
          "ec2:CreateVpc",
          "ec2:AttachInternetGateway",
          "ec2:CreateSubnet",
          "ec2:CreateRouteTable",
          "ec2:CreateSecurityGroup",
        ),
        ...on(a.ec2("internet-gateway"), "ec2:CreateInternetGateway", "ec2:AttachInternetGateway", "ec2:CreateRoute"),
        ...on(a.ec2("subnet"), "ec2:CreateSubnet", "ec2:AssociateRouteTable"),
        ...on(a.ec2("route-table"), "ec2:CreateRouteTable", "ec2:CreateRoute", "ec2:AssociateRouteTable"),
        ...on(a.ec2("security-group"), "ec2:CreateSecurityGroup"),
        ...on(a.ec2("*"), "ec2:CreateTags"),
      ];
    case "aws.ecr-repository":
      return on(a.repository, "ecr:CreateRepository", "ecr:TagResource");
    case "docker.ecr-login":
      // GetAuthorizationToken takes no resource: "*" is the only grant IAM accepts.
      return on("*", "ecr:GetAuthorizationToken");
    default:
      return [];
  }
}

/** What grants an action, for the refusal: the printed policy, or AWS's managed policy for the service. */
export function grantedBy(action: string): string {
  const managed: Record<string, string> = {
    iam: "IAMFullAccess",
    ec2: "AmazonVPCFullAccess",
    ecs: "AmazonECS_FullAccess",
    ecr: "AmazonEC2ContainerRegistryFullAccess",
  };
  const m = managed[action.split(":")[0] ?? ""];
  return `the policy \`wp create POOL --type ecs:push --print-permissions\` prints${m ? `, or AWS's managed ${m}` : ""}`;
}

/** The steps provisioning runs, each as a create (the first run) — the whole grant. */
export const PROVISION_STEPS = [
  "aws.execution-role",
  "aws.iam-user",
  "aws.iam-policy",
  "prefect.aws-credentials",
  "aws.ecs-cluster",
  "aws.vpc",
  "aws.ecr-repository",
  "docker.ecr-login",
];

/** Reads every command makes (plan, status): on the pool's resources, or "*" where the action takes none. */
export function readNeeds(s: Scope): Need[] {
  const a = arns(s);
  return [
    ...on(
      "*",
      "sts:GetCallerIdentity",
      "iam:ListPolicies",
      "ec2:DescribeVpcs",
      "ec2:DescribeSubnets",
      "ec2:DescribeAvailabilityZones",
    ),
    ...on(
      "*",
      "ec2:DescribeInternetGateways",
      "ec2:DescribeRouteTables",
      "ec2:DescribeSecurityGroups",
      "servicequotas:GetServiceQuota",
    ),
    ...on(a.role, "iam:GetRole", "iam:ListAttachedRolePolicies", "iam:GetRolePolicy", "iam:ListRolePolicies"),
    ...on(a.user, "iam:GetUser", "iam:ListAccessKeys", "iam:ListAttachedUserPolicies"),
    ...on(a.policy, "iam:GetPolicyVersion", "iam:ListPolicyVersions", "iam:ListPolicyTags"),
    ...on(a.cluster, "ecs:DescribeClusters", "ecs:ListTagsForResource"),
    ...on(a.repository, "ecr:DescribeRepositories", "ecr:ListTagsForResource", "ecr:ListImages"),
    // The preflight simulates the caller: an IAM user, or the role of an assumed-role session (read for its path).
    ...on(a.user.replace(/user\/.*/, "user/*"), "iam:SimulatePrincipalPolicy"),
    ...on(a.role.replace(/role\/.*/, "role/*"), "iam:SimulatePrincipalPolicy", "iam:GetRole"),
  ];
}

/** `deprovision` and `rotate-credentials`: deleting what wp made, replacing the key. */
export function lifecycleNeeds(s: Scope): Need[] {
  const a = arns(s);
  return [
    ...on(a.role, "iam:DetachRolePolicy", "iam:DeleteRolePolicy", "iam:DeleteRole"),
    ...on(a.user, "iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:DetachUserPolicy", "iam:DeleteUser"),
    ...on(a.policy, "iam:DeletePolicy", "iam:DeletePolicyVersion"),
    ...on(a.cluster, "ecs:DeleteCluster"),
    ...on(a.repository, "ecr:DeleteRepository"),
    ...on(a.ec2("*"), "ec2:DeleteSecurityGroup", "ec2:DeleteSubnet", "ec2:DisassociateRouteTable"),
    ...on(
      a.ec2("*"),
      "ec2:DeleteRouteTable",
      "ec2:DetachInternetGateway",
      "ec2:DeleteInternetGateway",
      "ec2:DeleteVpc",
    ),
  ];
}

/** A statement id from a resource ARN: "ExecutionRole", "Ec2Vpc", "AnyResource". */
function sid(resource: string, a: ReturnType<typeof arns>): string {
  const fixed: Record<string, string> = {
    [a.role]: "ExecutionRole",
    [a.user]: "IamUser",
    [a.policy]: "IamPolicy",
    [a.cluster]: "EcsCluster",
    [a.repository]: "EcrRepository",
    "*": "NoResourceLevelPermissions",
  };
  if (fixed[resource]) return fixed[resource];
  if (resource.endsWith(":user/*")) return "SimulateCallerUserPolicies";
  if (resource.endsWith(":role/*")) return "SimulateCallerRolePolicies";
  const type = /:ec2:[^:]*:[^:]*:([^/]+)\//.exec(resource)?.[1] ?? "Resource";
  return `Ec2${type === "*" ? "AnyType" : type.replace(/(^|-)(\w)/g, (_m, _d, c: string) => c.toUpperCase())}`;
}

/** The least-privilege policy for provisioning, status, rotation and deprovisioning of one pool's names. */
export function policyDocument(s: Scope) {
  const needs = [
    ...readNeeds(s),
    ...PROVISION_STEPS.flatMap((st) => [...stepNeeds(st, "create", s), ...stepNeeds(st, "update", s)]),
    ...lifecycleNeeds(s),
  ];
  const byResource = new Map<string, Set<string>>();
  for (const n of needs) byResource.set(n.resource, (byResource.get(n.resource) ?? new Set()).add(n.action));
  const a = arns(s);
  return {
    Version: "2012-10-17",
    Statement: [...byResource].map(([resource, actions]) => ({
      Sid: sid(resource, a),
      Effect: "Allow",
      Action: [...actions].sort(),
      Resource: resource,
    })),
  };
}
