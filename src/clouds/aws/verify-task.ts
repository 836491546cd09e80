/**
 * `wp verify`'s task on ECS: the task definition and the task, each journaled before it is
 * created (a verify killed hard leaves entries that the next verify, status and deprovision find,
 * verify-leftover.ts); run on Fargate, waited for, then stopped (if still running) and deregistered
 * whatever happened — a failure, a timeout or Ctrl-C.
 */
import type * as Ecs from "@aws-sdk/client-ecs";
import { type LifecycleInput, stringDefault } from "../../engine/lifecycle-types.js";
import {
  type VerifyInterrupts,
  type VerifyOptions,
  type VerifyReport,
  verifyInterrupts,
} from "../../engine/verify-run.js";
import { CloudError } from "../../errors.js";
import type { AwsSession, EcsApi } from "./sdk.js";
import { TASK_DEFINITION_KIND, TASK_KIND, VERIFY_STARTER } from "./verify-leftover.js";
import { withNewRole } from "./verify-wait.js";

/** Runs one call as the block's identity; a refusal names the IAM action. */
export type As = <T>(action: string, fn: () => Promise<T>) => Promise<T>;

export interface TaskNetwork {
  subnets: string[];
  group?: string;
}

export interface TaskRun {
  input: LifecycleInput;
  o: VerifyOptions;
  session: AwsSession;
  report: VerifyReport;
  as: As;
  network: TaskNetwork;
  cluster: string;
  started: number;
  container: Ecs.ContainerDefinition;
  /** After the task stopped (its logs). */
  afterStop(taskArn: string, stop: VerifyInterrupts): Promise<void>;
}

const STOPPED_MESSAGE = "Verification interrupted; the task was stopped and cleaned up.";

export async function runVerifyTask(r: TaskRun): Promise<VerifyReport> {
  const { input, o, report, cluster } = r;
  const pool = input.pool.name;
  const family = `wp-verify-${pool.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 200)}`;
  const ecs = await r.session.ecs();
  const stop = verifyInterrupts(o.progress, "task");
  const where = { region: r.session.region, cluster, family };
  const tdEntry = input.journal.add({ pool, kind: TASK_DEFINITION_KIND, name: family, where });
  let taskEntry: ReturnType<typeof input.journal.add> | undefined;
  let taskDefinitionArn: string | undefined;
  try {
    taskDefinitionArn = await register(r, ecs, family);
    o.progress(`Registered task definition ${taskDefinitionArn ?? family}; starting a task on cluster ${cluster}...`);
    taskEntry = input.journal.add({ pool, kind: TASK_KIND, name: family, where });
    const { taskArn, status } = await start(r, ecs, taskDefinitionArn ?? family);
    await waitStopped(r, ecs, taskArn, status, stop);
    await r.afterStop(taskArn, stop);
    stop.check(STOPPED_MESSAGE);
    report.ok = report.exitCode === 0;
    return report;
  } finally {
    // Clean up what verify made, whatever happened (signals still come to `stop` until it is done).
    await cleanUp(ecs, cluster, report, taskDefinitionArn, o.progress);
    // What is cleaned up (or was never made) leaves the journal; a failed cleanup stays for the next run.
    const stopped = report.cleanedUp.some((c) => c.startsWith("stopped"));
    if (taskEntry && (!report.taskArn || report.lastStatus === "STOPPED" || stopped)) input.journal.done(taskEntry);
    if (!taskDefinitionArn || report.cleanedUp.some((c) => c.startsWith("deregistered"))) input.journal.done(tdEntry);
    report.seconds = Math.round((Date.now() - r.started) / 100) / 10;
    stop.undo();
  }
}

async function register(r: TaskRun, ecs: EcsApi, family: string): Promise<string | undefined> {
  const roleArn = stringDefault(r.input.pool, "execution_role_arn");
  const td = await r.as("ecs:RegisterTaskDefinition", () =>
    ecs.registerTaskDefinition({
      family,
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      ...(roleArn ? { executionRoleArn: roleArn } : {}),
      containerDefinitions: [r.container],
      tags: [{ key: "managed-by", value: "wp" }],
    }),
  );
  if (td.taskDefinitionArn) r.report.taskDefinition = td.taskDefinitionArn;
  return td.taskDefinitionArn;
}

async function start(r: TaskRun, ecs: EcsApi, taskDefinition: string): Promise<{ taskArn: string; status: string }> {
  const { subnets, group } = r.network;
  // Right after `create`, ECS may not be able to assume the new execution role yet: waited for.
  const role = stringDefault(r.input.pool, "execution_role_arn");
  const run = await withNewRole(r.input, role, r.o.progress, () =>
    r.as("ecs:RunTask", () =>
      ecs.runTask({
        cluster: r.cluster,
        taskDefinition,
        launchType: "FARGATE",
        count: 1,
        networkConfiguration: {
          awsvpcConfiguration: { subnets, ...(group ? { securityGroups: [group] } : {}), assignPublicIp: "ENABLED" },
        },
        startedBy: VERIFY_STARTER,
      }),
    ),
  );
  const task = run.tasks[0];
  if (!task?.taskArn) {
    const why = run.failures.map((f) => `${f.arn ?? ""} ${f.reason ?? ""}`.trim()).join("; ");
    throw new CloudError(`ECS did not start the task${why ? `: ${why}` : ""}.`, "RunTaskFailed");
  }
  r.report.taskArn = task.taskArn;
  return { taskArn: task.taskArn, status: task.lastStatus ?? "PROVISIONING" };
}

async function waitStopped(
  r: TaskRun,
  ecs: EcsApi,
  taskArn: string,
  status: string,
  stop: VerifyInterrupts,
): Promise<void> {
  const { o, report } = r;
  const deadline = r.started + o.timeoutSeconds * 1000;
  let last = status;
  o.progress(`Task ${taskArn}: ${last}`);
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
    const [t] = await r.as("ecs:DescribeTasks", () => ecs.describeTasks(r.cluster, [taskArn]));
    const now = t?.lastStatus ?? last;
    if (now !== last) o.progress(`Task ${taskArn}: ${now} (${Math.round((Date.now() - r.started) / 1000)}s)`);
    last = now;
    if (t && now === "STOPPED") {
      const container = t.containers?.find((c) => c.name === r.container.name) ?? t.containers?.[0];
      report.exitCode = container?.exitCode ?? null;
      if (t.stoppedReason) report.stoppedReason = t.stoppedReason;
    }
  }
  report.lastStatus = last;
}

/** Stops the task (if still running) and deregisters the task definition; failures are reported, not thrown. */
async function cleanUp(
  ecs: EcsApi,
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
