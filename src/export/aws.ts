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
function tags(pool: string): Value {
  const value = (v: string) => v.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, "-").slice(0, 256);
  const all: Record<string, string> = { "prefect.io/work-pool": pool, "managed-by": "wp" };
  return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, value(v)]));
}

/** A JSON document as `jsonencode({ … })`: readable, and Terraform compares it as JSON. */
const json = (text: string) => call("jsonencode", JSON.parse(text) as Value);

function partitionOf(arn: string | undefined): string {
  return arn?.split(":")[1] || "aws";
}

/** What every AWS entry's mapping shares. */
interface Aws {
  out: Mapped;
  input: PoolInput;
  add(r: Omit<TfResource, "mode" | "cloud" | "provider">): void;
  keyOf(type: string, id: string): string;
  /** wp's tags on what it created; an adopted resource's tags are left alone (ignore_changes). */
  own(created: boolean): { attrs: Array<[string, Value]>; ignore?: string[] };
}

export function mapAws(input: PoolInput): Mapped {
  const { record } = input;
  const out = emptyMapped();
  const region = record.context.region ?? "us-east-1";
  const account = record.context.accountId ?? "";
  const alias = labelOf(`${account}_${region}`);
  out.providers.push({ cloud: "aws", name: "aws", alias, attrs: [["region", region]] });
  const a: Aws = {
    out,
    input,
    add: (r) => out.resources.push({ mode: "resource", cloud: "aws", provider: `aws.${alias}`, ...r }),
    keyOf: (type, id) => `aws/${account}/${region}/${type}/${id}`,
    own: (created) => (created ? { attrs: [["tags", tags(record.work_pool)]] } : { attrs: [], ignore: ["tags"] }),
  };
  mapRole(a);
  mapUser(a);
  mapPolicy(a);
  for (const [step, type] of [
    ["aws.ecs-cluster", "aws_ecs_cluster"],
    ["aws.ecr-repository", "aws_ecr_repository"],
  ] as const) {
    const r = entry(record, step);
    if (!r) continue;
    const own = a.own(r.created);
    a.add({
      ...from(record, r),
      type,
      name: r.name,
      key: a.keyOf(type, r.name),
      importId: r.name,
      attrs: [["name", r.name], ...own.attrs],
      ...(own.ignore ? { ignore: own.ignore } : {}),
    });
  }
  const vpc = entry(record, "aws.vpc");
  if (vpc?.id) mapVpc(out, input, vpc.id, a.add, a.keyOf);
  return out;
}

/** The execution role, its managed-policy attachment and its inline log policy (import ids: name, role/arn, role:name). */
function mapRole(a: Aws): void {
  const { record } = a.input;
  const role = entry(record, "aws.execution-role");
  if (!role) return;
  const name = role.name;
  const base = from(record, role);
  const own = a.own(role.created);
  a.add({
    ...base,
    type: "aws_iam_role",
    name,
    key: a.keyOf("aws_iam_role", name),
    importId: name,
    attrs: [
      ["name", name],
      ["description", ROLE_DESCRIPTION],
      ["assume_role_policy", json(EXECUTION_ROLE_TRUST)],
      ...own.attrs,
    ],
    ...(own.ignore ? { ignore: own.ignore } : {}),
  });
  const managed = `arn:${partitionOf(role.id ?? record.context.executionRoleArn)}:iam::aws:${ROLE_MANAGED_POLICY}`;
  a.add({
    ...base,
    derived: true,
    type: "aws_iam_role_policy_attachment",
    name: `${name}-execution`,
    key: a.keyOf("aws_iam_role_policy_attachment", `${name}/${managed}`),
    importId: `${name}/${managed}`,
    attrs: [
      ["role", name],
      ["policy_arn", managed],
    ],
  });
  a.add({
    ...base,
    derived: true,
    type: "aws_iam_role_policy",
    name: `${name}-${ROLE_LOGS_POLICY}`,
    key: a.keyOf("aws_iam_role_policy", `${name}:${ROLE_LOGS_POLICY}`),
    importId: `${name}:${ROLE_LOGS_POLICY}`,
    attrs: [
      ["name", ROLE_LOGS_POLICY],
      ["role", name],
      ["policy", json(EXECUTION_LOGS_DOCUMENT)],
    ],
  });
}

/** The IAM user (by name); its access key stays with wp (KEY_REASON). */
function mapUser(a: Aws): void {
  const { record } = a.input;
  const user = entry(record, "aws.iam-user");
  if (!user) return;
  const own = a.own(user.created);
  a.add({
    ...from(record, user),
    type: "aws_iam_user",
    name: user.name,
    key: a.keyOf("aws_iam_user", user.name),
    importId: user.name,
    attrs: [["name", user.name], ...own.attrs],
    ...(own.ignore ? { ignore: own.ignore } : {}),
  });
  a.out.notManaged.push({
    pool: record.work_pool,
    step: "aws.access-key",
    kind: "IAM access key",
    name: `of IAM user ${user.name}`,
    reason: KEY_REASON,
  });
}

/** Prefect's policy (by ARN) and its attachment to the user (user/arn). */
function mapPolicy(a: Aws): void {
  const { record } = a.input;
  const policy = entry(record, "aws.iam-policy");
  if (!policy?.id) return;
  const roleArn = entry(record, "aws.execution-role")?.id ?? record.context.executionRoleArn ?? "";
  const base = from(record, policy);
  const own = a.own(policy.created);
  a.add({
    ...base,
    type: "aws_iam_policy",
    name: policy.name,
    key: a.keyOf("aws_iam_policy", policy.id),
    importId: policy.id,
    attrs: [["name", policy.name], ["policy", json(ecsPolicyDocument(roleArn))], ...own.attrs],
    ...(own.ignore ? { ignore: own.ignore } : {}),
  });
  const userName = entry(record, "aws.iam-user")?.name ?? record.names.iamUser;
  if (!userName) return;
  a.add({
    ...base,
    derived: true,
    type: "aws_iam_user_policy_attachment",
    name: `${userName}-${policy.name}`,
    key: a.keyOf("aws_iam_user_policy_attachment", `${userName}/${policy.id}`),
    importId: `${userName}/${policy.id}`,
    attrs: [
      ["user", userName],
      ["policy_arn", policy.id],
    ],
  });
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
