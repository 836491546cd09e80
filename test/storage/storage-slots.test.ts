/** `wp storage inspect|configure` and `wp slots`, against the embedded API and over HTTP against `wp server`. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { PrefectApi } from "../../src/prefect/api.js";
import { startServer } from "../../src/prefect/embedded/http.js";
import { poolSlots } from "../../src/prefect/slots.js";
import type { FlowRun, WorkPool } from "../../src/prefect/types.js";
import { validateRequest, validateResponse } from "../helpers/openapi.js";
import { type Exchange, startRecordingProxy } from "../helpers/recording-proxy.js";
import { makeHome, runCli } from "../helpers/run-cli.js";

function openApiErrors(exchanges: Exchange[]): string[] {
  return exchanges.flatMap((x) => {
    const path = x.path.replace(/^\/api/, "");
    return [
      ...validateRequest(x.method, path, x.requestBody).map((e) => `${x.method} ${path} request: ${e}`),
      ...validateResponse(x.method, path, x.status, x.responseBody).map((e) => `${x.method} ${path} ${x.status}: ${e}`),
    ];
  });
}

/** The storage and slots scenario, run against one target. */
async function scenario(wp: (argv: string[]) => ReturnType<typeof runCli>) {
  expect((await wp(["create", "Store-Pool", "--type", "process"])).code).toBe(0);
  const none = await wp(["storage", "inspect", "Store-Pool"]);
  expect(none.stdout).toBe("No storage configuration found for work pool 'Store-Pool'\n");
  expect((await wp(["storage", "inspect", "Store-Pool", "-o", "json"])).stdout).toBe("{}\n");
  // Bad input: exit 2, nothing written.
  expect((await wp(["storage", "configure", "s3", "Store-Pool"])).code).toBe(2);
  const missing = await wp([
    "storage",
    "configure",
    "s3",
    "Store-Pool",
    "--bucket",
    "b",
    "--aws-credentials-block-name",
    "nope",
  ]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain("AWS credentials block 'nope' does not exist.");
  expect((await wp(["storage", "configure", "azure-blob-storage", "Store-Pool", "--container", "c"])).code).toBe(2);
  expect((await wp(["storage", "configure", "gcs", "Store-Pool", "--bucket", "b", "--launcher-arg", "x"])).code).toBe(
    2,
  );
  expect((await wp(["storage", "inspect", "Store-Pool", "-o", "json"])).stdout).toBe("{}\n");
  // S3 with ambient credentials.
  const s3 = await wp(["storage", "configure", "s3", "Store-Pool", "--bucket", "my-bucket"]);
  expect(s3.code).toBe(0);
  expect(s3.stdout).toBe("Configured S3 storage for work pool 'Store-Pool'\n");
  const view = JSON.parse((await wp(["storage", "inspect", "Store-Pool", "-o", "json"])).stdout);
  expect(view).toEqual({
    type: "S3",
    upload: { bucket: "my-bucket", requires: "prefect-aws" },
    execution: { bucket: "my-bucket", requires: "prefect-aws" },
  });
  const pool = JSON.parse((await wp(["inspect", "Store-Pool", "-o", "json"])).stdout);
  const block = JSON.parse(
    (await wp(["block", "inspect", "s3-bucket/default-store-pool-result-storage", "-o", "json"])).stdout,
  );
  expect(pool.storage_configuration.default_result_storage_block_id).toBe(block.id);
  expect(pool.storage_configuration.bundle_upload_step).toEqual({
    "prefect_aws.experimental.bundles.upload": { bucket: "my-bucket", requires: "prefect-aws" },
  });
  expect(block.data).toMatchObject({ bucket_name: "my-bucket", bucket_folder: "results" });
  // Azure with a credentials block and launchers; the result block is the container block.
  const cs = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net";
  const made = await runCliWithEnv(wp, ["block", "create", "azure-blob-storage-credentials", "blob", "--yes"], cs);
  expect(made.code).toBe(0);
  const az = await wp([
    "storage",
    "configure",
    "azure-blob-storage",
    "Store-Pool",
    "--container",
    "flows",
    "--azure-blob-storage-credentials-block-name",
    "blob",
    "--launcher",
    "uv",
    "--launcher-arg",
    "run",
    "--execution-launcher",
    "python",
    "-o",
    "json",
  ]);
  expect(az.code).toBe(0);
  const out = JSON.parse(az.stdout);
  expect(out.storage_configuration.bundle_upload_step["prefect_azure.experimental.bundles.upload"]).toEqual({
    container: "flows",
    azure_blob_storage_credentials_block_name: "blob",
    launcher: ["uv", "run"],
  });
  expect(
    out.storage_configuration.bundle_execution_step["prefect_azure.experimental.bundles.execute"].launcher,
  ).toEqual(["python"]);
  const text = await wp(["storage", "inspect", "Store-Pool"]);
  expect(text.stdout).toContain("Storage Configuration for Store-Pool");
  expect(text.stdout).toContain("Azure Blob Storage");
  expect(text.stdout).toContain("execution.launcher");
  expect(text.stdout.endsWith("\n")).toBe(true);
  const secretShown = await wp(["block", "inspect", "azure-blob-storage-credentials/blob"]);
  expect(secretShown.stdout).not.toContain("c2VjcmV0");
  // The credentials block is in use as the result store's reference? No: the container block is the pool's store.
  const del = await wp(["block", "delete", `azure-blob-storage-container/default-store-pool-result-storage`, "--yes"]);
  expect(del.code).toBe(2);
  expect(del.stderr).toContain("'Store-Pool'");
  // slots
  const slots = await wp(["slots", "Store-Pool"]);
  expect(slots.stdout).toBe("Work Pool: Store-Pool\n  Slots: 0 active (Unlimited)\nNo flow runs occupying slots.\n");
  expect((await wp(["set-concurrency-limit", "Store-Pool", "3"])).code).toBe(0);
  const json = JSON.parse((await wp(["slots", "Store-Pool", "-o", "json"])).stdout);
  expect(json).toMatchObject({ active_slots: 0, concurrency_limit: 3, queues: [] });
  expect((await wp(["slots", "Store-Pool"])).stdout).toContain("0 / 3");
  expect((await wp(["slots", "missing"])).code).toBe(1);
  expect((await wp(["storage", "inspect", "missing"])).code).toBe(1);
}

let connectionString = "";
function runCliWithEnv(wp: (argv: string[]) => ReturnType<typeof runCli>, argv: string[], cs: string) {
  connectionString = cs;
  return wp(argv).finally(() => {
    connectionString = "";
  });
}
const extra = () => (connectionString ? { AZURE_STORAGE_CONNECTION_STRING: connectionString } : {});

describe("storage and slots on the embedded API", () => {
  let home: ReturnType<typeof makeHome>;
  beforeEach(() => {
    home = makeHome();
  });
  afterEach(() => home.cleanup());
  it("configures, inspects and reports slots as Prefect does", async () => {
    await scenario((argv) => runCli(argv, { env: { ...home.env, ...extra() } }));
  });
  it("the same commands under `wp work-pool`", async () => {
    const wp = (argv: string[]) => runCli(["work-pool", ...argv], { env: home.env });
    expect((await wp(["create", "wpp", "--type", "process"])).code).toBe(0);
    expect((await wp(["storage", "configure", "gcs", "wpp", "--bucket", "g"])).code).toBe(0);
    expect(JSON.parse((await wp(["storage", "inspect", "wpp", "-o", "json"])).stdout).type).toBe("GCS");
    expect((await wp(["slots", "wpp", "-o", "json"])).code).toBe(0);
  });
});

describe("storage and slots over HTTP against `wp server`", () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
  let serverHome: string;
  let home: ReturnType<typeof makeHome>;
  beforeAll(async () => {
    serverHome = mkdtempSync(join(tmpdir(), "wp-server-"));
    server = await startServer({ home: serverHome, host: "127.0.0.1", port: 0 });
    proxy = await startRecordingProxy(new URL(server.url).origin);
    home = makeHome();
  });
  afterAll(async () => {
    await proxy.close();
    await server.close();
    rmSync(serverHome, { recursive: true, force: true });
    home.cleanup();
  });
  it("every request and response is valid against Prefect's OpenAPI schema", async () => {
    await scenario((argv) => runCli(argv, { env: { ...home.env, PREFECT_API_URL: `${proxy.url}/api`, ...extra() } }));
    expect(proxy.exchanges.some((x) => x.path === "/api/flow_runs/filter")).toBe(true);
    expect(openApiErrors(proxy.exchanges)).toEqual([]);
  });
});

describe("slots from a server's answers", () => {
  const pool = { id: "p", name: "p", type: "process", concurrency_limit: 2 } as WorkPool;
  const run = (name: string, queue: string, state: string): FlowRun =>
    ({
      id: `00000000-0000-0000-0000-00000000000${name.length}`,
      name,
      work_queue_id: `q-${queue}`,
      work_queue_name: queue,
      state_type: state,
      state_name: state === "RUNNING" ? "Running" : "Pending",
      state: { type: state, timestamp: new Date(Date.now() - 90_000).toISOString() },
    }) as unknown as FlowRun;
  it("computes active slots from PENDING and RUNNING runs where the server has no concurrency_status", async () => {
    let asked: string[] = [];
    const api = {
      poolConcurrencyStatus: async () => null,
      flowRunsInPool: async (_n: string, states: string[]) => {
        asked = states;
        return [run("a", "default", "RUNNING"), run("bb", "gpu", "PENDING"), run("ccc", "default", "RUNNING")];
      },
    } as unknown as PrefectApi;
    const s = await poolSlots(api, pool);
    expect(asked).toEqual(["PENDING", "RUNNING"]);
    expect(s.active_slots).toBe(3);
    expect(s.concurrency_limit).toBe(2);
    expect(s.queues.map((q) => [q.queue_name, q.active_slots])).toEqual([
      ["default", 2],
      ["gpu", 1],
    ]);
    expect(s.queues[0]?.flow_runs?.[0]?.time_in_current_state).toBeGreaterThan(80);
  });
  it("merges every page of Prefect 3.6's concurrency_status and marks truncated queues", async () => {
    const page = (n: number) => ({
      active_slots: 5,
      concurrency_limit: null,
      count: 2,
      limit: 1,
      pages: 2,
      page: n,
      queues: [{ queue_id: `q${n}`, queue_name: `q${n}`, active_slots: 1, flow_runs: [], flow_run_count: n }],
    });
    const api = { poolConcurrencyStatus: async (_n: string, p: number) => page(p) } as unknown as PrefectApi;
    const s = await poolSlots(api, pool);
    expect(s.source).toBe("concurrency_status");
    expect(s.queues.map((q) => q.queue_name)).toEqual(["q1", "q2"]);
    expect(s.queues[0]?._truncated).toEqual({ shown: 0, total: 1 });
  });
});
