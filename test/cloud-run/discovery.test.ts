/**
 * The Google Cloud simulator's answers against Google's published discovery documents
 * (test/sim/gcp/fixtures/discovery-schemas.json, see SOURCES.md there). Every answer the simulator gives,
 * during a provisioning run and to direct requests that reach each of its routes and error paths, is checked
 * against the schema of the method's response type. Error answers are checked against the error envelope in
 * cloud-api-contracts.md §2.0.
 */
import { describe, expect, it } from "vitest";
import { createCloudRunProvisioner } from "../../src/clouds/gcp/index.js";
import { CredentialGuard } from "../../src/engine/credential.js";
import type { StepContext } from "../../src/engine/types.js";
import { type Api, schemas, validate, validateErrorEnvelope } from "../helpers/discovery.js";
import { FakePrefect } from "../helpers/fake-prefect.js";
import { PROJECT, useGcpSim } from "../helpers/gcp-sim.js";
import type { LoggedRequest } from "../sim/gcp/server.js";

type Kind = [Api, string];

/** The discovery method's response type for a simulator route (null: not a discovery API, e.g. /token). */
function responseType(method: string, path: string): Kind | null {
  if (path === "/token" || path.startsWith("/_sim/")) return null;
  const routes: Array<[string, RegExp, Kind]> = [
    ["GET", /^\/v1\/projects$/, ["cloudresourcemanager", "ListProjectsResponse"]],
    ["GET", /^\/v1\/projects\/[^/:]+$/, ["cloudresourcemanager", "Project"]],
    ["POST", /^\/v1\/projects\/[^/:]+:(get|set)IamPolicy$/, ["cloudresourcemanager", "Policy"]],
    ["POST", /^\/v1\/projects\/[^/:]+:getEffectiveOrgPolicy$/, ["cloudresourcemanager", "OrgPolicy"]],
    ["POST", /^\/v1\/projects\/[^/:]+:testIamPermissions$/, ["cloudresourcemanager", "TestIamPermissionsResponse"]],
    [
      "GET",
      /^\/v2\/projects\/[^/]+\/policies\/[^/:]+:getEffectivePolicy$/,
      ["orgpolicy", "GoogleCloudOrgpolicyV2Policy"],
    ],
    [
      "POST",
      /^\/v1\/projects\/[^/]+\/serviceAccounts\/[^/:]+:testIamPermissions$/,
      ["iam", "TestIamPermissionsResponse"],
    ],
    ["GET", /^\/v1\/projects\/[^/]+\/services\/[^/:]+$/, ["serviceusage", "GoogleApiServiceusageV1Service"]],
    ["POST", /^\/v1\/projects\/[^/]+\/services\/[^/:]+:enable$/, ["serviceusage", "Operation"]],
    ["GET", /^\/v1\/operations\/[^/]+$/, ["serviceusage", "Operation"]],
    [
      "GET",
      /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/repositories$/,
      ["artifactregistry", "ListRepositoriesResponse"],
    ],
    ["POST", /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/repositories$/, ["artifactregistry", "Operation"]],
    ["GET", /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/repositories\/[^/]+$/, ["artifactregistry", "Repository"]],
    ["GET", /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/operations\/[^/]+$/, ["artifactregistry", "Operation"]],
    ["POST", /^\/v1\/projects\/[^/]+\/serviceAccounts$/, ["iam", "ServiceAccount"]],
    ["GET", /^\/v1\/projects\/[^/]+\/serviceAccounts$/, ["iam", "ListServiceAccountsResponse"]],
    ["GET", /^\/v1\/projects\/[^/]+\/serviceAccounts\/[^/]+$/, ["iam", "ServiceAccount"]],
    ["GET", /^\/v1\/projects\/[^/]+\/serviceAccounts\/[^/]+\/keys$/, ["iam", "ListServiceAccountKeysResponse"]],
    ["POST", /^\/v1\/projects\/[^/]+\/serviceAccounts\/[^/]+\/keys$/, ["iam", "ServiceAccountKey"]],
    ["DELETE", /^\/v1\/projects\/[^/]+\/serviceAccounts\/[^/]+\/keys\/[^/]+$/, ["iam", "Empty"]],
    ["POST", /^\/v2\/entries:list$/, ["logging", "ListLogEntriesResponse"]],
  ];
  const hit = routes.find(([m, re]) => m === method && re.test(path));
  if (!hit) throw new Error(`no discovery response type for ${method} ${path}`);
  return hit[2];
}

/** Schemas for the `@type` of an operation's `metadata` and `response` (google.protobuf.Any). */
const ANY_TYPES: Record<string, Kind> = {
  "type.googleapis.com/google.devtools.artifactregistry.v1.Repository": ["artifactregistry", "Repository"],
  "type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata": [
    "artifactregistry",
    "OperationMetadata",
  ],
  "type.googleapis.com/google.api.serviceusage.v1.EnableServiceResponse": ["serviceusage", "EnableServiceResponse"],
  "type.googleapis.com/google.api.serviceusage.v1.OperationMetadata": ["serviceusage", "OperationMetadata"],
};

function checkAny(api: Api, value: unknown, path: string): string[] {
  if (value === undefined) return [];
  const { "@type": type, ...rest } = value as Record<string, unknown>;
  const kind = ANY_TYPES[String(type)];
  if (!kind || kind[0] !== api) return [`${path}: @type ${String(type)} is not a known ${api} type`];
  return validate(kind[0], kind[1], rest, path);
}

/** Every problem with one logged answer, labelled with its request. */
function problems(r: LoggedRequest): string[] {
  const kind = responseType(r.method, r.path);
  if (!kind) return [];
  const body = JSON.parse(r.response) as Record<string, unknown>;
  const label = `${r.method} ${r.path} → ${r.status}`;
  if (r.status !== 200) return validateErrorEnvelope(r.status, body).map((e) => `${label}: ${e}`);
  const [api, name] = kind;
  let errors: string[];
  if (name === "Empty") errors = Object.keys(body).length === 0 ? [] : ["$: google.protobuf.Empty must be {}"];
  else errors = validate(api, name, body);
  if (name === "Operation") {
    errors.push(...checkAny(api, body.metadata, "$.metadata"), ...checkAny(api, body.response, "$.response"));
    if (body.done === false) errors.push("$.done: omitted while false (cloud-api-contracts.md §2.0)");
    if (body.done === true && body.response === undefined && body.error === undefined)
      errors.push("$: a done operation carries response or error");
  }
  return errors.map((e) => `${label}: ${e}`);
}

/** What the log covered: "api.Schema" for answers, "error HTTP STATUS" for error envelopes. */
function covered(log: LoggedRequest[]): Set<string> {
  const out = new Set<string>();
  for (const r of log) {
    const kind = responseType(r.method, r.path);
    if (!kind) continue;
    if (r.status === 200) out.add(kind.join("."));
    else out.add(`error ${r.status} ${(JSON.parse(r.response) as { error: { status: string } }).error.status}`);
  }
  return out;
}

describe("the validator for the discovery schema dialect", () => {
  it("rejects unknown fields, wrong types, values outside an enum, and malformed int64 and datetime strings", () => {
    const bad = {
      name: "projects/p/locations/r/repositories/x",
      format: "DOCKERISH",
      sizeBytes: 12,
      createTime: "yesterday",
      labels: { a: 1 },
      color: "blue",
    };
    expect(validate("artifactregistry", "Repository", bad)).toEqual([
      '$.format: "DOCKERISH" is not in the enum',
      "$.sizeBytes: expected string, got number",
      '$.createTime: "yesterday" is not an RFC 3339 timestamp',
      "$.labels.a: expected string, got number",
      "$.color: not a field of Repository",
    ]);
    expect(validate("cloudresourcemanager", "Project", { projectNumber: "12x" })).toEqual([
      '$.projectNumber: "12x" is not an int64',
    ]);
    expect(validate("artifactregistry", "Repository", { dockerConfig: {} })).toEqual([
      "$.dockerConfig: $ref DockerRepositoryConfig is not in the artifactregistry fixture",
    ]);
    expect(
      validate("cloudresourcemanager", "Policy", { version: 1.5, bindings: [{ role: "r", members: "x" }] }),
    ).toEqual(["$.version: expected integer, got 1.5", "$.bindings[0].members: expected array, got string"]);
  });

  it("checks the error envelope: fields, code = HTTP status, a google.rpc.Code name that goes with it", () => {
    expect(validateErrorEnvelope(409, { error: { code: 409, message: "m", status: "ALREADY_EXISTS" } })).toEqual([]);
    expect(validateErrorEnvelope(404, { error: { code: 400, message: "m", status: "ALREADY_EXISTS", x: 1 } })).toEqual([
      "$.error.x: not part of the envelope",
      "$.error.code: 400 is not the HTTP status 404",
      "$.error.status: ALREADY_EXISTS does not go with HTTP 404",
    ]);
    expect(validateErrorEnvelope(400, { error: "invalid_grant" })).toEqual(["$.error: expected an object"]);
  });

  it("the fixture holds the schemas the simulator's answers need", () => {
    for (const [api, name] of Object.values(ANY_TYPES)) expect(schemas[api][name], `${api}.${name}`).toBeDefined();
    expect(Object.keys(schemas).sort()).toEqual([
      "artifactregistry",
      "cloudresourcemanager",
      "iam",
      "logging",
      "orgpolicy",
      "serviceusage",
    ]);
  });
});

describe("the Google Cloud simulator answers as the discovery documents describe", () => {
  const fx = useGcpSim();

  it("a full Cloud Run provisioning run: every answer fits its method's response schema", async () => {
    const prefect = new FakePrefect();
    prefect.register("gcp-credentials", "GCP Credentials");
    const p = createCloudRunProvisioner({
      poolName: "pool",
      prefect,
      project: PROJECT,
      region: "us-central1",
      env: fx.env,
      guard: new CredentialGuard({ home: fx.env.WP_HOME ?? "" }),
    });
    await p.targets();
    const ctx: StepContext = { prefect, outputs: new Map(), note: () => {} };
    for (const step of p.steps()) {
      const state = await step.check(ctx);
      if (state.action !== "exists") await step.apply(ctx, state);
    }
    expect(fx.sim.log.flatMap(problems)).toEqual([]);
    const kinds = covered(fx.sim.log);
    for (const k of [
      "cloudresourcemanager.Project",
      "cloudresourcemanager.Policy",
      "serviceusage.Operation",
      "artifactregistry.Operation",
      "iam.ServiceAccount",
      "iam.ServiceAccountKey",
    ])
      expect(kinds, k).toContain(k);
  });

  it("direct requests reach every route and error path; every answer fits its schema or the error envelope", async () => {
    const sim = fx.sim;
    sim.acceptToken("t");
    const call = async (method: string, path: string, body?: unknown, token = "t") => {
      const res = await fetch(new URL(path.replace(/^\//, ""), sim.url), {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const poll = async (name: string) => {
      for (let i = 0; i < 10; i++) {
        const op = await call("GET", `/v1/${name}`);
        if (op.body.done) return op;
      }
      throw new Error(`operation ${name} never finished`);
    };
    const P = `/v1/projects/${PROJECT}`;
    const AR = `${P}/locations/us-central1`;
    const SA = `wp-disc-sa@${PROJECT}.iam.gserviceaccount.com`;

    // Cloud Resource Manager
    await call("GET", "/v1/projects");
    await call("GET", P);
    await call("GET", "/v1/projects/no-such-project");
    const policy = await call("POST", `${P}:getIamPolicy`, { options: { requestedPolicyVersion: 3 } });
    await call("POST", `${P}:setIamPolicy`, { policy: { ...policy.body, etag: "c3RhbGU=" } });
    await call("POST", `${P}:setIamPolicy`, {
      policy: { ...policy.body, bindings: [{ role: "roles/run.developer", members: [`serviceAccount:${SA}`] }] },
    });
    await call("POST", `${P}:getEffectiveOrgPolicy`, {
      constraint: "constraints/iam.disableServiceAccountKeyCreation",
    });
    sim.keysForbidden = true;
    await call("POST", `${P}:getEffectiveOrgPolicy`, {
      constraint: "constraints/iam.disableServiceAccountKeyCreation",
    });
    sim.orgPolicyReadable = false;
    await call("POST", `${P}:getEffectiveOrgPolicy`, {
      constraint: "constraints/iam.disableServiceAccountKeyCreation",
    });
    sim.orgPolicyReadable = true;

    // Service Usage, Artifact Registry
    await call("GET", `${AR}/repositories`);
    await call("GET", `${P}/services/artifactregistry.googleapis.com`);
    const enable = await call("POST", `${P}/services/artifactregistry.googleapis.com:enable`, {});
    await poll(String(enable.body.name));
    await call("POST", `${P}/services/artifactregistry.googleapis.com:enable`, {});
    await call("GET", `${P}/services/artifactregistry.googleapis.com`);
    await call("GET", `${AR}/repositories/prefect-images`);
    const create = await call("POST", `${AR}/repositories?repositoryId=prefect-images`, {
      format: "DOCKER",
      description: "Prefect images",
    });
    await poll(String(create.body.name));
    await call("POST", `${AR}/repositories?repositoryId=prefect-images`, { format: "DOCKER" });
    await call("POST", `${AR}/repositories?repositoryId=Bad_Id`, { format: "DOCKER" });
    await call("GET", `${AR}/repositories/prefect-images`);
    await call("GET", `${AR}/repositories`);
    await call("GET", `${AR}/operations/no-such-operation`);

    // IAM
    await call("POST", `${P}/serviceAccounts`, { accountId: "wp-disc-sa", serviceAccount: { displayName: "d" } });
    await call("POST", `${P}/serviceAccounts`, { accountId: "wp-disc-sa" });
    await call("POST", `${P}/serviceAccounts`, { accountId: "x" });
    await call("GET", `${P}/serviceAccounts`);
    await call("GET", `${P}/serviceAccounts/${SA}`);
    await call("GET", `${P}/serviceAccounts/nobody@${PROJECT}.iam.gserviceaccount.com`);
    await call("POST", `${P}/serviceAccounts/${SA}/keys`, {});
    sim.keysForbidden = false;
    const key = await call("POST", `${P}/serviceAccounts/${SA}/keys`, {});
    await call("GET", `${P}/serviceAccounts/${SA}/keys?keyTypes=USER_MANAGED`);
    await call("DELETE", `/v1/${String(key.body.name)}`);
    await call("DELETE", `/v1/${String(key.body.name)}`);
    await call("POST", `${P}:setIamPolicy`, {
      policy: {
        version: 1,
        bindings: [{ role: "roles/x", members: ["user:a@example.com"], condition: { title: "t", expression: "true" } }],
      },
    });

    // Cloud Logging: an execution's entries (the ADC user may read them), a page of them, errors
    const RUN = `/v2/projects/${PROJECT}/locations/us-central1`;
    sim.project(PROJECT).services.add("run.googleapis.com");
    const job = await call("POST", `${RUN}/jobs?jobId=disc`, {
      template: { template: { containers: [{ image: "busybox", command: ["echo", "hello"] }] } },
    });
    for (let i = 0; i < 5 && !(job.body.done as boolean | undefined); i++)
      await call("GET", `/v2/${String(job.body.name)}`);
    const run = await call("POST", `${RUN}/jobs/disc:run`, {});
    const exec = String((run.body.metadata as { name?: string }).name);
    for (let i = 0; i < 5; i++) await call("GET", `/v2/${exec}`);
    const list = (body: Record<string, unknown>) =>
      call("POST", "/v2/entries:list", { resourceNames: [`projects/${PROJECT}`], ...body });
    const entries = await list({ orderBy: "timestamp desc", pageSize: 1 });
    expect((entries.body.entries as unknown[]).length).toBe(1);
    await list({ pageToken: String(entries.body.nextPageToken), pageSize: 1 });
    await list({ filter: 'resource.type="cloud_run_job" AND textPayload:"HELLO"' });
    await list({ filter: "severity>=ERROR" });
    await call("POST", "/v2/entries:list", { resourceNames: ["projects/no-such-project"] });
    // The fixture holds no Cloud Run v2 schemas: of these requests only the Logging answers are checked.
    const cloudRun = sim.log.filter((r) => r.path.startsWith("/v2/projects/"));
    sim.log.splice(0, sim.log.length, ...sim.log.filter((r) => !cloudRun.includes(r)));

    // Faults, an unknown token, a route the simulator does not serve
    sim.fail({ match: (r) => r.method === "GET", status: 503, rpc: "UNAVAILABLE", message: "try again" });
    await call("GET", `${P}/serviceAccounts/${SA}`);
    sim.fail({
      match: (r) => r.method === "POST",
      status: 429,
      rpc: "RESOURCE_EXHAUSTED",
      message: "quota",
      details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "RATE_LIMIT_EXCEEDED" }],
    });
    await call("POST", `${P}:getIamPolicy`, {});
    await call("GET", P, undefined, "not-a-token");
    await call("GET", `${P}/somethingElse`).catch(() => undefined);

    const logged = sim.log.filter((r) => !r.path.endsWith("/somethingElse"));
    expect(logged.flatMap(problems)).toEqual([]);
    const unserved = sim.log.find((r) => r.path.endsWith("/somethingElse"));
    expect(validateErrorEnvelope(unserved?.status ?? 0, JSON.parse(unserved?.response ?? "null"))).toEqual([]);

    expect([...covered(logged)].sort()).toEqual(
      [
        "artifactregistry.ListRepositoriesResponse",
        "artifactregistry.Operation",
        "artifactregistry.Repository",
        "cloudresourcemanager.ListProjectsResponse",
        "cloudresourcemanager.OrgPolicy",
        "cloudresourcemanager.Policy",
        "cloudresourcemanager.Project",
        "iam.Empty",
        "iam.ListServiceAccountKeysResponse",
        "iam.ListServiceAccountsResponse",
        "iam.ServiceAccount",
        "iam.ServiceAccountKey",
        "logging.ListLogEntriesResponse",
        "serviceusage.GoogleApiServiceusageV1Service",
        "serviceusage.Operation",
        "error 400 FAILED_PRECONDITION",
        "error 400 INVALID_ARGUMENT",
        "error 401 UNAUTHENTICATED",
        "error 403 PERMISSION_DENIED",
        "error 404 NOT_FOUND",
        "error 409 ABORTED",
        "error 409 ALREADY_EXISTS",
        "error 429 RESOURCE_EXHAUSTED",
        "error 503 UNAVAILABLE",
      ].sort(),
    );
  });
});
