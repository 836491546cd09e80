/**
 * Cloud Logging for `wp verify` on Cloud Run: the adapter's `entries:list` request against the discovery
 * document, the simulator's entries:list (filter, order, pages, permission, one execution's lines only),
 * and how verify polls for lines that are not ingested yet.
 */
import { describe, expect, it } from "vitest";
import {
  type ListLogEntriesRequest,
  type ListLogEntriesResponse,
  listLogEntries,
} from "../../src/clouds/gcp/run-api.js";
import { executionLogFilter, readExecutionLogs } from "../../src/clouds/gcp/verify.js";
import { CloudError } from "../../src/errors.js";
import { validate } from "../helpers/discovery.js";
import { PROJECT, useGcpSim } from "../helpers/gcp-sim.js";
import { parseLogFilter } from "../sim/gcp/server.js";

const REGION = "us-central1";
const RUN = `/v2/projects/${PROJECT}/locations/${REGION}`;

describe("Cloud Logging entries:list against the GCP simulator", () => {
  const fx = useGcpSim({ operationPolls: 1 });
  const call = async (method: string, path: string, body?: unknown, token = "t") => {
    const res = await fetch(new URL(path.replace(/^\//, ""), fx.sim.url), {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** Creates job `jobId` (if needed), runs it and polls its execution to completion; the execution's short name. */
  const runJob = async (jobId: string): Promise<string> => {
    fx.sim.project(PROJECT).services.add("run.googleapis.com");
    if (!fx.sim.runJobs.has(`projects/${PROJECT}/locations/${REGION}/jobs/${jobId}`)) {
      const op = await call("POST", `${RUN}/jobs?jobId=${jobId}`, {
        template: { template: { containers: [{ image: "busybox", command: ["sh"], args: ["-c", 'echo "x"'] }] } },
      });
      if (!op.body.done) await call("GET", `/v2/${String(op.body.name)}`);
    }
    const run = await call("POST", `${RUN}/jobs/${jobId}:run`, {});
    const exec = String((run.body.metadata as { name?: string }).name);
    for (let i = 0; i < 5; i++) await call("GET", `/v2/${exec}`);
    return exec.split("/").pop() ?? "";
  };
  const texts = (r: { body: Record<string, unknown> }) =>
    ((r.body.entries ?? []) as Array<{ textPayload?: string }>).map((e) => e.textPayload);

  it("the adapter sends Google's request shape (resourceNames, filter, orderBy, pageSize) with the bearer token", async () => {
    fx.sim.acceptToken("t");
    const filter = executionLogFilter(PROJECT, "job", "job-abc");
    const request: ListLogEntriesRequest = {
      resourceNames: [`projects/${PROJECT}`],
      filter,
      orderBy: "timestamp desc",
      pageSize: 10,
    };
    const page = await listLogEntries("t", request, { WP_GCP_ENDPOINT: fx.sim.url });
    expect(page).toEqual({});
    const sent = fx.sim.log.at(-1);
    expect(sent).toMatchObject({ method: "POST", path: "/v2/entries:list", status: 200 });
    expect(sent?.headers.authorization).toBe("Bearer t");
    expect(sent?.headers["content-type"]).toBe("application/json");
    expect(sent?.body).toEqual({
      resourceNames: [`projects/${PROJECT}`],
      filter,
      orderBy: "timestamp desc",
      pageSize: 10,
    });
    expect(validate("logging", "ListLogEntriesRequest", sent?.body)).toEqual([]);
    expect(filter).toBe(
      `resource.type="cloud_run_job" AND resource.labels.job_name="job" AND ` +
        `labels."run.googleapis.com/execution_name"="job-abc" AND ` +
        `logName=("projects/${PROJECT}/logs/run.googleapis.com%2Fstdout" OR "projects/${PROJECT}/logs/run.googleapis.com%2Fstderr")`,
    );
    // WP_GCP_LOGGING_ENDPOINT wins over WP_GCP_ENDPOINT (here: a closed port on loopback).
    await expect(
      listLogEntries("t", request, { WP_GCP_LOGGING_ENDPOINT: "http://127.0.0.1:9/", WP_GCP_ENDPOINT: fx.sim.url }),
    ).rejects.toThrow();
  });

  it("a refusal is a CloudError with code PERMISSION_DENIED; a filter it cannot parse is INVALID_ARGUMENT", async () => {
    fx.sim.acceptToken("t");
    const env = { WP_GCP_ENDPOINT: fx.sim.url };
    const base = { filter: "", orderBy: "timestamp desc", pageSize: 10 } as const;
    const refused = await listLogEntries("t", { ...base, resourceNames: ["projects/not-mine"] }, env).catch((e) => e);
    expect(refused).toBeInstanceOf(CloudError);
    expect(refused.code).toBe("PERMISSION_DENIED");
    const bad = await listLogEntries(
      "t",
      { ...base, resourceNames: [`projects/${PROJECT}`], filter: "severity>=ERROR" },
      env,
    ).catch((e) => e);
    expect(bad).toBeInstanceOf(CloudError);
    expect(bad.code).toBe("INVALID_ARGUMENT");
  });

  it("entries:list returns one execution's lines only, newest first or oldest first, in pages", async () => {
    fx.sim.acceptToken("t");
    fx.sim.containerOutput = () => ["first run: a", "first run: b"];
    const e1 = await runJob("job");
    fx.sim.containerOutput = () => ({ stdout: ["second run: a"], stderr: ["second run: err"] });
    const e2 = await runJob("job");
    expect(e1).not.toBe(e2);
    const list = (execution: string, more: Record<string, unknown> = {}) =>
      call("POST", "/v2/entries:list", {
        resourceNames: [`projects/${PROJECT}`],
        filter: executionLogFilter(PROJECT, "job", execution),
        orderBy: "timestamp desc",
        ...more,
      });
    expect(texts(await list(e1))).toEqual(["first run: b", "first run: a"]);
    expect(texts(await list(e2))).toEqual(["second run: err", "second run: a"]);
    expect(texts(await list(e1, { orderBy: "timestamp asc" }))).toEqual(["first run: a", "first run: b"]);

    // What Cloud Run writes: the job's resource, the execution's labels, the system log's exit line.
    const all = await call("POST", "/v2/entries:list", {
      resourceNames: [`projects/${PROJECT}`],
      filter: `labels."run.googleapis.com/execution_name"="${e1}"`,
    });
    const entries = all.body.entries as Array<Record<string, unknown>>;
    expect(entries.map((e) => e.textPayload)).toEqual(["first run: a", "first run: b", "Container called exit(0)."]);
    expect(entries[0]).toMatchObject({
      logName: `projects/${PROJECT}/logs/run.googleapis.com%2Fstdout`,
      resource: { type: "cloud_run_job", labels: { job_name: "job", location: REGION, project_id: PROJECT } },
      labels: { "run.googleapis.com/execution_name": e1, "run.googleapis.com/task_index": "0" },
    });
    expect(entries[2]?.logName).toBe(`projects/${PROJECT}/logs/run.googleapis.com%2Fvarlog%2Fsystem`);
    for (const e of entries) expect(validate("logging", "LogEntry", e)).toEqual([]);

    // Pages: pageSize, then nextPageToken, until no token is returned.
    const p1 = await list(e1, { pageSize: 1 });
    expect(texts(p1)).toEqual(["first run: b"]);
    const p2 = await list(e1, { pageSize: 1, pageToken: p1.body.nextPageToken });
    expect(texts(p2)).toEqual(["first run: a"]);
    expect(p2.body.nextPageToken).toBeUndefined();

    // The has operator is a case-insensitive substring match; a job name matches only that job.
    const has = await call("POST", "/v2/entries:list", {
      resourceNames: [`projects/${PROJECT}`],
      filter: 'textPayload:"RUN: ERR"',
    });
    expect(texts(has)).toEqual(["second run: err"]);
    expect(texts(await list(e1, { filter: executionLogFilter(PROJECT, "other-job", e1) }))).toEqual([]);
  });

  it("entries:list needs logging.logEntries.list: a role with it, on the project, for the calling service account", async () => {
    fx.sim.acceptToken("t");
    const sa = `reader@${PROJECT}.iam.gserviceaccount.com`;
    fx.sim.acceptToken("sa-token", sa);
    const body = { resourceNames: [`projects/${PROJECT}`], filter: "", orderBy: "timestamp desc" };
    const refused = await call("POST", "/v2/entries:list", body, "sa-token");
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 403, status: "PERMISSION_DENIED" });
    expect(String((refused.body.error as { message: string }).message)).toContain("logging.logEntries.list");
    fx.sim.addBinding(PROJECT, "roles/run.developer", `serviceAccount:${sa}`);
    expect((await call("POST", "/v2/entries:list", body, "sa-token")).status).toBe(403);
    fx.sim.addBinding(PROJECT, "roles/logging.viewer", `serviceAccount:${sa}`);
    expect((await call("POST", "/v2/entries:list", body, "sa-token")).status).toBe(200);
  });

  it("entries:list rejects what Google rejects: syntax beyond wp's filters, a bad orderBy or pageSize", async () => {
    fx.sim.acceptToken("t");
    const list = (more: Record<string, unknown>) =>
      call("POST", "/v2/entries:list", { resourceNames: [`projects/${PROJECT}`], ...more });
    for (const bad of [
      { filter: "severity>=ERROR" },
      { filter: 'textPayload="a" OR textPayload="b"' },
      { filter: 'textPayload="unterminated' },
      { filter: 'NOT textPayload="a"' },
      { orderBy: "insertId desc" },
      { pageSize: -1 },
      { pageToken: "not-a-token" },
    ]) {
      const r = await list(bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.error).toMatchObject({ code: 400, status: "INVALID_ARGUMENT" });
    }
    expect((await call("POST", "/v2/entries:list", {})).status).toBe(400);
    expect(typeof parseLogFilter('a.b="c" AND labels."x/y":"z" AND d=("e" OR "f")')).toBe("function");
  });
});

describe("verify's reading of an execution's log lines", () => {
  const q = { project: "p", jobId: "j", execution: "projects/p/locations/r/jobs/j/executions/j-abc", pollMs: 1 };
  const entry = (text: string) => ({ textPayload: text });

  it("asks again while Cloud Logging has nothing yet (ingestion delay), following a token of an unfinished search", async () => {
    const asked: ListLogEntriesRequest[] = [];
    const pages: ListLogEntriesResponse[] = [
      {},
      { nextPageToken: "more" },
      { entries: [entry("c\n"), { jsonPayload: { message: "b" } }, entry("a")] },
    ];
    const r = await readExecutionLogs(
      async (req) => {
        asked.push(req);
        return pages.shift() ?? {};
      },
      { ...q, deadline: Date.now() + 5000, stop: () => false },
    );
    expect(r).toEqual({ logs: ["a", "b", "c"] });
    expect(asked).toHaveLength(3);
    expect(asked[0]).toEqual({
      resourceNames: ["projects/p"],
      filter: executionLogFilter("p", "j", "j-abc"),
      orderBy: "timestamp desc",
      pageSize: 10,
    });
    expect(asked[1]?.pageToken).toBeUndefined();
    expect(asked[2]?.pageToken).toBe("more");
  });

  it("gives up after a few tries, at the deadline or on Ctrl-C, with a note naming the execution", async () => {
    let calls = 0;
    const empty = async () => {
      calls++;
      return {};
    };
    const r = await readExecutionLogs(empty, { ...q, deadline: Date.now() + 5000, stop: () => false });
    expect(r).toEqual({ logs: [], note: "Cloud Logging holds no lines for execution j-abc yet" });
    expect(calls).toBe(4);
    calls = 0;
    await readExecutionLogs(empty, { ...q, pollMs: 50, deadline: Date.now() + 10, stop: () => false });
    expect(calls).toBe(1);
    calls = 0;
    await readExecutionLogs(empty, { ...q, deadline: Date.now() + 5000, stop: () => true });
    expect(calls).toBe(1);
  });

  it("decides a refusal by the error code, not its text; other errors are a note too, never a failure", async () => {
    const fail = (err: Error) => async () => {
      throw err;
    };
    const opts = { ...q, deadline: Date.now() + 5000, stop: () => false };
    const denied = await readExecutionLogs(fail(new CloudError("nothing to see", "PERMISSION_DENIED")), opts);
    expect(denied.logs).toEqual([]);
    expect(denied.note).toBe(
      "the block's identity may not read logs (logging.logEntries.list; grant roles/logging.viewer to see them here)",
    );
    const other = await readExecutionLogs(
      fail(
        new CloudError("Google Cloud entries.list failed: PERMISSION_DENIED logging.logEntries.list", "UNAVAILABLE"),
      ),
      opts,
    );
    expect(other.note).toMatch(/^Cloud Logging could not be read/);
    expect(other.note).not.toContain("grant roles/logging.viewer");
  });
});
