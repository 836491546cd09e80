/**
 * ECS pools in `hashicorp/aws` terms. Each record entry becomes the resource Terraform imports it
 * by (import ids as the provider documents them; see test/export/fixtures/provider-schemas.json for
 * the pages): IAM role, user and policy by name/ARN, their attachments by `role/arn`, `user/arn`,
 * the role's inline policy by `role:name`, the cluster and the repository by name, the default VPC
 * as `aws_default_vpc` (Terraform adopts it and never deletes it) and a VPC wp created as `aws_vpc`.
 * The access key is not handed over (see KEY_REASON).
 */
import { EXECUTION_LOGS_DOCUMENT, EXECUTION_ROLE_TRUST, ecsPolicyDocument } from "../clouds/aws/policy.js";
import { call, labelOf, type Value } from "./hcl.js";
import { emptyMapped, entry, from, type Mapped, type PoolInput, type TfResource } from "./model.js";

// Fixed values of wp's ECS provisioner (src/clouds/aws/names.ts), repeated here so the export loads no AWS SDK.
const ROLE_DESCRIPTION = "Role for ECS tasks to access ECR and other resources.";
const ROLE_MANAGED_POLICY = "policy/service-role/AmazonECSTaskExecutionRolePolicy";
const ROLE_LOGS_POLICY = "PrefectEcsTaskExecutionLogs";

export const KEY_REASON =
  "the access key stays outside Terraform: an imported aws_iam_access_key has no `secret` (the IAM API never returns it), " +
  "and a key Terraform creates keeps its secret in the state. `wp rotate-credentials` keeps rotating it; " +
  "the block gets it through the ephemeral variables at apply time.";

/** The tags wp puts on what it creates (src/clouds/aws/names.ts `tags`). */
function tags(pool: string, extra: Record<string, string> = {}): Value {
  const value = (v: string) => v.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, "-").slice(0, 256);
  const all: Record<string, string> = { ...extra, "prefect.io/work-pool": pool, "managed-by": "wp" };
  return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, value(v)]));
}

/** A JSON document as `jsonencode({ … })`: readable, and Terraform compares it as JSON. */
const json = (text: string) => call("jsonencode", JSON.parse(text) as Value);

function partitionOf(arn: string | undefined): string {
  return arn?.split(":")[1] || "aws";
}

export function mapAws(input: PoolInput): Mapped {
  const { record } = input;
  const out = emptyMapped();
  const region = record.context.region ?? "us-east-1";
  const account = record.context.accountId ?? "";
  const alias = labelOf(`${account}_${region}`);
  out.providers.push({ cloud: "aws", name: "aws", alias, attrs: [["region", region]] });
  const pool = record.work_pool;
  const add = (r: Omit<TfResource, "mode" | "cloud" | "provider">) =>
    out.resources.push({ mode: "resource", cloud: "aws", provider: `aws.${alias}`, ...r });
  const keyOf = (type: string, id: string) => `aws/${account}/${region}/${type}/${id}`;
  const ownTags = (created: boolean, extra: Record<string, string> = {}) =>
    created ? [["tags", tags(pool, extra)] as [string, Value]] : [];
  const ignore = (created: boolean) => (created ? {} : { ignore: ["tags"] });

  const role = entry(record, "aws.execution-role");
  const roleArn = role?.id ?? record.context.executionRoleArn;
  if (role) {
    const name = role.name;
    const base = from(record, role);
    add({
      ...base,
      type: "aws_iam_role",
      name,
      key: keyOf("aws_iam_role", name),
      importId: name,
      attrs: [
        ["name", name],
        ["description", ROLE_DESCRIPTION],
        ["assume_role_policy", json(EXECUTION_ROLE_TRUST)],
        ...ownTags(role.created),
      ],
      ...ignore(role.created),
    });
    const managed = `arn:${partitionOf(roleArn)}:iam::aws:${ROLE_MANAGED_POLICY}`;
    add({
      ...base,
      derived: true,
      type: "aws_iam_role_policy_attachment",
      name: `${name}-execution`,
      key: keyOf("aws_iam_role_policy_attachment", `${name}/${managed}`),
      importId: `${name}/${managed}`,
      attrs: [
        ["role", name],
        ["policy_arn", managed],
      ],
    });
    add({
      ...base,
      derived: true,
      type: "aws_iam_role_policy",
      name: `${name}-${ROLE_LOGS_POLICY}`,
      key: keyOf("aws_iam_role_policy", `${name}:${ROLE_LOGS_POLICY}`),
      importId: `${name}:${ROLE_LOGS_POLICY}`,
      attrs: [
        ["name", ROLE_LOGS_POLICY],
        ["role", name],
        ["policy", json(EXECUTION_LOGS_DOCUMENT)],
      ],
    });
  }

  const user = entry(record, "aws.iam-user");
  if (user) {
    add({
      ...from(record, user),
      type: "aws_iam_user",
      name: user.name,
      key: keyOf("aws_iam_user", user.name),
      importId: user.name,
      attrs: [["name", user.name], ...ownTags(user.created)],
      ...ignore(user.created),
    });
    out.notManaged.push({
      pool,
      step: "aws.access-key",
      kind: "IAM access key",
      name: `of IAM user ${user.name}`,
      reason: KEY_REASON,
    });
  }

  const policy = entry(record, "aws.iam-policy");
  if (policy?.id) {
    const base = from(record, policy);
    add({
      ...base,
      type: "aws_iam_policy",
      name: policy.name,
      key: keyOf("aws_iam_policy", policy.id),
      importId: policy.id,
      attrs: [["name", policy.name], ["policy", json(ecsPolicyDocument(roleArn ?? ""))], ...ownTags(policy.created)],
      ...ignore(policy.created),
    });
    const userName = user?.name ?? record.names.iamUser;
    if (userName) {
      add({
        ...base,
        derived: true,
        type: "aws_iam_user_policy_attachment",
        name: `${userName}-${policy.name}`,
        key: keyOf("aws_iam_user_policy_attachment", `${userName}/${policy.id}`),
        importId: `${userName}/${policy.id}`,
        attrs: [
          ["user", userName],
          ["policy_arn", policy.id],
        ],
      });
    }
  }

  const cluster = entry(record, "aws.ecs-cluster");
  if (cluster) {
    add({
      ...from(record, cluster),
      type: "aws_ecs_cluster",
      name: cluster.name,
      key: keyOf("aws_ecs_cluster", cluster.name),
      importId: cluster.name,
      attrs: [["name", cluster.name], ...ownTags(cluster.created)],
      ...ignore(cluster.created),
    });
  }

  const repo = entry(record, "aws.ecr-repository");
  if (repo) {
    add({
      ...from(record, repo),
      type: "aws_ecr_repository",
      name: repo.name,
      key: keyOf("aws_ecr_repository", repo.name),
      importId: repo.name,
      attrs: [["name", repo.name], ...ownTags(repo.created)],
      ...ignore(repo.created),
    });
  }

  const vpc = entry(record, "aws.vpc");
  if (vpc?.id) mapVpc(out, input, vpc.id, add, keyOf);
  return out;
}

function mapVpc(
  out: Mapped,
  input: PoolInput,
  id: string,
  add: (r: Omit<TfResource, "mode" | "cloud" | "provider">) => void,
  keyOf: (type: string, id: string) => string,
): void {
  const { record } = input;
  const vpc = entry(record, "aws.vpc");
  if (!vpc) return;
  const base = from(record, vpc);
  if (!vpc.created && vpc.name.startsWith("default VPC")) {
    add({
      ...base,
      adopted: false,
      type: "aws_default_vpc",
      name: `default-vpc-${id}`,
      key: keyOf("aws_default_vpc", id),
      importId: id,
      attrs: [],
      ignore: ["tags"],
      comments: [
        "The region's default VPC, which the pool uses (wp created no VPC). aws_default_vpc adopts it;",
        "`terraform destroy` only forgets it (force_destroy is false).",
      ],
    });
    return;
  }
  add({
    ...base,
    type: "aws_vpc",
    name: vpc.name,
    key: keyOf("aws_vpc", id),
    importId: id,
    attrs: [],
    generateConfig: true,
    comments: [
      `VPC ${vpc.name}: the record names the VPC only, not its CIDR, subnets, internet gateway, route table or`,
      "security group. Run `terraform plan -generate-config-out=generated.tf` once: Terraform writes its",
      `configuration from AWS. Its parts: aws ec2 describe-subnets --filters Name=vpc-id,Values=${id} (and`,
      "describe-internet-gateways / describe-route-tables / describe-security-groups with the same filter).",
    ],
  });
  out.notManaged.push({
    pool: record.work_pool,
    step: "aws.vpc",
    kind: "VPC network",
    name: `subnets, internet gateway, route table and security group of ${id}`,
    reason: "not in the record (it names the VPC); import them by their ids if Terraform should own them",
  });
}
