/**
 * The Cloud Run provisioner and the Google adapter below the CLI: the real client libraries against
 * the simulator, a FakePrefect for block failures, fake gcloud executables for the gcloud paths.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dockerAuthState, forgetDockerAuth } from "../../src/clouds/gcp/docker.js";
import { cloudRunJobTemplate, createCloudRunProvisioner } from "../../src/clouds/gcp/index.js";
import { GcpError, resolveGcp, toGcpError } from "../../src/clouds/gcp/sdk.js";
import { missingRoles, withMember } from "../../src/clouds/gcp/steps.js";
import { CredentialGuard } from "../../src/engine/credential.js";
import type { Provisioner, StepContext } from "../../src/engine/types.js";
import { AuthError } from "../../src/errors.js";
import { loadedModules } from "../helpers/bundle.js";
import { FakePrefect } from "../helpers/fake-prefect.js";
import { fakeExecutable, PROJECT, scratch, useGcpSim } from "../helpers/gcp-sim.js";

const SA = `prefect-cloud-run@${PROJECT}.iam.gserviceaccount.com`;

async function runSteps(p: Provisioner, prefect: FakePrefect) {
  const notes: string[] = [];
  const ctx: StepContext = { prefect, outputs: new Map(), note: (m) => notes.push(m) };
  const states = new Map<string, string>();
  for (const step of p.steps()) {
    const state = await step.check(ctx);
    states.set(step.id, state.action);
    if (state.action !== "exists") await step.apply(ctx, state);
  }
  return { ctx, states, notes };
}

describe("Cloud Run provisioner against the simulator", () => {
  const fx = useGcpSim();

  function provisioner(prefect: FakePrefect, env: Record<string, string> = {}) {
    prefect.register("gcp-credentials", "GCP Credentials");
    return createCloudRunProvisioner({
      poolName: "pool",
      prefect,
      project: PROJECT,
      region: "us-central1",
      env: { ...fx.env, ...env },
      guard: new CredentialGuard({ home: fx.env.WP_HOME ?? "" }),
    });
  }
  const keys = () => fx.sim.project(PROJECT).keys.get(SA) ?? [];

  it("a block that cannot be written deletes the new key again; the next run makes exactly one", async () => {
    const prefect = new FakePrefect();
    prefect.failNextBlockWrite = new Error("Prefect is down");
    const p = provisioner(prefect);
    await p.targets();
    await expect(runSteps(p, prefect)).rejects.toThrow("Prefect is down");
    expect(fx.sim.log.some((r) => r.method === "POST" && r.path.endsWith("/keys") && r.status === 200)).toBe(true);
    expect(fx.sim.log.some((r) => r.method === "DELETE" && r.path.includes("/keys/") && r.status === 200)).toBe(true);
    expect(keys()).toEqual([]);
    const again = await runSteps(p, prefect);
    expect(again.states.get("prefect.gcp-credentials")).toBe("create");
    expect(keys()).toHaveLength(1);
    expect(prefect.documents).toHaveLength(1);
  });

  it("a service account with Google's maximum of 10 keys is refused before anything is created", async () => {
    const p0 = fx.sim.project(PROJECT);
    p0.serviceAccounts.set(SA, { name: `projects/${PROJECT}/serviceAccounts/${SA}`, email: SA });
    p0.keys.set(
      SA,
      Array.from({ length: 10 }, (_, i) => ({
        name: `projects/${PROJECT}/serviceAccounts/${SA}/keys/k${i}`,
        keyType: "USER_MANAGED",
        validAfterTime: "2020-01-01T00:00:00Z",
      })),
    );
    const prefect = new FakePrefect();
    const p = provisioner(prefect);
    await expect(p.targets()).rejects.toThrow(`Service account ${SA} already has 10 keys (Google's limit)`);
    expect(fx.sim.mutations()).toEqual([]);
  });

  it("the job template: credentials always; region and service account only where the template declares them", () => {
    const outputs = new Map<string, unknown>([
      ["blockDocumentId", "b-1"],
      ["serviceAccountEmail", SA],
    ]);
    const full = {
      job_configuration: {},
      variables: { properties: { credentials: {}, region: {}, service_account_name: {} } },
    };
    expect(cloudRunJobTemplate(full, outputs, "us-east1", SA).variables).toEqual({
      properties: {
        credentials: { default: { $ref: { block_document_id: "b-1" } } },
        region: { default: "us-east1" },
        service_account_name: { default: SA },
      },
    });
    const slim = { job_configuration: {}, variables: { properties: { credentials: {} } } };
    expect(
      Object.keys((cloudRunJobTemplate(slim, outputs, "us-east1", SA).variables as { properties: object }).properties),
    ).toEqual(["credentials"]);
    expect(() => cloudRunJobTemplate(full, new Map(), "us-east1", SA)).toThrow("blockDocumentId");
  });

  it("IAM read-modify-write adds only missing members and keeps conditional bindings (version 3)", () => {
    const member = `serviceAccount:${SA}`;
    const policy = {
      version: 1,
      etag: "e1",
      bindings: [
        { role: "roles/run.developer", members: ["user:a@example.com", member] },
        { role: "roles/iam.serviceAccountUser", members: [member], condition: { title: "t", expression: "true" } },
      ],
    };
    expect(missingRoles(policy, member)).toEqual(["roles/iam.serviceAccountUser"]);
    const next = withMember(policy, member, missingRoles(policy, member));
    expect(next.etag).toBe("e1");
    expect(next.version).toBe(3);
    expect(next.bindings).toHaveLength(3);
    expect(next.bindings?.[0]?.members).toEqual(["user:a@example.com", member]);
    expect(missingRoles(next, member)).toEqual([]);
  });

  it("with gcloud installed: Docker gets gcloud's credential helper, and gcloud's login is used without an ADC file", async () => {
    fx.sim.acceptToken("ya29.from-gcloud");
    const argv = join(fx.home.dir, "gcloud-argv.txt");
    fakeExecutable(fx.bin, "gcloud", `echo "$@" >> ${argv}\necho ya29.from-gcloud`);
    fakeExecutable(fx.bin, "docker-credential-gcloud", "exit 0");
    const prefect = new FakePrefect();
    const p = provisioner(prefect, { GOOGLE_APPLICATION_CREDENTIALS: "" });
    const targets = await p.targets();
    expect(targets[0]?.label).toBe(`GCP project ${PROJECT}, region us-central1`);
    await runSteps(p, prefect);
    expect(readFileSync(argv, "utf8").trim()).toBe("auth print-access-token");
    const docker = JSON.parse(readFileSync(join(fx.dockerConfig, "config.json"), "utf8"));
    expect(docker.credHelpers).toEqual({ "us-central1-docker.pkg.dev": "gcloud" });
    expect(docker.auths).toBeUndefined();
    expect(
      fx.sim.log.filter((r) => r.path !== "/token").every((r) => r.headers.authorization === "Bearer ya29.from-gcloud"),
    ).toBe(true);
  });

  it("operations are polled until done (the simulator flips done after N polls)", async () => {
    fx.sim.operationPolls = 4;
    const prefect = new FakePrefect();
    const { notes } = await runSteps(provisioner(prefect), prefect);
    const polls = fx.sim.log.filter((r) => r.method === "GET" && r.path.includes("/operations/"));
    // Two enables and one repository create, four polls each.
    expect(polls).toHaveLength(12);
    expect(notes.some((n) => n.startsWith("Waiting for run.googleapis.com to be enabled"))).toBe(true);
  });

  it("an API not yet active right after enabling (SERVICE_DISABLED) is retried; any other 403 is not", async () => {
    fx.sim.fail({
      match: (q) => q.method === "POST" && q.path.endsWith("/repositories"),
      status: 403,
      rpc: "PERMISSION_DENIED",
      message: "Artifact Registry API has not been used in project 100000000001 before or it is disabled.",
      times: 2,
      details: [
        { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "SERVICE_DISABLED", domain: "googleapis.com" },
      ],
    });
    const prefect = new FakePrefect();
    const { notes } = await runSteps(provisioner(prefect), prefect);
    expect(notes.filter((n) => n.startsWith("Waiting for the Artifact Registry API to become active"))).toHaveLength(1);
    expect(fx.sim.project(PROJECT).repositories.has("us-central1/prefect-images")).toBe(true);

    fx.sim.fail({
      match: (q) => q.method === "POST" && q.path.endsWith("/repositories"),
      status: 403,
      rpc: "PERMISSION_DENIED",
      message: "The caller does not have permission",
    });
    const other = createCloudRunProvisioner({
      poolName: "pool",
      prefect,
      project: PROJECT,
      region: "europe-west1",
      env: fx.env,
    });
    await expect(runSteps(other, prefect)).rejects.toThrow(
      "Google Cloud repositories.create failed: The caller does not have permission (PERMISSION_DENIED)",
    );
  });
});

describe("Docker access to Artifact Registry", () => {
  it("a stored access token counts until config.json is 50 minutes old; gcloud's helper always counts", async () => {
    const s = scratch();
    try {
      const { utimesSync } = await import("node:fs");
      const config = join(s.dir, "config.json");
      const auth = Buffer.from("oauth2accesstoken:ya29.x").toString("base64");
      writeFileSync(config, JSON.stringify({ auths: { "us-central1-docker.pkg.dev": { auth } } }));
      const o = { env: { DOCKER_CONFIG: s.dir, PATH: s.dir } };
      expect((await dockerAuthState("us-central1-docker.pkg.dev", o)).found).toBe(true);
      const old = new Date(Date.now() - 51 * 60_000);
      utimesSync(config, old, old);
      const stale = await dockerAuthState("us-central1-docker.pkg.dev", o);
      expect(stale.found).toBe(false);
      expect(stale.detail).toContain("an access token for us-central1-docker.pkg.dev");
      writeFileSync(config, JSON.stringify({ credHelpers: { "us-central1-docker.pkg.dev": "gcloud" } }));
      utimesSync(config, old, old);
      expect(await dockerAuthState("us-central1-docker.pkg.dev", o)).toEqual({
        found: true,
        detail: "credential helper gcloud",
      });
    } finally {
      s.cleanup();
    }
  });

  it("forgetting the registry removes the gcloud helper entry wp wrote and keeps the rest of config.json", async () => {
    const s = scratch();
    try {
      const config = join(s.dir, "config.json");
      const other = { "europe-west1-docker.pkg.dev": "gcloud" };
      writeFileSync(config, JSON.stringify({ credHelpers: { "us-central1-docker.pkg.dev": "gcloud", ...other } }));
      const o = { env: { DOCKER_CONFIG: s.dir, PATH: s.dir } };
      await forgetDockerAuth("us-central1-docker.pkg.dev", o);
      expect(JSON.parse(readFileSync(config, "utf8"))).toEqual({ credHelpers: other });
      await forgetDockerAuth("europe-west1-docker.pkg.dev", o);
      expect(JSON.parse(readFileSync(config, "utf8"))).toEqual({});
      expect((await dockerAuthState("europe-west1-docker.pkg.dev", o)).found).toBe(false);
    } finally {
      s.cleanup();
    }
  });
});

describe("Google adapter errors and credentials", () => {
  it("maps Google's error envelope: RPC status, reasons, org-policy violations; 401 is an auth error", () => {
    const err = toGcpError("serviceAccounts.keys.create", {
      status: 400,
      message: "Key creation is not allowed on this service account.",
      response: {
        status: 400,
        data: {
          error: {
            code: 400,
            message: "Key creation is not allowed on this service account.",
            status: "FAILED_PRECONDITION",
            details: [
              {
                "@type": "type.googleapis.com/google.rpc.PreconditionFailure",
                violations: [{ type: "constraints/iam.disableServiceAccountKeyCreation" }],
              },
            ],
          },
        },
      },
    });
    expect(err).toBeInstanceOf(GcpError);
    expect((err as GcpError).code).toBe("FAILED_PRECONDITION");
    expect((err as GcpError).violations).toEqual(["constraints/iam.disableServiceAccountKeyCreation"]);
    expect(toGcpError("x", { status: 401, response: { status: 401, data: {} }, message: "no" })).toBeInstanceOf(
      AuthError,
    );
    expect(toGcpError("x", new Error("Could not load the default credentials. Browse to ..."))).toBeInstanceOf(
      AuthError,
    );
  });

  it("a missing GOOGLE_APPLICATION_CREDENTIALS file is an auth error naming it", async () => {
    const s = scratch();
    try {
      await expect(
        resolveGcp({
          project: PROJECT,
          region: "us-central1",
          env: { GOOGLE_APPLICATION_CREDENTIALS: join(s.dir, "missing.json"), PATH: s.dir },
        }),
      ).rejects.toThrow("missing.json, which does not exist");
    } finally {
      s.cleanup();
    }
  });
});

describe("start-up stays lean", () => {
  it("`wp --help` and `wp create --help` load no Google library", () => {
    const s = scratch();
    try {
      const log = join(s.dir, "loaded.txt");
      writeFileSync(log, "");
      const hooks = join(s.dir, "hooks.mjs");
      writeFileSync(
        hooks,
        `import { appendFileSync } from "node:fs";\nexport async function resolve(spec, ctx, next) {\n  const r = await next(spec, ctx);\n  appendFileSync(${JSON.stringify(log)}, r.url + "\\n");\n  return r;\n}\n`,
      );
      const register = join(s.dir, "register.mjs");
      writeFileSync(
        register,
        `import { register } from "node:module";\nregister(${JSON.stringify(`file://${hooks}`)});\n`,
      );
      for (const args of [["--help"], ["create", "--help"]]) {
        const r = spawnSync(
          process.execPath,
          ["--import", `file://${register}`, join(process.cwd(), "bin", "wp.js"), ...args],
          {
            env: { PATH: process.env.PATH, HOME: s.dir, WP_HOME: join(s.dir, "wp"), PREFECT_HOME: join(s.dir, "p") },
            encoding: "utf8",
          },
        );
        expect(r.status, r.stderr).toBe(0);
      }
      const loaded = loadedModules(readFileSync(log, "utf8").split("\n").filter(Boolean)).join("\n");
      expect(loaded).toContain("src/main.ts");
      expect(loaded).not.toMatch(/googleapis|google-auth-library|gaxios/);
      expect(loaded).toContain("src/clouds/gcp/provider.ts");
      expect(loaded).not.toMatch(/src\/clouds\/gcp\/(sdk|run-api|config|index|steps|credentials)\.ts/);
      appendFileSync(log, "");
    } finally {
      s.cleanup();
    }
  });
});
