/**
 * Issue 14 ("one pool, one inventory") on Azure Container Instances, through the CLI against the
 * Azure simulator: the pool's own names, a healthy re-run that writes nothing, block-name collisions
 * and shared blocks, an app registration deleted behind wp's back, a kept registry finished later by
 * `--force`, a deleted block secret, every drift fixed by the command status names, and the Docker
 * login and build namespace forgotten after the last deprovision.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KEY_ALIASES, loadSettings } from "../../src/prefect/settings.js";
import { SUB, useAzure } from "../aci/helpers.js";

const TYPE = "azure-container-instance:push";
const BLOCK = "azure-container-instance-credentials";

interface Item {
  resource: string;
  name: string;
  state: string;
  detail?: string;
  fix?: string;
}

describe("one ACI pool, one inventory", () => {
  const { ctx, wp, prefect } = useAzure();

  const create = async (pool: string, extra: string[] = []) => {
    const r = await wp(["create", pool, "--type", TYPE, "--provision-infra", "--yes", "--subscription", SUB, ...extra]);
    expect(r.code, r.stderr).toBe(0);
  };
  const status = async (pool: string) => {
    const r = await wp(["status", pool, "-o", "json"]);
    const doc = JSON.parse(r.stdout) as { healthy: boolean; resources: Item[] };
    return { code: r.code, doc, bad: doc.resources.filter((i) => i.state !== "ok" && i.state !== "not checked") };
  };
  const provision = async (pool: string) => {
    const r = await wp(["provision-infra", pool, "--yes", "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { results: Array<{ id: string; status: string }> };
  };
  async function blockData(name: string) {
    const api = await prefect();
    try {
      const doc = await api.readBlockDocument(BLOCK, name, true);
      return doc ? { id: doc.id, data: (doc.data ?? {}) as Record<string, string> } : null;
    } finally {
      api.close();
    }
  }
  async function template(pool: string) {
    const api = await prefect();
    try {
      return (await api.readWorkPool(pool))?.base_job_template;
    } finally {
      api.close();
    }
  }
  const pools = async () =>
    (JSON.parse((await wp(["ls", "-o", "json"])).stdout) as Array<{ name: string }>).map((p) => p.name);

  /** Status names one command for every problem; running it makes the pool healthy. */
  async function fixedBy(pool: string, command = "provision-infra") {
    const s = await status(pool);
    expect(s.code).toBe(1);
    expect(s.bad.length).toBeGreaterThan(0);
    for (const i of s.bad) expect(i.fix, JSON.stringify(i)).toBe(`wp ${command} ${pool}`);
    if (command === "provision-infra") await provision(pool);
    else expect((await wp([command, pool, "--yes"])).code).toBe(0);
    const after = await status(pool);
    expect(after.bad).toEqual([]);
    expect(after.code).toBe(0);
    return s.bad;
  }

  it("(1) provision-infra uses the pool's own group and app, and on a healthy pool makes no write", async () => {
    await create("named", ["--resource-group", "rg-x", "--app-name", "app-x"]);
    const before = await template("named");
    ctx.sim.clearLog();
    const r = await wp(["provision-infra", "named", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    expect(ctx.sim.mutations()).toEqual([]);
    const s = ctx.sim.state;
    expect(s.resourceGroups.map((g) => g.name)).toEqual(["rg-x"]);
    expect(s.applications.map((a) => a.displayName)).toEqual(["app-x"]);
    expect(s.servicePrincipals).toHaveLength(1);
    expect(s.registries).toHaveLength(1);
    expect(s.identities).toHaveLength(1);
    expect(await template("named")).toEqual(before);
    ctx.sim.clearLog();
    expect((await status("named")).bad).toEqual([]);
    expect(ctx.sim.mutations()).toEqual([]);
  });

  it("(2) pools whose derived block names collide: the second is refused before any write; a shared block is kept", async () => {
    await create("My Pool");
    ctx.sim.clearLog();
    const r = await wp(["create", "my-pool", "--type", TYPE, "--provision-infra", "--yes", "--subscription", SUB]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("'My Pool'");
    expect(r.stderr).toContain("--credentials-block-name");
    expect(ctx.sim.mutations()).toEqual([]);
    expect(await pools()).toEqual(["My Pool"]);

    await create("gb", ["--credentials-block-name", "my-pool-push-pool-credentials"]);
    const d = await wp(["deprovision", "My Pool", "--yes"]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout + d.stderr).toMatch(/still used by 'gb'/);
    expect(await blockData("my-pool-push-pool-credentials")).not.toBeNull();
    expect(await pools()).toEqual(["gb"]);
    expect((await status("gb")).bad).toEqual([]);
  });

  it("(3) an app registration deleted behind wp's back: provision-infra makes a new app and repoints the block; rotation and deprovision follow it", async () => {
    await create("p3");
    const oldApp = ctx.sim.state.applications[0]?.appId;
    ctx.sim.state.applications = [];
    ctx.sim.state.servicePrincipals = [];
    const bad = await fixedBy("p3");
    expect(bad.map((i) => i.resource)).toEqual(expect.arrayContaining(["App registration", "Credentials block"]));
    const app = ctx.sim.state.applications[0];
    expect(ctx.sim.state.applications).toHaveLength(1);
    expect(app?.appId).not.toBe(oldApp);
    const b = await blockData("p3-push-pool-credentials");
    expect(b?.data.client_id).toBe(app?.appId);
    expect(app?.secrets.map((x) => x.secretText)).toEqual([b?.data.client_secret]);
    const rot = await wp(["rotate-credentials", "p3", "--yes"]);
    expect(rot.code, rot.stderr).toBe(0);
    expect((await status("p3")).bad).toEqual([]);
    const d = await wp(["deprovision", "p3", "--yes"]);
    expect(d.code, d.stderr).toBe(0);
    expect(ctx.sim.state.applications).toEqual([]);
    expect(ctx.sim.state.resourceGroups).toEqual([]);
  });

  it("(4) a registry kept for its repositories keeps the record and the pool; deprovision --force finishes the job", async () => {
    await create("keep");
    const server = ctx.sim.state.registries[0]?.properties.loginServer as string;
    ctx.sim.state.acrRepositories[server] = ["flows"];
    const d1 = await wp(["deprovision", "keep", "--yes"]);
    expect(d1.code, d1.stderr).toBe(0);
    expect(ctx.sim.state.registries).toHaveLength(1);
    expect(await pools()).toEqual(["keep"]);
    const d2 = await wp(["deprovision", "keep", "--yes", "--force"]);
    expect(d2.code, d2.stderr).toBe(0);
    expect(ctx.sim.state.registries).toEqual([]);
    expect(ctx.sim.state.resourceGroups).toEqual([]);
    expect(await pools()).toEqual([]);
    expect((await wp(["deprovision", "keep", "--yes"])).stderr).toContain("Work pool 'keep' not found.");
  });

  it("(6) the block's secret deleted in Azure is drift, and provision-infra re-mints it into the block", async () => {
    await create("s6");
    const app = ctx.sim.state.applications[0];
    if (!app) throw new Error("no app");
    app.secrets = [];
    const before = await blockData("s6-push-pool-credentials");
    const s = await status("s6");
    expect(s.bad.map((i) => [i.resource, i.state])).toEqual([["Credentials block", "drift"]]);
    expect(s.bad[0]?.detail).toContain("deleted in the cloud?");
    expect(s.bad[0]?.fix).toBe("wp rotate-credentials s6");
    const report = await provision("s6");
    expect(report.results.find((x) => x.id === "prefect.aci-credentials")?.status).toBe("updated");
    const after = await blockData("s6-push-pool-credentials");
    expect(after?.id).toBe(before?.id);
    expect(app.secrets.map((x) => x.secretText)).toEqual([after?.data.client_secret]);
    expect((await status("s6")).code).toBe(0);
    // The command status names repairs it too.
    app.secrets = [];
    await fixedBy("s6", "rotate-credentials");
    expect(app.secrets).toHaveLength(1);
  });

  it("fixes that fix: role assignments removed, registry deleted, identity deleted", async () => {
    await create("fx");
    const s = ctx.sim.state;
    const sp = s.servicePrincipals[0]?.id;
    s.roleAssignments = s.roleAssignments.filter((a) => a.properties.principalId !== sp);
    expect((await fixedBy("fx")).map((i) => i.resource)).toEqual(["Role assignment"]);
    const principal = (s.identities[0]?.properties as { principalId?: string } | undefined)?.principalId;
    s.roleAssignments = s.roleAssignments.filter((a) => a.properties.principalId !== principal);
    expect((await fixedBy("fx")).map((i) => i.resource)).toEqual(["Role assignment"]);
    s.registries = [];
    await fixedBy("fx");
    expect(s.registries).toHaveLength(1);
    s.identities = [];
    await fixedBy("fx");
    expect(s.identities).toHaveLength(1);
    const t = (await template("fx")) as { variables: { properties: Record<string, { default?: unknown }> } };
    expect(t.variables.properties.identities?.default).toEqual([s.identities[0]?.id]);
  });

  it("(7) after the last deprovision the registry's Docker login and the profile's build namespace are gone", async () => {
    await create("dk");
    const server = ctx.sim.state.registries[0]?.properties.loginServer as string;
    const config = () => JSON.parse(readFileSync(join(ctx.env.DOCKER_CONFIG ?? "", "config.json"), "utf8"));
    const namespace = async () => {
      const settings = await loadSettings(ctx.env);
      return KEY_ALIASES.dockerNamespace.map((k) => settings.get(k)).find(Boolean);
    };
    expect(config().auths?.[server]).toBeDefined();
    expect(await namespace()).toBe(server);
    const d = await wp(["deprovision", "dk", "--yes"]);
    expect(d.code, d.stderr).toBe(0);
    expect(config().auths?.[server]).toBeUndefined();
    expect(await namespace()).toBeUndefined();
  });
});
