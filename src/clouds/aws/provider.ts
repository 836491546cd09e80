/** The ECS provider: types, flags, resource names with AWS's naming rules, Prefect's prompts. */
import { stringDefault } from "../../engine/lifecycle-types.js";
import { blockNameOption, type NameRule, nameOption, type Provider } from "../../engine/provider.js";
import { AuthError } from "../../errors.js";

const IAM_CHARS = /^[\w+=,.@-]+$/;
const IAM_ALLOWED = "letters, digits and + = , . @ _ -";

/** AWS's naming rules for the resources the ECS provisioner names (the Azure and Google providers have theirs). */
export const AWS_NAME_RULES = {
  iamUser: { min: 1, max: 64, pattern: IAM_CHARS, allowed: IAM_ALLOWED },
  iamPolicy: { min: 1, max: 128, pattern: IAM_CHARS, allowed: IAM_ALLOWED },
  iamRole: { min: 1, max: 64, pattern: IAM_CHARS, allowed: IAM_ALLOWED },
  cluster: { min: 1, max: 255, pattern: /^[A-Za-z0-9_-]+$/, allowed: "letters, digits, hyphens and underscores" },
  // A Name tag value.
  vpc: {
    min: 1,
    max: 256,
    pattern: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u,
    allowed: "letters, digits, spaces and _ . : / = + - @",
  },
  securityGroup: {
    min: 1,
    max: 255,
    pattern: /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]+$/,
    allowed: "letters, digits, spaces and . _ - : / ( ) # , @ [ ] + = & ; { } ! $ *",
    refuse: (v: string) => (v.toLowerCase().startsWith("sg-") ? "must not start with 'sg-'" : null),
  },
  repository: {
    min: 2,
    max: 256,
    pattern: /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
    allowed: "lowercase letters, digits and . _ - / between them (no upper case, no leading or trailing separator)",
  },
} satisfies Record<string, NameRule>;

export const ecsProvider: Provider = {
  id: "ecs",
  title: "AWS ECS",
  types: ["ecs:push", "ecs"],
  blockType: "aws-credentials",
  blockVariable: "aws_credentials",
  lifecycle: async (input) => (await import("./lifecycle.js")).ecsLifecycle(input),
  async blockIdentity(data, env) {
    const str = (k: string) => (typeof data[k] === "string" && data[k] ? String(data[k]) : undefined);
    const [accessKeyId, secretAccessKey, sessionToken] = [
      str("aws_access_key_id"),
      str("aws_secret_access_key"),
      str("aws_session_token"),
    ];
    if (!accessKeyId || !secretAccessKey) throw new AuthError("The block holds no access key id and secret.");
    const key = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
    const region = str("region_name") ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    return (await import("./own-credentials.js")).awsKeyIdentity(key, region, env);
  },
  // Where the pool's resources live: later commands read them there (a contradicting --region is exit 2).
  recorded: { region: "region" },
  /** A pool without a record: the cluster and the execution role its template names. */
  namesFromTemplate(pool) {
    const cluster = stringDefault(pool, "cluster");
    const role = stringDefault(pool, "execution_role_arn")?.split("/").pop();
    return { ...(cluster ? { cluster } : {}), ...(role ? { role } : {}) };
  },
  verify: async (input, o) => (await import("./verify.js")).verifyEcs(input, o),
  permissions: async (input) => (await import("./print-permissions.js")).ecsPermissions(input),
  options: [
    {
      flags: "--region <region>",
      description:
        "cloud region (AWS: AWS_REGION, the profile's; Google: CLOUDSDK_RUN_REGION, run/region, us-central1)",
    },
    { flags: "--aws-profile <name>", description: "AWS shared-config profile (default: AWS_PROFILE)" },
  ],
  customizePrompt:
    "Would you like to customize the resource names for your infrastructure? This includes an IAM user, IAM policy, " +
    "ECS cluster, VPC, ECS security group, and ECR repository.",
  names: [
    nameOption("iamUser", "--iam-user-name", {
      prompt: "Enter a name for the IAM user (manages ECS tasks)",
      what: "IAM user name",
      rule: AWS_NAME_RULES.iamUser,
      fixed: "prefect-ecs-user",
    }),
    nameOption("iamPolicy", "--iam-policy-name", {
      prompt: "Enter a name for the IAM policy (defines ECS task execution and image management permissions)",
      what: "IAM policy name",
      rule: AWS_NAME_RULES.iamPolicy,
      fixed: "prefect-ecs-policy",
    }),
    nameOption("cluster", "--cluster-name", {
      prompt: "Enter a name for the ECS cluster (hosts ECS tasks)",
      what: "ECS cluster name",
      rule: AWS_NAME_RULES.cluster,
      fixed: "prefect-ecs-cluster",
    }),
    nameOption("vpc", "--vpc-name", {
      prompt: "Enter a name for the VPC (provides network isolation for ECS tasks)",
      what: "VPC name",
      rule: AWS_NAME_RULES.vpc,
      fixed: "prefect-ecs-vpc",
    }),
    nameOption("securityGroup", "--security-group-name", {
      prompt: "Enter a name for the ECS security group (controls task network traffic)",
      what: "Security group name",
      rule: AWS_NAME_RULES.securityGroup,
      fixed: "prefect-ecs-security-group",
    }),
    nameOption("repository", "--repository-name", {
      prompt: "Enter a name for the ECR repository (stores Docker images for ECS tasks)",
      what: "ECR repository name",
      rule: AWS_NAME_RULES.repository,
      fixed: "prefect-flows",
    }),
    blockNameOption(
      "aws-credentials",
      "Enter a name for the Prefect AWS credentials block (stores AWS credentials in Prefect for managing ECS tasks)",
    ),
  ],
  async prepare(flags, env) {
    const { resolveRegion } = await import("./sdk.js");
    const str = (k: string) => (typeof flags[k] === "string" && flags[k] ? String(flags[k]) : undefined);
    return { region: await resolveRegion({ region: str("region"), profile: str("awsProfile"), env }) };
  },
  async load(input) {
    const { createEcsProvisionerFromInput } = await import("./from-input.js");
    return createEcsProvisionerFromInput(input);
  },
};
