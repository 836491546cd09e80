/**
 * `wp verify` for ECS: with the block's key only, do what Prefect's ECS push submission does —
 * register a task definition from the pool's template values (cluster, execution role, VPC
 * subnets), run it on Fargate, wait for it to stop — with a tiny public image whose command prints
 * a line and exits; report the exit code; deregister (and stop, if still running) whatever it made,
 * also after a failure, a timeout or Ctrl-C. A call the block's identity may not make is reported
 * as the exact IAM action.
 */

import type { LifecycleInput } from "../../engine/lifecycle-types.js";
import { stringDefault, templateDefault } from "../../engine/lifecycle-types.js";
import {
  LOG_LINES,
  newReport,
  type VerifyInterrupts,
  type VerifyOptions,
  type VerifyReport,
} from "../../engine/verify-run.js";
import { CloudError, WpError } from "../../errors.js";
import { wpCommand } from "../../ui/io.js";
import { BLOCK_TYPE } from "./names.js";
import { type AwsSession, awsErrorCode, resolveAws } from "./sdk.js";
import { type As, runVerifyTask, type TaskNetwork } from "./verify-task.js";
import { withNewKey } from "./verify-wait.js";

export const VERIFY_IMAGE = "public.ecr.aws/docker/library/busybox:stable";
const DENIED = new Set(["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"]);

/** The block's key as an AWS session, in the region the pool's resources are in. */
async function blockSession(input: LifecycleInput): Promise<{ session: AwsSession; keyId: string }> {
  const { pool } = input;
  if (!input.block) {
    throw new WpError(
      `Work pool '${pool.name}' references no ${BLOCK_TYPE} block, so there is no identity to verify with.`,
      `Run \`${wpCommand("provision-infra", pool.name)}\`.`,
    );
  }
  const full = await input.api.readBlockDocumentById(input.block.id, true);
  const d = (full?.data ?? {}) as Record<string, unknown>;
  const keyId = typeof d.aws_access_key_id === "string" ? d.aws_access_key_id : "";
  const secret = typeof d.aws_secret_access_key === "string" ? d.aws_secret_access_key : "";
  if (!keyId || !secret)
    throw new WpError(
      `Block ${input.block.name} holds no access key.`,
      `Run \`${wpCommand("rotate-credentials", pool.name)}\`.`,
    );
  const region =
    (typeof input.flags.region === "string" && input.flags.region) ||
    (typeof d.region_name === "string" && d.region_name) ||
    input.record?.record.context.region;
  const session = await resolveAws({
    region: region || undefined,
    env: input.env,
    credentials: { accessKeyId: keyId, secretAccessKey: secret },
  });
  return { session, keyId };
}

/** Runs one call; a refusal names the action the block's identity lacks. */
function callsAs(report: VerifyReport, keyId: string, pool: string, own = false): As {
  return async (action, fn) => {
    try {
      return await fn();
    } catch (err) {
      if (DENIED.has(awsErrorCode(err) ?? ""))
        throw new CloudError(
          `The block's identity ${report.identity ?? keyId} is not allowed ${action} (the call was refused).`,
          "AccessDenied",
          own
            ? `Grant ${action} to it in IAM (its policy is yours: wp made nothing for this pool).`
            : `Grant ${action} to it: \`${wpCommand("provision-infra", pool)}\` restores Prefect's policy.`,
        );
      throw err;
    }
  };
}

/** The subnets and security group of the pool's VPC (the template's, else the default VPC). */
async function taskNetwork(input: LifecycleInput, session: AwsSession, as: As): Promise<TaskNetwork> {
  const pool = input.pool;
  const ec2 = await session.ec2();
  const vpcId =
    stringDefault(pool, "vpc_id") ??
    (await as("ec2:DescribeVpcs", () => ec2.describeVpcs([{ Name: "is-default", Values: ["true"] }])))[0]?.VpcId;
  const fix = `Run \`${wpCommand("provision-infra", pool.name)}\`.`;
  if (!vpcId) throw new WpError("The pool names no VPC and the region has no default VPC.", fix);
  const inVpc = [{ Name: "vpc-id", Values: [vpcId] }];
  const subnets = (await as("ec2:DescribeSubnets", () => ec2.describeSubnets(inVpc))).flatMap((s) =>
    s.SubnetId ? [s.SubnetId] : [],
  );
  const groups = await as("ec2:DescribeSecurityGroups", () => ec2.describeSecurityGroups(inVpc));
  const group = (groups.find((g) => g.GroupName !== "default") ?? groups[0])?.GroupId;
  if (subnets.length === 0) throw new WpError(`VPC ${vpcId} has no subnets to run a task in.`, fix);
  return { subnets, ...(group ? { group } : {}) };
}

export async function verifyEcs(input: LifecycleInput, o: VerifyOptions): Promise<VerifyReport> {
  const { pool } = input;
  const { session, keyId } = await blockSession(input);
  const cluster = stringDefault(pool, "cluster") ?? "default";
  const image = o.image || VERIFY_IMAGE;
  const started = Date.now();
  const report = newReport(pool.name, o, { cluster, image, noun: "task" });
  const as = callsAs(report, keyId, pool.name, input.ownCredentials);
  // Right after `create` the block's key may be too new to work yet: waited for, not reported.
  report.identity = (
    await withNewKey(input, keyId, o.progress, () => as("sts:GetCallerIdentity", () => session.identity()))
  ).arn;
  const network = await taskNetwork(input, session, as);
  report.subnets = network.subnets;
  const logs = await logPlan(session, input, as);
  if (!logs.options && logs.note) report.logsNote = logs.note;
  if (logs.options)
    report.logsFrom = `CloudWatch Logs group ${logs.options["awslogs-group"]}, stream prefix ${STREAM_PREFIX}`;
  if (o.dryRun) {
    report.seconds = (Date.now() - started) / 1000;
    report.ok = true;
    return report;
  }
  const options = logs.options;
  return runVerifyTask({
    input,
    o,
    session,
    report,
    as,
    network,
    cluster,
    started,
    container: {
      name: CONTAINER,
      image,
      command: report.command,
      essential: true,
      cpu: 256,
      memory: 512,
      ...(options ? { logConfiguration: { logDriver: "awslogs", options } } : {}),
    },
    afterStop: options ? (taskArn, stop) => readLogs(session, options, taskArn, report, o, stop, as) : async () => {},
  });
}

const CONTAINER = "prefect";
const STREAM_PREFIX = "wp-verify";

/**
 * Where the test task's output goes: CloudWatch Logs through the awslogs driver, configured as
 * Prefect's ECS worker does with `configure_cloudwatch_logs` (group `prefect` unless the template's
 * `cloudwatch_logs_options` names another). The driver creates a missing group as the execution
 * role, which only a role wp set up is known to be allowed (its PrefectEcsTaskLogs policy); with a
 * missing group and any other role, the task runs without logs rather than failing on them.
 */
async function logPlan(
  session: AwsSession,
  input: LifecycleInput,
  as: As,
): Promise<{ options?: Record<string, string>; note?: string }> {
  const given = templateDefault(input.pool, "cloudwatch_logs_options");
  const extra =
    given && typeof given === "object" && !Array.isArray(given)
      ? Object.fromEntries(Object.entries(given).filter((e): e is [string, string] => typeof e[1] === "string"))
      : {};
  const group = extra["awslogs-group"] || "prefect";
  const options = {
    "awslogs-group": group,
    "awslogs-region": session.region,
    "awslogs-stream-prefix": STREAM_PREFIX,
  };
  let exists: boolean;
  try {
    exists = await as("logs:DescribeLogGroups", async () => (await session.logs()).groupExists(group));
  } catch (err) {
    if (awsErrorCode(err) !== "AccessDenied") throw err;
    return { note: (err as Error).message };
  }
  if (exists) return { options };
  const wpRole = input.record?.record.resources.some((r) => r.step === "aws.execution-role") ?? false;
  if (wpRole) return { options: { ...options, "awslogs-create-group": "true" } };
  return {
    note: `log group ${group} does not exist and the execution role is not known to be allowed to create it (\`${wpCommand("provision-infra", input.pool.name)}\` grants it)`,
  };
}

/** The task's last log lines (the awslogs driver flushes as the task stops; a few short retries cover the lag). */
async function readLogs(
  session: AwsSession,
  options: Record<string, string>,
  taskArn: string,
  report: VerifyReport,
  o: VerifyOptions,
  stop: VerifyInterrupts,
  as: As,
): Promise<void> {
  const group = options["awslogs-group"] ?? "prefect";
  const stream = `${STREAM_PREFIX}/${CONTAINER}/${taskArn.split("/").pop() ?? ""}`;
  const logs = await session.logs();
  let lines: string[] | null = null;
  for (let attempt = 0; attempt < 3 && !stop.stopped(); attempt++) {
    if (attempt) await stop.sleep(o.pollMs);
    try {
      lines = await as("logs:GetLogEvents", () => logs.lastEvents(group, stream, LOG_LINES));
    } catch (err) {
      // The run itself succeeded or failed on its own; unreadable logs only leave the report without lines.
      report.logsNote = err instanceof Error ? err.message : String(err);
      return;
    }
    if (lines?.length) break;
  }
  report.logs = (lines ?? []).map((l) => l.slice(0, 2000));
  if (lines === null) report.logsNote = `CloudWatch Logs holds no stream ${stream} in log group ${group}`;
  else if (!lines.length) report.logsNote = "the container printed nothing";
  if (lines !== null)
    report.kept = [
      ...(options["awslogs-create-group"]
        ? [`log group ${group} (made by the task's log driver; Prefect's ECS worker logs there too)`]
        : []),
      `log stream ${group}:${stream} (Prefect's policy does not let the block delete log streams)`,
    ];
}
