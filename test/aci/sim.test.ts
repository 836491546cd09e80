/**
 * The Azure simulator checked against something this project did not write (the examples of the Azure
 * REST API specifications, test/sim/azure/fixtures) and against the wire contract the SDKs rely on:
 * error envelope, case-insensitive paths, api-version checks, LRO headers, bearer tokens, TLS.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { armApi, listSubscriptions } from "../../src/clouds/azure/arm.js";
import { graphApi } from "../../src/clouds/azure/graph.js";
import { azureAuth } from "../../src/clouds/azure/sdk.js";
import { type AzureSim, startAzureSim } from "../sim/azure/server.mjs";

const FIXTURES = join(process.cwd(), "test", "sim", "azure", "fixtures");
const SUB = "00000000-1111-2222-3333-444444444444";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

function call(sim: AzureSim, method: string, path: string, o: { body?: unknown; token?: string; form?: string } = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const text = o.form ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
    const req = request(
      `${sim.url}${path}`,
      {
        method,
        ca: sim.cert.cert,
        headers: {
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          ...(o.form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
          ...(text !== undefined && !o.form ? { "content-type": "application/json" } : {}),
        },
      },
      (res) => {
        let raw = "";
        res.on("data", (d) => {
          raw += String(d);
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw ? JSON.parse(raw) : undefined }),
        );
      },
    );
    req.on("error", reject);
    req.end(text);
  });
}

async function token(sim: AzureSim, scope = "https://management.azure.com/.default"): Promise<string> {
  const form = new URLSearchParams({
    client_id: sim.state.caller.clientId,
    client_secret: sim.state.caller.clientSecret,
    grant_type: "client_credentials",
    scope,
  }).toString();
  const r = await call(sim, "POST", `/${sim.state.tenantId}/oauth2/v2.0/token`, { form });
  return (r.body as { access_token: string }).access_token;
}

/** Every field of `expected` is in `actual` with the same JSON type (null matches anything). */
function expectShape(actual: unknown, expected: unknown, at = "$"): void {
  if (expected === null) return;
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual), `${at} is an array`).toBe(true);
    return;
  }
  if (typeof expected === "object") {
    expect(typeof actual, `${at} is an object`).toBe("object");
    for (const [k, v] of Object.entries(expected as Record<string, unknown>)) {
      expect(actual as Record<string, unknown>, `${at}.${k}`).toHaveProperty([k]);
      expectShape((actual as Record<string, unknown>)[k], v, `${at}.${k}`);
    }
    return;
  }
  expect(typeof actual, at).toBe(typeof expected);
}

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(FIXTURES, name), "utf8")) as {
    parameters: Record<string, unknown>;
    responses: Record<string, { body: unknown }>;
  };

describe("Azure simulator", () => {
  let sim: AzureSim;
  let arm: string;
  beforeAll(async () => {
    sim = await startAzureSim({ registryPolls: 2 });
    arm = await token(sim);
    await call(sim, "PUT", `/subscriptions/${SUB}/resourcegroups/myResourceGroup?api-version=2025-04-01`, {
      token: arm,
      body: { location: "westus" },
    });
  });
  afterAll(() => sim.close());

  it("answers RegistryCreate like the spec example: 201 Creating with Azure-AsyncOperation, then 200 on a replace", async () => {
    const ex = fixture("RegistryCreate.json");
    const p = ex.parameters as { registryName: string; resourceGroupName: string; "api-version": string };
    const path = `/subscriptions/${SUB}/resourceGroups/${p.resourceGroupName}/providers/Microsoft.ContainerRegistry/registries/${p.registryName}?api-version=${p["api-version"]}`;
    const created = await call(sim, "PUT", path, { token: arm, body: ex.parameters.registry });
    expect(created.status).toBe(201);
    expectShape(created.body, ex.responses["201"]?.body);
    expect((created.body as { properties: { provisioningState: string } }).properties.provisioningState).toBe(
      "Creating",
    );
    const op = String(created.headers["azure-asyncoperation"]);
    expect(op).toMatch(new RegExp(`^${sim.url}/sim/operations/.+api-version=2025-11-01$`));
    expect(created.headers.location).toBe(op);
    expect(created.headers["retry-after"]).toBe("0");
    // The status URL flips InProgress → Succeeded.
    const first = await call(sim, "GET", op.slice(sim.url.length), { token: arm });
    expect(first.body).toMatchObject({ status: "InProgress" });
    const second = await call(sim, "GET", op.slice(sim.url.length), { token: arm });
    expect(second.body).toMatchObject({ status: "Succeeded" });
    const replaced = await call(sim, "PUT", path, { token: arm, body: ex.parameters.registry });
    expect(replaced.status).toBe(200);
    expectShape(replaced.body, ex.responses["200"]?.body);
    expect(replaced.body).toMatchObject({ properties: { provisioningState: "Succeeded", adminUserEnabled: true } });
  });

  it("answers the name checks like RegistryCheckNameAvailable / NotAvailable", async () => {
    for (const [file, taken] of [
      ["RegistryCheckNameAvailable.json", false],
      ["RegistryCheckNameNotAvailable.json", true],
    ] as const) {
      const ex = fixture(file);
      const req = ex.parameters.registryNameCheckRequest as { name: string };
      const name = taken ? "myRegistry" : "freeRegistryName";
      const r = await call(
        sim,
        "POST",
        `/subscriptions/${SUB}/providers/Microsoft.ContainerRegistry/checkNameAvailability?api-version=2025-11-01`,
        { token: arm, body: { ...req, name } },
      );
      expect(r.status).toBe(200);
      expectShape(r.body, ex.responses["200"]?.body);
      expect(r.body).toMatchObject({ nameAvailable: !taken, ...(taken ? { reason: "AlreadyExists" } : {}) });
    }
  });

  it("answers IdentityCreate like the spec example: 201 then 200, properties nested", async () => {
    const ex = fixture("IdentityCreate.json");
    const path = `/subscriptions/${SUB}/resourceGroups/myResourceGroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/identityName?api-version=2024-11-30`;
    const created = await call(sim, "PUT", path, { token: arm, body: ex.parameters.parameters });
    expect(created.status).toBe(201);
    expectShape(created.body, ex.responses["201"]?.body);
    expect(created.body).toMatchObject({ tags: { key1: "value1" }, properties: { isolationScope: "None" } });
    const again = await call(sim, "PUT", path, { token: arm, body: ex.parameters.parameters });
    expect(again.status).toBe(200);
    expectShape(again.body, ex.responses["200"]?.body);
  });

  it("answers RoleAssignments_CreateForResourceGroup like the spec example, and 409 for the same assignment under another name", async () => {
    const ex = fixture("RoleAssignments_CreateForResourceGroup.json");
    const params = ex.parameters as { parameters: { properties: Record<string, string> }; roleAssignmentName: string };
    const principalId = sim.state.caller.objectId;
    const body = { properties: { ...params.parameters.properties, principalId, principalType: "ServicePrincipal" } };
    const path = (name: string) =>
      `/subscriptions/${SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=2022-04-01`;
    const created = await call(sim, "PUT", path(params.roleAssignmentName), { token: arm, body });
    expect(created.status).toBe(201);
    expectShape(created.body, ex.responses["201"]?.body);
    expect(created.body).toMatchObject({
      name: params.roleAssignmentName,
      properties: { scope: `/subscriptions/${SUB}/resourceGroups/myResourceGroup` },
    });
    expect((await call(sim, "PUT", path(params.roleAssignmentName), { token: arm, body })).status).toBe(200);
    const dup = await call(sim, "PUT", path("9b0f1a52-0d3c-4d3a-8d1e-2f8a6c3b1e77"), { token: arm, body });
    expect(dup.status).toBe(409);
    expect(dup.body).toEqual({
      error: { code: "RoleAssignmentExists", message: "The role assignment already exists." },
    });
  });

  it("matches paths case-insensitively, collapses //, and checks api-version", async () => {
    const upper = await call(
      sim,
      "GET",
      `/SUBSCRIPTIONS/${SUB}/ResourceGroups/MYRESOURCEGROUP?api-version=2025-04-01`,
      {
        token: arm,
      },
    );
    expect(upper.status).toBe(200);
    expect((await call(sim, "GET", `//subscriptions/${SUB}?api-version=2022-12-01`, { token: arm })).status).toBe(200);
    const missing = await call(sim, "GET", `/subscriptions/${SUB}/resourcegroups/x`, { token: arm });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ error: { code: "MissingApiVersionParameter" } });
    const wrong = await call(sim, "GET", `/subscriptions/${SUB}/resourcegroups/x?api-version=1999-01-01`, {
      token: arm,
    });
    expect(wrong.body).toMatchObject({ error: { code: "InvalidApiVersionParameter" } });
    const nope = await call(sim, "GET", `/subscriptions/${SUB}/resourcegroups/nope?api-version=2025-04-01`, {
      token: arm,
    });
    expect(nope.status).toBe(404);
    expect(nope.body).toEqual({
      error: { code: "ResourceGroupNotFound", message: "Resource group 'nope' could not be found." },
    });
    expect(
      (await call(sim, "HEAD", `/subscriptions/${SUB}/resourcegroups/nope?api-version=2025-04-01`, { token: arm }))
        .status,
    ).toBe(404);
  });

  it("requires a token it issued, refuses a wrong client secret as Entra ID does, and refuses / in tag names", async () => {
    const anon = await call(sim, "GET", `/subscriptions?api-version=2022-12-01`);
    expect(anon.status).toBe(401);
    expect(anon.body).toMatchObject({ error: { code: "InvalidAuthenticationToken" } });
    const bad = await call(sim, "POST", `/${sim.state.tenantId}/oauth2/v2.0/token`, {
      form: new URLSearchParams({
        client_id: sim.state.caller.clientId,
        client_secret: "wrong",
        grant_type: "client_credentials",
        scope: "x/.default",
      }).toString(),
    });
    expect(bad.status).toBe(401);
    expect(bad.body).toMatchObject({ error: "invalid_client", error_codes: [7000215] });
    const tagged = await call(sim, "PUT", `/subscriptions/${SUB}/resourcegroups/t?api-version=2025-04-01`, {
      token: arm,
      body: { location: "eastus", tags: { "prefect.io/work-pool": "p" } },
    });
    expect(tagged.body).toMatchObject({ error: { code: "InvalidTagNameCharacters" } });
  });

  it("Graph: display names are not unique, a duplicate service principal is 409, secrets show only their hint", async () => {
    const g = await token(sim, "https://graph.microsoft.com/.default");
    const a1 = await call(sim, "POST", "/graph/v1.0/applications", { token: g, body: { displayName: "same" } });
    const a2 = await call(sim, "POST", "/graph/v1.0/applications", { token: g, body: { displayName: "same" } });
    expect([a1.status, a2.status]).toEqual([201, 201]);
    const app = a1.body as { id: string; appId: string };
    const found = await call(
      sim,
      "GET",
      `/graph/v1.0/applications?$filter=${encodeURIComponent("displayName eq 'same'")}`,
      { token: g },
    );
    expect((found.body as { value: unknown[] }).value).toHaveLength(2);
    expect(
      (await call(sim, "POST", "/graph/v1.0/servicePrincipals", { token: g, body: { appId: app.appId } })).status,
    ).toBe(201);
    const dup = await call(sim, "POST", "/graph/v1.0/servicePrincipals", { token: g, body: { appId: app.appId } });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ error: { code: "Request_MultipleObjectsWithSameKeyValue", innerError: {} } });
    const pw = await call(sim, "POST", `/graph/v1.0/applications/${app.id}/addPassword`, {
      token: g,
      body: { passwordCredential: { displayName: "t" } },
    });
    const secret = pw.body as { keyId: string; secretText: string; hint: string };
    expect(secret.hint).toBe(secret.secretText.slice(0, 3));
    const read = await call(sim, "GET", `/graph/v1.0/applications/${app.id}`, { token: g });
    expect(JSON.stringify(read.body)).not.toContain(secret.secretText);
    expect(read.body).toMatchObject({
      passwordCredentials: [{ keyId: secret.keyId, hint: secret.hint, secretText: null }],
    });
    // The new secret signs in.
    const login = await call(sim, "POST", `/${sim.state.tenantId}/oauth2/v2.0/token`, {
      form: new URLSearchParams({
        client_id: app.appId,
        client_secret: secret.secretText,
        grant_type: "client_credentials",
        scope: "https://management.azure.com/.default",
      }).toString(),
    });
    expect(login.status).toBe(200);
    expect(sim.state.log.some((e) => JSON.stringify(e).includes(secret.secretText))).toBe(false);
  });

  it("the real SDKs and @azure/identity work against it over TLS with the generated certificate", async () => {
    const env = { ...sim.env, AZURE_TOKEN_CREDENTIALS: undefined };
    const auth = await azureAuth(env);
    const subs = await listSubscriptions(auth);
    expect(subs).toEqual([{ id: SUB, name: "Sim Subscription", tenantId: sim.state.tenantId, state: "Enabled" }]);
    const api = armApi(auth, SUB, { baseMs: 5 });
    expect(await api.getResourceGroup("missing")).toBeNull();
    await api.createResourceGroup("sdk-rg", "eastus", { "managed-by": "wp" });
    const notes: string[] = [];
    const reg = await api.createRegistry("sdk-rg", "sdkregistry1", "eastus", {}, (s) => notes.push(s));
    expect(reg).toMatchObject({ loginServer: "sdkregistry1.azurecr.io", provisioningState: "Succeeded" });
    expect(notes.length).toBeGreaterThan(0);
    const graph = graphApi(auth);
    expect(await graph.findApps("nobody")).toEqual([]);
    // Without the certificate, TLS fails (nothing trusts it by default).
    await expect(listSubscriptions(await azureAuth({ ...env, NODE_EXTRA_CA_CERTS: undefined }))).rejects.toThrow();
  });

  it("its plain JavaScript type-checks (JSDoc + checkJs, against server.d.mts)", () => {
    const tsc = join(process.cwd(), "node_modules", "typescript", "bin", "tsc");
    const r = spawnSync(process.execPath, [tsc, "-p", join("test", "sim", "azure")], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("`npm run sim:azure -- --port N` prints export lines and `# ready` last, then serves", async () => {
    const child = spawn(process.execPath, [join("test", "sim", "azure", "cli.mjs"), "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    await new Promise<void>((resolve) =>
      child.stdout.on("data", (d) => {
        out += String(d);
        if (out.includes("# ready")) resolve();
      }),
    );
    const vars = Object.fromEntries(
      [...out.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1] ?? "", m[2] ?? ""]),
    );
    expect(out.trimEnd().split("\n").pop()).toMatch(/^# ready: Azure simulator on https:\/\/127\.0\.0\.1:\d+/);
    expect(Object.keys(vars)).toEqual(
      expect.arrayContaining([
        "AZURE_AUTHORITY_HOST",
        "WP_AZURE_ARM_ENDPOINT",
        "WP_AZURE_GRAPH_ENDPOINT",
        "AZURE_CLIENT_SECRET",
      ]),
    );
    const subs = await listSubscriptions(await azureAuth(vars));
    expect(subs).toHaveLength(1);
    child.kill("SIGTERM");
    expect(await new Promise((r) => child.on("exit", (code) => r(code)))).toBe(0);
  });
});

describe("the simulator's certificate", () => {
  it("leaves no private key on disk, and close() removes the folder it made", async () => {
    const { existsSync, readdirSync } = await import("node:fs");
    const { startAzureSim } = await import("../sim/azure/server.mjs");
    const sim = await startAzureSim();
    expect(readdirSync(sim.cert.dir)).toEqual(["cert.pem"]);
    await sim.close();
    expect(existsSync(sim.cert.dir)).toBe(false);
  });
});
