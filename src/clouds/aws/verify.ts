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
  verifyInterrupts,
} from "../../engine/verify-run.js";
import { CloudError, WpError } from "../../errors.js";
import { wpCommand } from "../../ui/io.js";
import { BLOCK_TYPE } from "./names.js";
import { type AwsSession, awsErrorCode, resolveAws } from "./sdk.js";
import { TASK_DEFINITION_KIND, TASK_KIND, VERIFY_STARTER } from "./verify-leftover.js";

export const VERIFY_IMAGE = "public.ecr.aws/docker/library/busybox:stable";
const DENIED = new Set(["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"]);

export async function verifyEcs(input: LifecycleInput, o: VerifyOptions): Promise<VerifyReport> {
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
  const session: AwsSession = await resolveAws({
    region: region || undefined,
    env: input.env,
    credentials: { accessKeyId: keyId, secretAccessKey: secret },
  });
  const cluster = stringDefault(pool, "cluster") ?? "default";
  const roleArn = stringDefault(pool, "execution_role_arn");
  const image = o.image || VERIFY_IMAGE;
  const started = Date.now();
  const report = newReport(pool.name, o, { cluster, image, noun: "task" });
  const { command } = report;

  /** Runs one call; a refusal names the action the block's identity lacks. */
  const as = async <T>(action: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (DENIED.has(awsErrorCode(err) ?? ""))
        throw new CloudError(
          `The block's identity ${report.identity ?? keyId} is not allowed ${action} (the call was refused).`,
          "AccessDenied",
          `Grant ${action} to it: \`${wpCommand("provision-infra", pool.name)}\` restores Prefect's policy.`,
        );
      throw err;
    }
  };

  report.identity = (await as("sts:GetCallerIdentity", () => session.identity())).arn;
  const ec2 = await session.ec2();
  const vpcId =
    stringDefault(pool, "vpc_id") ??
    (await as("ec2:DescribeVpcs", () => ec2.describeVpcs([{ Name: "is-default", Values: ["true"] }])))[0]?.VpcId;
  if (!vpcId)
    throw new WpError(
      "The pool names no VPC and the region has no default VPC.",
      `Run \`${wpCommand("provision-infra", pool.name)}\`.`,
    );
  const inVpc = [{ Name: "vpc-id", Values: [vpcId] }];
  const subnets = (await as("ec2:DescribeSubnets", () => ec2.describeSubnets(inVpc))).flatMap((s) =>
    s.SubnetId ? [s.SubnetId] : [],
  );
  const groups = await as("ec2:DescribeSecurityGroups", () => ec2.describeSecurityGroups(inVpc));
  const group = (groups.find((g) => g.GroupName !== "default") ?? groups[0])?.GroupId;
  report.subnets = subnets;
  if (subnets.length === 0)
    throw new WpError(
      `VPC ${vpcId} has no subnets to run a task in.`,
      `Run \`${wpCommand("provision-infra", pool.name)}\`.`,
    );
  const logs = await logPlan(session, input, as);
  if (!logs.options && logs.note) report.logsNote = logs.note;
  if (logs.options)
    report.logsFrom = `CloudWatch Logs group ${logs.options["awslogs-group"]}, stream prefix ${STREAM_PREFIX}`;
  const family = `wp-verify-${pool.name.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 200)}`;
  if (o.dryRun) {
    report.seconds = (Date.now() - started) / 1000;
    report.ok = true;
    return report;
  }

  const ecs = await session.ecs();
  const stop = verifyInterrupts(o.progress, "task");
  const STOPPED_MESSAGE = "Verification interrupted; the task was stopped and cleaned up.";
  let taskDefinitionArn: string | undefined;
  // Journaled before they are created: a verify killed hard leaves entries the next verify,
  // status and deprovision find (verify-leftover.ts removes what they name).
  const where = { region: session.region, cluster, family };
  const tdEntry = input.journal.add({ pool: pool.name, kind: TASK_DEFINITION_KIND, name: family, where });
  let taskEntry: ReturnType<typeof input.journal.add> | undefined;
  try {
    const td = await as("ecs:RegisterTaskDefinition", () =>
      ecs.registerTaskDefinition({
        family,
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        cpu: "256",
        memory: "512",
        ...(roleArn ? { executionRoleArn: roleArn } : {}),
        containerDefinitions: [
          {
            name: CONTAINER,
            image,
            command,
            essential: true,
            cpu: 256,
            memory: 512,
            ...(logs.options ? { logConfiguration: { logDriver: "awslogs", options: logs.options } } : {}),
          },
        ],
        tags: [{ key: "managed-by", value: "wp" }],
      }),
    );
    taskDefinitionArn = td.taskDefinitionArn;
    if (taskDefinitionArn) report.taskDefinition = taskDefinitionArn;
    o.progress(`Registered task definition ${taskDefinitionArn ?? family}; starting a task on cluster ${cluster}...`);
    taskEntry = input.journal.add({ pool: pool.name, kind: TASK_KIND, name: family, where });
    const run = await as("ecs:RunTask", () =>
      ecs.runTask({
        cluster,
        taskDefinition: taskDefinitionArn ?? family,
        launchType: "FARGATE",
        count: 1,
        networkConfiguration: {
          awsvpcConfiguration: { subnets, ...(group ? { securityGroups: [group] } : {}), assignPublicIp: "ENABLED" },
        },
        startedBy: VERIFY_STARTER,
      }),
    );
    const task = run.tasks[0];
    if (!task?.taskArn) {
      const why = run.failures.map((f) => `${f.arn ?? ""} ${f.reason ?? ""}`.trim()).join("; ");
      throw new CloudError(`ECS did not start the task${why ? `: ${why}` : ""}.`, "RunTaskFailed");
    }
    report.taskArn = task.taskArn;
    const deadline = started + o.timeoutSeconds * 1000;
    let last = task.lastStatus ?? "PROVISIONING";
    o.progress(`Task ${task.taskArn}: ${last}`);
    while (last !== "STOPPED") {
      stop.check(STOPPED_MESSAGE);
      if (Date.now() > deadline)
        throw new CloudError(
          `The task did not finish within ${o.timeoutSeconds}s (last status ${last}).`,
          "Timeout",
          "Pass --timeout to wait longer.",
        );
      await stop.sleep(o.pollMs);
      stop.check(STOPPED_MESSAGE);
      const [t] = await as("ecs:DescribeTasks", () => ecs.describeTasks(cluster, [task.taskArn ?? ""]));
      const now = t?.lastStatus ?? last;
      if (now !== last) o.progress(`Task ${task.taskArn}: ${now} (${Math.round((Date.now() - started) / 1000)}s)`);
      last = now;
      if (t && now === "STOPPED") {
        const container = t.containers?.find((c) => c.name === CONTAINER) ?? t.containers?.[0];
        report.exitCode = container?.exitCode ?? null;
        if (t.stoppedReason) report.stoppedReason = t.stoppedReason;
      }
    }
    report.lastStatus = last;
    if (logs.options) await readLogs(session, logs.options, task.taskArn, report, o, stop, as);
    stop.check(STOPPED_MESSAGE);
    report.ok = report.exitCode === 0;
    return report;
  } finally {
    // Clean up what verify made, whatever happened (signals still come to `stop` until it is done).
    await cleanUp(ecs, cluster, report, taskDefinitionArn, o.progress);
    // What is cleaned up (or was never made) leaves the journal; a failed cleanup stays for the next run.
    if (
      taskEntry &&
      (!report.taskArn || report.lastStatus === "STOPPED" || report.cleanedUp.some((c) => c.startsWith("stopped")))
    )
      input.journal.done(taskEntry);
    if (!taskDefinitionArn || report.cleanedUp.some((c) => c.startsWith("deregistered"))) input.journal.done(tdEntry);
    report.seconds = Math.round((Date.now() - started) / 100) / 10;
    stop.undo();
  }
}

/** Stops the task (if still running) and deregisters the task definition; failures are reported, not thrown. */
async function cleanUp(
  ecs: Awaited<ReturnType<AwsSession["ecs"]>>,
  cluster: string,
  report: VerifyReport,
  taskDefinitionArn: string | undefined,
  progress: (m: string) => void,
): Promise<void> {
  const msg = (err: unknown) => (err instanceof Error ? err.message : String(err));
  if (report.taskArn && report.lastStatus !== "STOPPED") {
    await ecs.stopTask(cluster, report.taskArn, "wp verify cleanup").then(
      () => report.cleanedUp.push(`stopped task ${report.taskArn}`),
      (err: unknown) => progress(`Could not stop task ${report.taskArn}: ${msg(err)}`),
    );
  }
  if (taskDefinitionArn) {
    await ecs.deregisterTaskDefinition(taskDefinitionArn).then(
      () => report.cleanedUp.push(`deregistered task definition ${taskDefinitionArn}`),
      (err: unknown) => progress(`Could not deregister ${taskDefinitionArn}: ${msg(err)}`),
    );
  }
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
  as: <T>(action: string, fn: () => Promise<T>) => Promise<T>,
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
  as: <T>(action: string, fn: () => Promise<T>) => Promise<T>,
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
