import type { LifecycleInput } from "../../engine/lifecycle-types.js";
import { stringDefault } from "../../engine/lifecycle-types.js";
import type { Leftover } from "../../engine/verify-journal.js";
import { newReport, type VerifyOptions, type VerifyReport, verifyInterrupts } from "../../engine/verify-run.js";
import { waitUntil } from "../../engine/wait.js";
import { CloudError, WpError } from "../../errors.js";
import { wpCommand } from "../../ui/io.js";
import { missingRoles } from "./iam.js";
import { gcpContextOf } from "./index.js";
import { keyOf } from "./key.js";
import { type GcpContext, serviceAccountEmail } from "./names.js";
import { locationDenied } from "./policy.js";
import {
  type CloudRunJobs,
  cloudRunJobs,
  listLogEntries,
  type RunOperation,
  serviceAccountToken,
  waitOperation,
} from "./run-api.js";
import { gcpCode } from "./sdk.js";
import { NO_LOGS_READ, operatorToken, readExecutionLogs } from "./verify-logs.js";
import { ROLE_WAIT } from "./waits.js";

export const CLOUD_RUN_VERIFY_IMAGE = "docker.io/library/busybox:stable";
/** Cloud Logging ingests with a delay: how long to keep trying before reporting no lines. */
const LOG_WAIT_MS = 10_000;

interface Run {
  input: LifecycleInput;
  o: VerifyOptions;
  report: VerifyReport;
  project: string;
  region: string;
  jobId: string;
  jobs: CloudRunJobs;
  token: string;
  started: number;
  deadline: number;
  stop: ReturnType<typeof verifyInterrupts>;
  denied(err: unknown): never;
  c: GcpContext;
  /** The block's identity. */
  email: string;
}

const STOPPED_MESSAGE = "Verification interrupted; the job was deleted.";

/** The block's key file, and its identity (the project and region are the pool's, from the record or template). */
async function blockKey(input: LifecycleInput): Promise<{ info: Record<string, unknown>; email: string }> {
  const fix = wpCommand("provision-infra", input.pool.name);
  if (!input.block)
    throw new WpError(`Work pool '${input.pool.name}' references no gcp-credentials block.`, `Run \`${fix}\`.`);
  const full = await input.api.readBlockDocumentById(input.block.id, true);
  const { info = {}, email = "" } = keyOf(full?.data);
  if (!email)
    throw new WpError(
      `Block ${input.block.name} holds no service-account key.`,
      `Run \`${wpCommand("rotate-credentials", input.pool.name)}\`.`,
    );
  return { info, email };
}

function verifyJobId(pool: string): string {
  const base =
    pool
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 40) || "pool";
  return `wp-verify-${base}-${Math.random().toString(36).slice(2, 6)}`.replace(/^wp-verify--/, "wp-verify-");
}

/** A refused call as the exact IAM permission the block's identity lacks (or the region the organisation forbids). */
function deniedAs(email: string, hint: string, where: { project: string; region: string }) {
  return (err: unknown): never => {
    const location = locationDenied(where, err, "verification job");
    if (location) throw location;
    const m =
      err instanceof CloudError && err.code === "PERMISSION_DENIED" ? /Permission '([^']+)'/.exec(err.message) : null;
    if (m)
      throw new CloudError(
        `The block's identity ${email} is not allowed ${m[1]} (the call was refused).`,
        "PERMISSION_DENIED",
        hint,
      );
    throw err;
  };
}

export async function verifyCloudRun(input: LifecycleInput, o: VerifyOptions): Promise<VerifyReport> {
  const c = gcpContextOf(input);
  const { pool } = input;
  const { info, email } = await blockKey(input);
  const { project, region } = c;
  const runAs = stringDefault(pool, "service_account_name") ?? serviceAccountEmail(c);
  const image = o.image || CLOUD_RUN_VERIFY_IMAGE;
  const started = Date.now();
  const report = newReport(pool.name, o, {
    identity: email,
    cluster: `projects/${project}/locations/${region}`,
    image,
    noun: "job",
  });
  report.logsFrom = "Cloud Logging (the execution's stdout and stderr)";
  if (o.dryRun) {
    report.ok = true;
    return report;
  }
  const token = await serviceAccountToken(info, input.env);
  const run: Run = {
    input,
    o,
    report,
    project,
    region,
    jobId: verifyJobId(pool.name),
    jobs: cloudRunJobs(token, project, region, input.env),
    token,
    started,
    deadline: started + o.timeoutSeconds * 1000,
    stop: verifyInterrupts(o.progress, "job"),
    denied: deniedAs(
      email,
      input.ownCredentials
        ? `Grant it to ${email} in project ${project} (Cloud Run Developer and Service Account User grant what verify needs).`
        : `Grant it: \`${wpCommand("provision-infra", pool.name)}\` restores the roles Prefect's provisioner grants.`,
      c,
    ),
    c,
    email,
  };
  // Journaled before it exists: a verify killed now leaves an entry the next verify or deprovision removes.
  const entry = input.journal.add({
    pool: pool.name,
    kind: "Cloud Run job",
    name: run.jobId,
    id: `projects/${project}/locations/${region}/jobs/${run.jobId}`,
    where: { project, region },
  });
  let created = false;
  try {
    const createOp = await createJob(run, jobBody(image, report.command, runAs));
    created = true;
    await runJob(run, createOp);
    await readLogs(run);
    run.stop.check(STOPPED_MESSAGE);
    return report;
  } finally {
    if (!created || (await deleteJob(run))) input.journal.done(entry);
    report.seconds = Math.round((Date.now() - started) / 100) / 10;
    run.stop.undo();
  }
}

function jobBody(image: string, command: string[], runAs: string): Record<string, unknown> {
  return {
    labels: { "managed-by": "wp" },
    template: {
      taskCount: 1,
      template: {
        containers: [{ image, command: command.slice(0, 1), args: command.slice(1) }],
        maxRetries: 0,
        serviceAccount: runAs,
      },
    },
  };
}

/** Whether the project's IAM policy (read with the operator's own credentials) grants the block's identity the pool's roles. */
async function rolesGranted(run: Run): Promise<boolean> {
  try {
    const policy = await (await run.c.gcp()).getIamPolicy();
    return missingRoles(policy, `serviceAccount:${run.email}`).length === 0;
  } catch {
    return false;
  }
}

/**
 * Creates the job. Refused while the project's policy does grant the roles: the grant is new and not
 * in effect yet (IAM propagation), so wait for it — bounded by the verify's deadline — instead of
 * reporting a missing role.
 */
async function createJob(run: Run, body: Record<string, unknown>): Promise<RunOperation> {
  return waitUntil({
    what: `the roles granted to ${run.email} to take effect`,
    why: ROLE_WAIT.why,
    timeoutMs: Math.max(0, Math.min(ROLE_WAIT.timeoutMs, run.deadline - Date.now())),
    intervalMs: run.o.pollMs,
    note: run.o.progress,
    hint: "Pass --timeout to wait longer, or run `wp verify` again in a few minutes.",
    attempt: async () => {
      run.stop.check(STOPPED_MESSAGE);
      try {
        return { done: true, value: await run.jobs.createJob(run.jobId, body) };
      } catch (err) {
        if (gcpCode(err) === "PERMISSION_DENIED" && (await rolesGranted(run)))
          return { done: false, reason: err instanceof Error ? err.message : String(err) };
        return run.denied(err);
      }
    },
  });
}

/** Waits for the job, runs it, and waits for its execution to complete. */
async function runJob(run: Run, createOp: RunOperation): Promise<void> {
  const { jobs, jobId, o, report, stop } = run;
  const wait = { pollMs: o.pollMs, deadline: run.deadline, stop: stop.stopped, sleep: stop.sleep, note: o.progress };
  const done = await waitOperation(jobs, createOp, wait);
  stop.check(STOPPED_MESSAGE);
  if (!done.done) throw timeout(o.timeoutSeconds);
  report.taskDefinition = `projects/${run.project}/locations/${run.region}/jobs/${jobId}`;
  o.progress(`Created Cloud Run job ${jobId}; running it...`);
  const runOp = await jobs.runJob(jobId).catch(run.denied);
  const execName = typeof runOp.metadata?.name === "string" ? runOp.metadata.name : undefined;
  if (!execName) throw new CloudError("Cloud Run did not name the execution it started.", "RunFailed");
  report.taskArn = execName;
  let last = "RUNNING";
  o.progress(`Execution ${execName}: ${last}`);
  for (;;) {
    stop.check(STOPPED_MESSAGE);
    if (Date.now() > run.deadline) throw timeout(o.timeoutSeconds);
    await stop.sleep(o.pollMs);
    stop.check(STOPPED_MESSAGE);
    const e = await jobs.getExecution(execName).catch(run.denied);
    if (!e.completionTime) continue;
    last = (e.failedCount ?? 0) > 0 || (e.cancelledCount ?? 0) > 0 ? "FAILED" : "SUCCEEDED";
    report.exitCode = last === "SUCCEEDED" ? 0 : 1;
    const failed = e.conditions?.find((x) => x.state === "CONDITION_FAILED");
    if (failed?.message) report.stoppedReason = failed.message;
    o.progress(`Execution ${execName}: ${last} (${Math.round((Date.now() - run.started) / 1000)}s)`);
    break;
  }
  report.lastStatus = last;
  report.ok = report.exitCode === 0;
}

/** The execution's last lines; when the block may not read logs, the operator's own login may. */
async function readLogs(run: Run): Promise<void> {
  const { o, report, stop, input } = run;
  const execution = report.taskArn ?? "";
  const query = {
    project: run.project,
    jobId: run.jobId,
    execution,
    pollMs: o.pollMs,
    deadline: Math.min(run.deadline, Date.now() + LOG_WAIT_MS),
    stop: stop.stopped,
    sleep: stop.sleep,
  };
  let read = await readExecutionLogs((req) => listLogEntries(run.token, req, input.env), query);
  // Reading logs proves nothing about the pool: when the block may not, the operator's own login may.
  const mine = read.denied ? await operatorToken(run.project, run.region, input.env) : null;
  if (mine) {
    const again = await readExecutionLogs((req) => listLogEntries(mine, req, input.env), query);
    if (again.logs.length)
      read = { logs: again.logs, note: `read with your own Google credentials; the block's identity ${NO_LOGS_READ}` };
  }
  report.logs = read.logs;
  if (read.note) report.logsNote = read.note;
}

/** Deletes the job and waits (up to a minute), so it is gone when wp exits; false when it could not. */
async function deleteJob(run: Run): Promise<boolean> {
  const cleanup = { pollMs: run.o.pollMs, deadline: Date.now() + 60_000, stop: () => false, note: run.o.progress };
  try {
    const op = await run.jobs.deleteJob(run.jobId);
    if (op) await waitOperation(run.jobs, op, cleanup);
    run.report.cleanedUp.push(`deleted Cloud Run job ${run.jobId}`);
    return true;
  } catch (err) {
    run.o.progress(`Could not delete Cloud Run job ${run.jobId}: ${err instanceof Error ? err.message : String(err)}`);
    return false;
  }
}

/**
 * Deletes the Cloud Run job an interrupted verify left (idempotent: one already gone is success), as
 * the block's identity (the one that created it), else the operator's own login.
 */
export async function removeVerifyJob(input: LifecycleInput, c: GcpContext, e: Leftover): Promise<void> {
  const project = e.where.project ?? c.project;
  const region = e.where.region ?? c.region;
  const tokens = [
    async () => serviceAccountToken((await blockKey(input)).info, input.env),
    async () => (await c.gcp()).accessToken(),
  ];
  let failure: unknown;
  for (const token of tokens) {
    try {
      const jobs = cloudRunJobs(await token(), project, region, input.env);
      const op = await jobs.deleteJob(e.name);
      if (op) await waitOperation(jobs, op, { pollMs: c.retryMs, deadline: Date.now() + 60_000, stop: () => false });
      return;
    } catch (err) {
      failure = err;
    }
  }
  throw failure;
}

const timeout = (s: number) =>
  new CloudError(`The job did not finish within ${s}s.`, "Timeout", "Pass --timeout to wait longer.");

export { entryText, executionLogFilter, LOG_LINE_MAX, readExecutionLogs } from "./verify-logs.js";
