/**
 * The Azure simulator's realistic mode and named faults on the wire (test/sim/azure/realism.mjs cites Azure for
 * each): paging with nextLink / @odata.nextLink / Link, the lags of new secrets and service principals, the
 * cached group listing, the failed container group as the spec example shows it, and `npm run sim:azure --realistic`.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type AzureSim, startAzureSim } from "../sim/azure/server.mjs";

const SUB = "00000000-1111-2222-3333-444444444444";
const RG = `/subscriptions/${SUB}/resourceGroups/rg`;

// biome-ignore lint/suspicious/noExplicitAny: wire JSON
type Wire = any;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Wire;
}

function call(sim: AzureSim, method: string, path: string, o: { body?: unknown; token?: string; form?: string } = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const text = o.form ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
    const req = request(
      path.startsWith("https:") ? path : `${sim.url}${path}`,
      {
        method,
        ca: sim.cert.cert,
        headers: {
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          "content-type": o.form ? "application/x-www-form-urlencoded" : "application/json",
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

async function token(
  sim: AzureSim,
  scope: string,
  id = sim.state.caller.clientId,
  secret = sim.state.caller.clientSecret,
) {
  const form = new URLSearchParams({ client_id: id, client_secret: secret, grant_type: "client_credentials", scope });
  return call(sim, "POST", `/${sim.state.tenantId}/oauth2/v2.0/token`, { form: form.toString() });
}
const armToken = async (sim: AzureSim) =>
  (await token(sim, "https://management.azure.com/.default")).body.access_token as string;
const graphToken = async (sim: AzureSim) =>
  (await token(sim, "https://graph.microsoft.com/.default")).body.access_token as string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the simulator in realistic mode", () => {
  let sim: AzureSim;
  afterEach(async () => sim?.close());

  it("pages every list: ARM nextLink and Graph @odata.nextLink, with the original query", async () => {
    sim = await startAzureSim({ realistic: true });
    const [arm, graph] = [await armToken(sim), await graphToken(sim)];
    for (const n of ["a", "b", "c"])
      await call(sim, "POST", "/graph/v1.0/applications", { token: graph, body: { displayName: n } });
    const first = await call(sim, "GET", "/graph/v1.0/applications", { token: graph });
    expect(first.body.value).toHaveLength(1);
    const seen = [...first.body.value];
    for (let next = first.body["@odata.nextLink"]; next; ) {
      const page = await call(sim, "GET", next, { token: graph });
      seen.push(...page.body.value);
      next = page.body["@odata.nextLink"];
    }
    expect(seen.map((a) => a.displayName).sort()).toEqual(["a", "b", "c"]);
    const subs = await call(
      sim,
      "GET",
      `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01`,
      { token: arm },
    );
    expect(subs.body.value).toHaveLength(1);
    expect(subs.body.nextLink).toContain("api-version=2022-04-01");
    expect(subs.body.nextLink).toContain("%24skiptoken=1");
  });

  it("refuses a brand-new app's service principal (403 Authorization_RequestDenied) and a new secret's sign-in until their lags pass", async () => {
    sim = await startAzureSim({ realistic: { servicePrincipal: 400, secret: 400 } });
    const graph = await graphToken(sim);
    const app = (await call(sim, "POST", "/graph/v1.0/applications", { token: graph, body: { displayName: "x" } }))
      .body;
    const early = await call(sim, "POST", "/graph/v1.0/servicePrincipals", {
      token: graph,
      body: { appId: app.appId },
    });
    expect(early.status).toBe(403);
    expect(early.body.error.code).toBe("Authorization_RequestDenied");
    const secret = (
      await call(sim, "POST", `/graph/v1.0/applications/${app.id}/addPassword`, { token: graph, body: {} })
    ).body;
    const refused = await token(sim, "https://management.azure.com/.default", app.appId, secret.secretText);
    expect(refused.status).toBe(401);
    expect(refused.body.error_description).toContain("AADSTS7000215");
    await sleep(500);
    expect(
      (await call(sim, "POST", "/graph/v1.0/servicePrincipals", { token: graph, body: { appId: app.appId } })).status,
    ).toBe(201);
    expect((await token(sim, "https://management.azure.com/.default", app.appId, secret.secretText)).status).toBe(200);
  });

  it("lists just-deleted resources in the group's listing for a while; a GET of each is exact", async () => {
    sim = await startAzureSim({ realistic: { listing: 400 } });
    const arm = await armToken(sim);
    await call(sim, "PUT", `${RG}?api-version=2025-04-01`, { token: arm, body: { location: "eastus" } });
    const id = `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i1`;
    await call(sim, "PUT", `${id}?api-version=2024-11-30`, { token: arm, body: { location: "eastus" } });
    await call(sim, "DELETE", `${id}?api-version=2024-11-30`, { token: arm });
    const listed = await call(sim, "GET", `${RG}/resources?api-version=2025-04-01`, { token: arm });
    expect(listed.body.value.map((r: { name: string }) => r.name)).toEqual(["i1"]);
    expect((await call(sim, "GET", `${id}?api-version=2024-11-30`, { token: arm })).status).toBe(404);
    await sleep(500);
    expect((await call(sim, "GET", `${RG}/resources?api-version=2025-04-01`, { token: arm })).body.value).toEqual([]);
  });

  it("a failed container group reads as ContainerGroupsGet_Failed.json (provisioningState Failed, Pending, Waiting)", async () => {
    sim = await startAzureSim({ faultsOn: ["containerGroupFailed"] });
    const arm = await armToken(sim);
    await call(sim, "PUT", `${RG}?api-version=2025-04-01`, { token: arm, body: { location: "eastus" } });
    const cg = `${RG}/providers/Microsoft.ContainerInstance/containerGroups/demo1`;
    const body = {
      location: "eastus",
      properties: {
        osType: "Linux",
        containers: [
          { name: "demo1", properties: { image: "nginx", resources: { requests: { cpu: 1, memoryInGB: 1.5 } } } },
        ],
      },
    };
    expect((await call(sim, "PUT", `${cg}?api-version=2023-05-01`, { token: arm, body })).status).toBe(201);
    const got = await call(sim, "GET", `${cg}?api-version=2023-05-01`, { token: arm });
    const example = JSON.parse(
      readFileSync(join("test", "sim", "azure", "fixtures", "ContainerGroupsGet_Failed.json"), "utf8"),
    ).responses["200"].body;
    const pick = (b: Wire) => ({
      provisioningState: b.properties.provisioningState,
      state: b.properties.instanceView.state,
      container: b.properties.containers[0].properties.instanceView.currentState.state,
      event: [b.properties.instanceView.events[0].name, b.properties.instanceView.events[0].message],
    });
    expect(pick(got.body)).toEqual(pick(example));
  });

  it("the registry catalog pages with a Link header, and wp reads every page", async () => {
    sim = await startAzureSim({ realistic: true });
    const { acrRepositories, nextCatalogPage } = await import("../../src/clouds/azure/acr.js");
    const { azureAuth } = await import("../../src/clouds/azure/sdk.js");
    const server = "reg1.azurecr.io";
    sim.state.registries.push({
      id: `${RG}/providers/Microsoft.ContainerRegistry/registries/reg1`,
      name: "reg1",
      properties: { loginServer: server },
    });
    sim.state.acrRepositories[server] = ["c", "a", "b"];
    const repos = await acrRepositories(await azureAuth(sim.env), server, sim.state.tenantId);
    expect(repos).toEqual(["a", "b", "c"]);
    expect(sim.state.log.filter((e) => e.path === "/acr/v2/_catalog")).toHaveLength(3);
    expect(nextCatalogPage('</v2/_catalog?last=b&n=1>; rel="next"')).toBe("/v2/_catalog?last=b&n=1");
    expect(nextCatalogPage(undefined)).toBeUndefined();
  });

  it("`npm run sim:azure -- --realistic --fault policyDenied` serves with real-length lags and the fault on", async () => {
    const child = spawn(
      process.execPath,
      [join("test", "sim", "azure", "cli.mjs"), "--realistic", "--fault", "policyDenied"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    try {
      let err = "";
      await new Promise<void>((resolve) =>
        child.stderr.on("data", (d) => {
          err += String(d);
          if (err.includes("Ctrl-C")) resolve();
        }),
      );
      expect(err).toMatch(/realistic \(real-length lags: .*"role":300000.*faults: policyDenied/);
    } finally {
      child.kill("SIGTERM");
    }
  });
});
