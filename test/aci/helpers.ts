/** Shared setup for the ACI tests: the Azure simulator, a private home, a temp Docker config. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { connect } from "../../src/prefect/client.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { makeHome, runCli } from "../helpers/run-cli.js";
import { type AzureSim, type SimOptions, startAzureSim } from "../sim/azure/server.mjs";

export const SUB = "00000000-1111-2222-3333-444444444444";

export function useAzure(options: SimOptions = {}) {
  const ctx = {} as { sim: AzureSim; env: Record<string, string>; home: ReturnType<typeof makeHome> };
  beforeAll(async () => {
    ctx.sim = await startAzureSim(options);
  });
  afterAll(async () => {
    await ctx.sim.close();
    rmSync(ctx.sim.cert.dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await ctx.sim.close({ keepCertificate: true });
    ctx.sim = await startAzureSim({ ...options, cert: ctx.sim.cert, port: ctx.sim.port });
    ctx.home = makeHome();
    const docker = mkdtempSync(join(tmpdir(), "wp-docker-"));
    ctx.env = {
      ...ctx.home.env,
      ...ctx.sim.env,
      DOCKER_CONFIG: docker,
      DOCKER_HOST: `unix://${docker}/no-engine.sock`,
      WP_AZURE_RETRY_BASE_MS: "20",
    };
    return () => {
      ctx.home.cleanup();
      rmSync(docker, { recursive: true, force: true });
    };
  });
  const wp = (argv: string[], opts: Parameters<typeof runCli>[1] = {}) =>
    runCli(argv, { ...opts, env: { ...ctx.env, ...opts.env } });
  const prefect = async () => connect(await loadSettings(ctx.env), { env: ctx.env });
  return { ctx, wp, prefect };
}

/** What the simulator holds, counted the way the tests assert "exactly one of everything". */
export function inventory(sim: AzureSim) {
  const s = sim.state;
  const app = s.applications.find((a) => a.displayName === "prefect-aci-push-pool-app");
  const others = s.roleAssignments.filter((a) => a.properties.principalId !== s.caller.objectId);
  return {
    resourceGroups: s.resourceGroups.map((g) => g.name as string),
    apps: s.applications.length,
    secrets: app?.secrets.length ?? 0,
    servicePrincipals: s.servicePrincipals.length,
    registries: s.registries.map((r) => r.name as string),
    identities: s.identities.length,
    roleAssignments: others.map((a) => String(a.properties.roleDefinitionId).split("/").pop()),
  };
}

export const ONE_OF_EVERYTHING = {
  resourceGroups: ["prefect-aci-push-pool-rg"],
  apps: 1,
  secrets: 1,
  servicePrincipals: 1,
  identities: 1,
};
