import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../src/prefect/embedded/http.js";
import { validateRequest, validateResponse } from "../helpers/openapi.js";
import { type Exchange, startRecordingProxy } from "../helpers/recording-proxy.js";
import { makeHome, runCli } from "../helpers/run-cli.js";

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

const wp = (argv: string[]) => runCli(argv, { env: { ...home.env, PREFECT_API_URL: `${proxy.url}/api` } });

function openApiErrors(exchanges: Exchange[]): string[] {
  return exchanges.flatMap((x) => {
    const path = x.path.replace(/^\/api/, "");
    return [
      ...validateRequest(x.method, path, x.requestBody).map((e) => `${x.method} ${path} request: ${e}`),
      ...validateResponse(x.method, path, x.status, x.responseBody).map((e) => `${x.method} ${path} ${x.status}: ${e}`),
    ];
  });
}

describe("every command through PREFECT_API_URL against `wp server`", () => {
  it("runs the whole lifecycle with every request and response valid against Prefect's OpenAPI schema", async () => {
    const steps: Array<[string[], number]> = [
      [["create", "srv", "--type", "process"], 0],
      [["create", "srv", "--type", "process"], 2],
      [["ls"], 0],
      [["ls", "-o", "json"], 0],
      [["inspect", "srv", "-o", "json"], 0],
      [["update", "srv", "--description", "via http", "--concurrency-limit", "2"], 0],
      [["pause", "srv"], 0],
      [["resume", "srv"], 0],
      [["set-concurrency-limit", "srv", "4"], 0],
      [["clear-concurrency-limit", "srv"], 0],
      [["preview", "srv", "--hours", "3"], 0],
      [["get-default-base-job-template", "--type", "ecs"], 0],
      [["create", "srv", "--type", "process", "--overwrite", "--paused"], 0],
      [["inspect", "missing"], 1],
      [["delete", "srv", "--yes"], 0],
    ];
    for (const [argv, code] of steps) {
      const r = await wp(argv);
      expect({ argv, code: r.code, stderr: r.stderr }).toMatchObject({ argv, code });
    }
    const pools = JSON.parse((await wp(["ls", "-o", "json"])).stdout);
    expect(pools).toEqual([]);
    expect(proxy.exchanges.length).toBeGreaterThan(20);
    expect(proxy.exchanges.some((x) => x.method === "PATCH")).toBe(true);
    expect(openApiErrors(proxy.exchanges)).toEqual([]);
  });

  it("encodes path segments: a pool named with spaces, ? and # round-trips", async () => {
    const name = "odd name?#1";
    expect((await wp(["create", name, "-t", "process"])).code).toBe(0);
    const r = await wp(["inspect", name, "-o", "json"]);
    expect(JSON.parse(r.stdout).name).toBe(name);
    expect(proxy.exchanges.some((x) => x.path === "/api/work_pools/odd%20name%3F%231")).toBe(true);
    expect((await wp(["delete", name, "--yes"])).code).toBe(0);
    expect(openApiErrors(proxy.exchanges)).toEqual([]);
  });

  it("server-side validation errors come back as one clear line", async () => {
    const r = await runCli(["create", "prefect-x", "-t", "process"], {
      env: { ...home.env, PREFECT_API_URL: `${proxy.url}/api` },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("reserved");
  });
});

describe("a server that lacks the credentials block type", () => {
  it("says so in the plan and registers it (with Prefect's checksum) so the pool is complete", async () => {
    const bareHome = mkdtempSync(join(tmpdir(), "wp-bare-"));
    const bare = await startServer({ home: bareHome, host: "127.0.0.1", port: 0, registerBlockTypes: false });
    const bareProxy = await startRecordingProxy(new URL(bare.url).origin);
    const env = {
      ...home.env,
      PREFECT_API_URL: `${bareProxy.url}/api`,
      MODAL_TOKEN_ID: "ak-1",
      MODAL_TOKEN_SECRET: "as-bare-secret",
    };
    try {
      const r = await runCli(["create", "m", "--type", "modal:push", "--provision-infra", "--yes"], { env });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(
        /\+ create\s+Block type\s+modal-credentials\s+\(not registered on this server; wp registers it\)/,
      );
      expect(r.stderr).toContain("Only Prefect Cloud runs push work pools");
      const { bundledBlockTypes } = await import("../../src/prefect/block-catalog.js");
      const expected = bundledBlockTypes().find((t) => t.slug === "modal-credentials")?.block_schema.checksum;
      const schemaPost = bareProxy.exchanges.find((x) => x.method === "POST" && x.path === "/api/block_schemas/");
      expect((schemaPost?.responseBody as { checksum?: string } | undefined)?.checksum).toBe(expected);
      const again = await runCli(["create", "m", "--type", "modal:push", "--provision-infra", "--yes"], { env });
      expect(again.code).toBe(0);
      expect(again.stderr).toContain("Nothing to do");
      expect(openApiErrors(bareProxy.exchanges)).toEqual([]);
      expect(JSON.stringify(bareProxy.exchanges.map((x) => x.responseBody))).not.toContain("as-bare-secret");
    } finally {
      await bareProxy.close();
      await bare.close();
      rmSync(bareHome, { recursive: true, force: true });
    }
  });
});
