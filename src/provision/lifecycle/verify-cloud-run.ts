/**
 * `wp verify` for Cloud Run: with the block's key only (a JWT assertion signed with it), do what
 * Prefect's Cloud Run push submission does — create a Cloud Run job from the pool's template values
 * (region, runtime service account), run it, wait for its execution to complete — with a tiny
 * public image whose command prints a line and exits; report success; delete the job, also after a
 * failure, a timeout or Ctrl-C. A refused call is reported as the exact IAM permission.
 */
import { type CloudRunJobs, cloudRunJobs, serviceAccountToken, waitOperation } from "../../clouds/gcp-run.js";
import { CloudError, WpError } from "../../errors.js";
import { onInterrupt } from "../../interrupt.js";
import { wpCommand } from "../../ui/io.js";
import { SERVICE_ACCOUNT } from "../cloud-run/names.js";
import type { LifecycleInput } from "./types.js";
import { stringDefault } from "./types.js";
import { VerifyInterrupted, type VerifyOptions, type VerifyReport } from "./verify-ecs.js";

export const CLOUD_RUN_VERIFY_IMAGE = "docker.io/library/busybox:stable";

export async function verifyCloudRun(input: LifecycleInput, o: VerifyOptions): Promise<VerifyReport> {
  const { pool } = input;
  const fix = wpCommand("provision-infra", pool.name);
  if (!input.block)
    throw new WpError(`Work pool '${pool.name}' references no gcp-credentials block.`, `Run \`${fix}\`.`);
  const full = await input.api.readBlockDocumentById(input.block.id, true);
  const data = (full?.data ?? {}) as { project?: unknown; service_account_info?: Record<string, unknown> };
  const info = data.service_account_info ?? {};
  const email = typeof info.client_email === "string" ? info.client_email : "";
  const project =
    (typeof input.flags.project === "string" && input.flags.project) ||
    (typeof data.project === "string" && data.project) ||
    (typeof info.project_id === "string" ? info.project_id : "");
  if (!project || !email)
    throw new WpError(
      `Block ${input.block.name} holds no service-account key.`,
      `Run \`${wpCommand("rotate-credentials", pool.name)}\`.`,
    );
  const region =
    (typeof input.flags.region === "string" && input.flags.region) || stringDefault(pool, "region") || "us-central1";
  const runAs = stringDefault(pool, "service_account_name") ?? `${SERVICE_ACCOUNT}@${project}.iam.gserviceaccount.com`;
  const image = o.image || CLOUD_RUN_VERIFY_IMAGE;
  const command = ["sh", "-c", `echo "wp verify: work pool ${pool.name.replace(/[^\w.-]/g, "_")} can run a job"`];
  const started = Date.now();
  const report: VerifyReport = {
    workPool: pool.name,
    dryRun: o.dryRun,
    identity: email,
    cluster: `projects/${project}/locations/${region}`,
    image,
    command,
    subnets: [],
    logs: [],
    cleanedUp: [],
    seconds: 0,
    ok: false,
  };
  if (o.dryRun) {
    report.ok = true;
    return report;
  }
  const denied = (err: unknown): never => {
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
  const token = await serviceAccountToken(info, input.env);
  const jobs: CloudRunJobs = cloudRunJobs(token, project, region, input.env);
  const jobId = `wp-verify-${
    pool.name
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 40) || "pool"
  }-${Math.random().toString(36).slice(2, 6)}`.replace(/^wp-verify--/, "wp-verify-");
  let interrupted = false;
  const undo = onInterrupt(() => {
    interrupted = true;
    o.progress("wp: stopping the verification job and cleaning up...");
  });
  let created = false;
  const deadline = started + o.timeoutSeconds * 1000;
  const wait = { pollMs: o.pollMs, deadline, stop: () => interrupted };
  try {
    const createOp = await jobs
      .createJob(jobId, {
        labels: { "managed-by": "wp" },
        template: {
          taskCount: 1,
          template: {
            containers: [{ image, command: command.slice(0, 1), args: command.slice(1) }],
            maxRetries: 0,
            serviceAccount: runAs,
          },
        },
      })
      .catch(denied);
    created = true;
    const done = await waitOperation(jobs, createOp, wait);
    if (!done.done)
      throw interrupted
        ? new VerifyInterrupted("Verification interrupted; the job was deleted.")
        : timeout(o.timeoutSeconds);
    report.taskDefinition = `projects/${project}/locations/${region}/jobs/${jobId}`;
    o.progress(`Created Cloud Run job ${jobId}; running it...`);
    const runOp = await jobs.runJob(jobId).catch(denied);
    const execName = typeof runOp.metadata?.name === "string" ? runOp.metadata.name : undefined;
    if (!execName) throw new CloudError("Cloud Run did not name the execution it started.", "RunFailed");
    report.taskArn = execName;
    let last = "RUNNING";
    o.progress(`Execution ${execName}: ${last}`);
    for (;;) {
      if (interrupted) throw new VerifyInterrupted("Verification interrupted; the job was deleted.");
      if (Date.now() > deadline) throw timeout(o.timeoutSeconds);
      await new Promise((r) => setTimeout(r, o.pollMs));
      const e = await jobs.getExecution(execName).catch(denied);
      if (e.completionTime) {
        last = (e.failedCount ?? 0) > 0 || (e.cancelledCount ?? 0) > 0 ? "FAILED" : "SUCCEEDED";
        report.exitCode = last === "SUCCEEDED" ? 0 : 1;
        const failed = e.conditions?.find((c) => c.state === "CONDITION_FAILED");
        if (failed?.message) report.stoppedReason = failed.message;
        o.progress(`Execution ${execName}: ${last} (${Math.round((Date.now() - started) / 1000)}s)`);
        break;
      }
    }
    report.lastStatus = last;
    report.ok = report.exitCode === 0;
    return report;
  } finally {
    undo();
    if (created) {
      // Deletion is an operation too: waited for (up to a minute), so the job is gone when wp exits.
      const cleanup = { pollMs: o.pollMs, deadline: Date.now() + 60_000, stop: () => false };
      await jobs
        .deleteJob(jobId)
        .then((op) => (op ? waitOperation(jobs, op, cleanup) : null))
        .then(
          () => report.cleanedUp.push(`deleted Cloud Run job ${jobId}`),
          (err: unknown) =>
            o.progress(`Could not delete Cloud Run job ${jobId}: ${err instanceof Error ? err.message : String(err)}`),
        );
    }
    report.seconds = Math.round((Date.now() - started) / 100) / 10;
  }
}

const timeout = (s: number) =>
  new CloudError(`The job did not finish within ${s}s.`, "Timeout", "Pass --timeout to wait longer.");
