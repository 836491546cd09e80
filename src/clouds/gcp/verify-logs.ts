/**
 * The lines a `wp verify` execution printed, from Cloud Logging v2 `entries:list` (with the block's
 * key, else the operator's own login): the filter, each entry's text, and the paged read.
 */
import { existsSync } from "node:fs";
import { LOG_LINES } from "../../engine/verify-run.js";
import { CloudError } from "../../errors.js";
import { adcPath, type Env } from "./config.js";
import type { ListLogEntriesRequest, ListLogEntriesResponse, LogEntry } from "./run-api.js";
import { onPath, resolveGcp } from "./sdk.js";

/** Longest log line kept (log text is untrusted; the command also escapes it). */
export const LOG_LINE_MAX = 2000;
/** Cloud Logging ingests with a delay: tries before reporting no lines. */
const LOG_TRIES = 4;

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
  const got: string[] = [];
  for (let tries = 1; ; ) {
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
    for (const e of page.entries ?? []) {
      const t = entryText(e);
      if (t !== null) got.push(t);
    }
    pageToken = page.nextPageToken || undefined;
    // Newest first, page after page (every list pages: https://cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list).
    if (got.length >= LOG_LINES || (got.length && !pageToken)) return { logs: got.slice(0, LOG_LINES).reverse() };
    if (got.length) continue;
    // No entries but a token: the search did not finish; continue it. Otherwise start over on the next try.
    tries += 1;
    if (tries > LOG_TRIES || q.stop() || Date.now() + q.pollMs > q.deadline) break;
    await (q.sleep ?? pause)(q.pollMs);
    if (q.stop()) break;
  }
  return { logs: [], note: `Cloud Logging holds no lines for execution ${short} yet` };
}

export const NO_LOGS_READ = "may not read logs (logging.logEntries.list; grant roles/logging.viewer to see them here)";

/**
 * The operator's own access token, from an ADC file or gcloud's login (never the metadata server,
 * whose probe would cost seconds off Google Cloud); null when there is none or it does not work.
 */
export async function operatorToken(project: string, region: string, env: Env): Promise<string | null> {
  if (!existsSync(adcPath(env).path) && !onPath("gcloud", env)) return null;
  try {
    return await (await resolveGcp({ project, region, env })).accessToken();
  } catch {
    return null;
  }
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
