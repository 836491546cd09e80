/**
 * `wp verify` for Cloud Run: with the block's key only (a JWT assertion signed with it), do what
 * Prefect's Cloud Run push submission does — create a Cloud Run job from the pool's template values
 * (region, runtime service account), run it, wait for its execution to complete — with a tiny
 * public image whose command prints a line and exits; report success; delete the job, also after a
 * failure, a timeout or Ctrl-C. A refused call is reported as the exact IAM permission. The
 * execution's last stdout/stderr lines are read from Cloud Logging (which needs
 * logging.logEntries.list, not part of the roles Prefect grants: then they are read with the
 * operator's own ADC or gcloud login if there is one, and without any verify still succeeds and
 * says why there are no lines).
 */
import { existsSync } from "node:fs";
import type { LifecycleInput } from "../../engine/lifecycle-types.js";
import { stringDefault } from "../../engine/lifecycle-types.js";
import type { Leftover } from "../../engine/verify-journal.js";
import {
  LOG_LINES,
  newReport,
  type VerifyOptions,
  type VerifyReport,
  verifyInterrupts,
} from "../../engine/verify-run.js";
import { CloudError, WpError } from "../../errors.js";
import { wpCommand } from "../../ui/io.js";
import { adcPath, type Env } from "./config.js";
import { gcpContextOf } from "./index.js";
import { keyOf } from "./key.js";
import { type GcpContext, serviceAccountEmail } from "./names.js";
import {
  type CloudRunJobs,
  cloudRunJobs,
  type ListLogEntriesRequest,
  type ListLogEntriesResponse,
  type LogEntry,
  listLogEntries,
  type RunOperation,
  serviceAccountToken,
  waitOperation,
} from "./run-api.js";
import { onPath, resolveGcp } from "./sdk.js";

export const CLOUD_RUN_VERIFY_IMAGE = "docker.io/library/busybox:stable";
/** Longest log line kept (log text is untrusted; the command also escapes it). */
export const LOG_LINE_MAX = 2000;
/** Cloud Logging ingests with a delay: tries, and how long to keep trying, before reporting no lines. */
const LOG_TRIES = 4;
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

/** A refused call as the exact IAM permission the block's identity lacks. */
function deniedAs(email: string, fix: string) {
  return (err: unknown): never => {
    const m =
      err instanceof CloudError && err.code === "PERMISSION_DENIED" ? /Permission '([^']+)'/.exec(err.message) : null;
    if (m)
      throw new CloudError(
        `The block's identity ${email} is not allowed ${m[1]} (the call was refused).`,
        "PERMISSION_DENIED",
        `Grant it: \`${fix}\` restores the roles Prefect's provisioner grants.`,
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
    denied: deniedAs(email, wpCommand("provision-infra", pool.name)),
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
    const createOp = await run.jobs.createJob(run.jobId, jobBody(image, report.command, runAs)).catch(run.denied);
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

/** Waits for the job, runs it, and waits for its execution to complete. */
async function runJob(run: Run, createOp: RunOperation): Promise<void> {
  const { jobs, jobId, o, report, stop } = run;
  const wait = { pollMs: o.pollMs, deadline: run.deadline, stop: stop.stopped, sleep: stop.sleep };
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
  const cleanup = { pollMs: run.o.pollMs, deadline: Date.now() + 60_000, stop: () => false };
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

/** The Cloud Logging filter for what an execution's containers printed (stdout and stderr). */
export function executionLogFilter(project: string, jobId: string, execution: string): string {
  const log = (name: string) => `"projects/${project}/logs/run.googleapis.com%2F${name}"`;
  return [
    `resource.type="cloud_run_job"`,
    `resource.labels.job_name="${jobId}"`,
    `labels."run.googleapis.com/execution_name"="${execution}"`,
    `logName=(${log("stdout")} OR ${log("stderr")})`,
  ].join(" AND ");
}

/** A log entry's text: textPayload, else jsonPayload.message, else the JSON payload; one line, capped. */
export function entryText(e: LogEntry): string | null {
  let text: string | null = null;
  if (typeof e.textPayload === "string") text = e.textPayload;
  else if (e.jsonPayload && typeof e.jsonPayload === "object") {
    const m = e.jsonPayload.message;
    text = typeof m === "string" ? m : JSON.stringify(e.jsonPayload);
  }
  if (text === null) return null;
  text = text.replace(/\r?\n$/, "");
  return text.length > LOG_LINE_MAX ? `${text.slice(0, LOG_LINE_MAX)}…` : text;
}

/**
 * The execution's last LOG_LINES lines, oldest first. Asks for the newest entries; while Cloud Logging
 * has none yet (ingestion delay) it asks again, pollMs apart, until the deadline or LOG_TRIES. A refusal
 * (PERMISSION_DENIED, decided by the error code) is a note, not a failure: the run itself proved the pool.
 */
export async function readExecutionLogs(
  list: (req: ListLogEntriesRequest) => Promise<ListLogEntriesResponse>,
  q: {
    project: string;
    jobId: string;
    execution: string;
    pollMs: number;
    deadline: number;
    stop: () => boolean;
    sleep?: (ms: number) => Promise<void>;
  },
): Promise<{ logs: string[]; note?: string; denied?: true }> {
  const short = q.execution.split("/").pop() ?? q.execution;
  const base: ListLogEntriesRequest = {
    resourceNames: [`projects/${q.project}`],
    filter: executionLogFilter(q.project, q.jobId, short),
    orderBy: "timestamp desc",
    pageSize: LOG_LINES,
  };
  let pageToken: string | undefined;
  for (let tries = 1; ; tries++) {
    let page: ListLogEntriesResponse;
    try {
      page = await list(pageToken ? { ...base, pageToken } : base);
    } catch (err) {
      if (err instanceof CloudError && err.code === "PERMISSION_DENIED")
        return { logs: [], note: `the block's identity ${NO_LOGS_READ}`, denied: true };
      return {
        logs: [],
        note: `Cloud Logging could not be read (${err instanceof Error ? err.message : String(err)})`,
      };
    }
    const lines = (page.entries ?? []).flatMap((e) => {
      const t = entryText(e);
      return t === null ? [] : [t];
    });
    if (lines.length) return { logs: lines.slice(0, LOG_LINES).reverse() };
    // No entries but a token: the search did not finish; continue it. Otherwise start over on the next try.
    pageToken = page.nextPageToken || undefined;
    if (tries >= LOG_TRIES || q.stop() || Date.now() + q.pollMs > q.deadline) break;
    await (q.sleep ?? pause)(q.pollMs);
    if (q.stop()) break;
  }
  return { logs: [], note: `Cloud Logging holds no lines for execution ${short} yet` };
}

const NO_LOGS_READ = "may not read logs (logging.logEntries.list; grant roles/logging.viewer to see them here)";

/**
 * The operator's own access token, from an ADC file or gcloud's login (never the metadata server,
 * whose probe would cost seconds off Google Cloud); null when there is none or it does not work.
 */
async function operatorToken(project: string, region: string, env: Env): Promise<string | null> {
  if (!existsSync(adcPath(env).path) && !onPath("gcloud", env)) return null;
  try {
    return await (await resolveGcp({ project, region, env })).accessToken();
  } catch {
    return null;
  }
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
