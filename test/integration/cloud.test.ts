/**
 * Prefect Cloud as wp sees it: a workspace URL under PREFECT_CLOUD_API_URL, Bearer auth, no CSRF,
 * and work pool types from Cloud's `collections/work_pool_types`. A loopback stand-in serves that
 * Cloud-only route and forwards the rest to `wp server` (the workspace's REST routes are the same).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../src/prefect/embedded/http.js";
import { makeHome, runCli } from "../helpers/run-cli.js";

const WORKSPACE = "/api/accounts/11111111-1111-1111-1111-111111111111/workspaces/22222222-2222-2222-2222-222222222222";
const cloudTypes = {
  "prefect-cloud": {
    "fake-push": {
      type: "fake:push",
      display_name: "Fake Push",
      description: "A type only this Cloud serves",
      is_push_pool: true,
      default_base_job_configuration: {
        job_configuration: { command: "{{ command }}" },
        variables: { properties: { command: { type: "string" } } },
      },
    },
  },
};

let backend: Awaited<ReturnType<typeof startServer>>;
let cloud: Server;
let cloudUrl = "";
let backendHome: string;
const seen: Array<{ method: string; path: string; auth: string | undefined }> = [];
let home: ReturnType<typeof makeHome>;

beforeAll(async () => {
  backendHome = mkdtempSync(join(tmpdir(), "wp-cloud-"));
  backend = await startServer({ home: backendHome, host: "127.0.0.1", port: 0 });
  const target = new URL(backend.url);
  cloud = createServer((req, res) => {
    const path = (req.url ?? "").replace(WORKSPACE, "/api");
    seen.push({ method: req.method ?? "", path, auth: req.headers.authorization });
    if (req.headers.authorization !== "Bearer pnu_cloud_key") {
      res.writeHead(401, { "content-type": "application/json" });
      return res.end(JSON.stringify({ detail: "Invalid authentication credentials" }));
    }
    if (path === "/api/collections/work_pool_types") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(cloudTypes));
    }
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    req.pipe(up);
  });
  await new Promise<void>((r) => cloud.listen(0, "127.0.0.1", r));
  cloudUrl = `http://127.0.0.1:${(cloud.address() as AddressInfo).port}`;
  home = makeHome();
});

afterAll(async () => {
  cloud.close();
  await backend.close();
  rmSync(backendHome, { recursive: true, force: true });
  home.cleanup();
});

const env = () => ({
  ...home.env,
  PREFECT_CLOUD_API_URL: `${cloudUrl}/api`,
  PREFECT_API_URL: `${cloudUrl}${WORKSPACE}`,
  PREFECT_API_KEY: "pnu_cloud_key",
});

describe("Prefect Cloud", () => {
  it("offers the types Cloud serves, with no push warning, no CSRF, and the Cloud UI URL", async () => {
    const r = await runCli(["create", "cloudy", "--type", "fake:push"], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(
      `URL: http://127.0.0.1:${new URL(cloudUrl).port}/account/11111111-1111-1111-1111-111111111111/workspace/22222222-2222-2222-2222-222222222222/work-pools/work-pool/cloudy`,
    );
    expect(seen.some((s) => s.path === "/api/collections/work_pool_types")).toBe(true);
    expect(seen.some((s) => s.path.startsWith("/api/csrf-token"))).toBe(false);
    expect(seen.every((s) => s.auth === "Bearer pnu_cloud_key")).toBe(true);
    const tpl = await runCli(["get-default-base-job-template", "-t", "fake:push"], { env: env() });
    expect(JSON.parse(tpl.stdout)).toEqual(cloudTypes["prefect-cloud"]["fake-push"].default_base_job_configuration);
  });

  it("a wrong key is exit 4 with a hint about PREFECT_API_KEY", async () => {
    const r = await runCli(["ls"], { env: { ...env(), PREFECT_API_KEY: "pnu_wrong" } });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("Check PREFECT_API_KEY");
  });
});
