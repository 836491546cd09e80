/** IAM documents for the ECS provisioner, and the check that an existing document grants what wp needs. */

/** Prefect's action list for the `prefect-ecs-policy` statement, in Prefect's order. */
export const PREFECT_ECS_ACTIONS = [
  "ec2:AuthorizeSecurityGroupIngress",
  "ec2:CreateSecurityGroup",
  "ec2:CreateTags",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeSecurityGroups",
  "ec2:DescribeSubnets",
  "ec2:DescribeVpcs",
  "ecs:CreateCluster",
  "ecs:DeregisterTaskDefinition",
  "ecs:DescribeClusters",
  "ecs:DescribeTaskDefinition",
  "ecs:DescribeTasks",
  "ecs:ListAccountSettings",
  "ecs:ListClusters",
  "ecs:ListTaskDefinitions",
  "ecs:RegisterTaskDefinition",
  "ecs:RunTask",
  "ecs:StopTask",
  "ecs:TagResource",
  "logs:CreateLogStream",
  "logs:PutLogEvents",
  "logs:DescribeLogGroups",
  "logs:GetLogEvents",
];

/** Lets the execution role create the task's log group (the worker sets `awslogs-create-group`). */
export const EXECUTION_LOG_ACTIONS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"];

const ECS_SID = "PrefectEcsPolicy";
const PASS_ROLE_SID = "AllowPassRoleForEcs";

interface Statement {
  Sid?: string;
  Effect?: string;
  Action?: string | string[];
  Resource?: string | string[];
  [key: string]: unknown;
}

interface PolicyDocument {
  Version?: string;
  Statement?: Statement | Statement[];
}

export const EXECUTION_ROLE_TRUST = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

export const EXECUTION_LOGS_DOCUMENT = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Sid: "PrefectEcsTaskLogs", Effect: "Allow", Action: EXECUTION_LOG_ACTIONS, Resource: "*" }],
});

function prefectStatements(roleArn: string): Statement[] {
  return [
    { Sid: ECS_SID, Effect: "Allow", Action: PREFECT_ECS_ACTIONS, Resource: "*" },
    { Sid: PASS_ROLE_SID, Effect: "Allow", Action: "iam:PassRole", Resource: roleArn },
  ];
}

/** The `prefect-ecs-policy` document Prefect creates (with the PassRole statement for the role). */
export function ecsPolicyDocument(roleArn: string): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: prefectStatements(roleArn) });
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** IAM wildcard match (`*`, `?`), case-insensitive as IAM action names are. */
function matches(pattern: string, value: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`, "i").test(value);
}

function statements(doc: PolicyDocument): Statement[] {
  return Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [];
}

function granted(doc: PolicyDocument, action: string, resource: string): boolean {
  return statements(doc).some(
    (s) =>
      s.Effect === "Allow" &&
      list(s.Action).some((a) => matches(a, action)) &&
      list(s.Resource).some((r) => matches(r, resource)),
  );
}

function parse(text: string): PolicyDocument {
  const doc: unknown = JSON.parse(text);
  return typeof doc === "object" && doc !== null ? (doc as PolicyDocument) : {};
}

/** Actions (on `*`) that `document` does not allow. */
export function missingActions(document: string, actions: string[]): string[] {
  const doc = parse(document);
  return actions.filter((a) => !granted(doc, a, "*"));
}

/** What the existing `prefect-ecs-policy` lacks: Prefect's actions, and iam:PassRole on the role. */
export function missingEcsPolicyParts(document: string, roleArn: string): string[] {
  const missing = missingActions(document, PREFECT_ECS_ACTIONS);
  if (!granted(parse(document), "iam:PassRole", roleArn)) missing.push(`iam:PassRole on ${roleArn}`);
  return missing;
}

/** The existing document with Prefect's statements (re)written and every other statement kept. */
export function mergeEcsPolicy(document: string, roleArn: string): string {
  const doc = parse(document);
  const kept = statements(doc).filter((s) => s.Sid !== ECS_SID && s.Sid !== PASS_ROLE_SID);
  return JSON.stringify({ Version: doc.Version ?? "2012-10-17", Statement: [...kept, ...prefectStatements(roleArn)] });
}
