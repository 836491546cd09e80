/**
 * `wp create … --type azure-container-instance:push --provision-infra` end to end through the CLI: the
 * embedded Prefect API, the real Azure SDKs and @azure/identity against the HTTPS simulator, a temp
 * Docker config.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunResult } from "../helpers/run-cli.js";
import { scriptedPrompter } from "../helpers/run-cli.js";
import { inventory, ONE_OF_EVERYTHING, SUB, useAzure } from "./helpers.js";

const TYPE = "azure-container-instance:push";
const BLOCK = "azure-container-instance-credentials";

describe("wp create --type azure-container-instance:push --provision-infra against the Azure simulator", () => {
  const { ctx, wp, prefect } = useAzure();

  async function block(pool: string) {
    const api = await prefect();
    try {
      const doc = await api.readBlockDocument(BLOCK, `${pool}-push-pool-credentials`, true);
      return { id: doc?.id ?? "", data: (doc?.data ?? {}) as Record<string, string> };
    } finally {
      api.close();
    }
  }

  const create = (pool: string, extra: string[] = [], opts: Parameters<typeof wp>[1] = {}) =>
    wp(["create", pool, "--type", TYPE, "--provision-infra", "--yes", ...extra], opts);

  function expectNoSecret(r: RunResult, secret: string) {
    expect(secret.length).toBeGreaterThan(16);
    expect(r.stdout).not.toContain(secret);
    expect(r.stderr).not.toContain(secret);
  }

  it("a fresh subscription gets all of Prefect's resources, the five template values and a working secret; a re-run changes nothing", async () => {
    const r = await create("a", ["--subscription", SUB]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Azure subscription Sim Subscription (${SUB}), location eastus`);
    expect(r.stdout).toContain("Created work pool 'a'!");
    const inv = inventory(ctx.sim);
    expect(inv).toMatchObject(ONE_OF_EVERYTHING);
    expect(inv.registries).toHaveLength(1);
    expect(inv.registries[0]).toMatch(/^prefect\d{10}[a-z0-9]{4}$/);
    expect([...inv.roleAssignments].sort()).toEqual(
      ["7f951dda-4ed3-4680-a7ca-43fe172d538d", "b24988ac-6180-42a0-ab88-20f7382dd24c"].sort(),
    );

    const s = ctx.sim.state;
    const app = s.applications[0]!;
    const sp = s.servicePrincipals[0]!;
    const registry = s.registries[0]!;
    const identity = s.identities[0]!;
    // Contributor on the group for the service principal, AcrPull on the registry for the identity.
    const rgScope = `/subscriptions/${SUB}/resourceGroups/prefect-aci-push-pool-rg`;
    const byRole = (id: string) => s.roleAssignments.find((a) => String(a.properties.roleDefinitionId).endsWith(id));
    expect(byRole("b24988ac-6180-42a0-ab88-20f7382dd24c")?.properties).toMatchObject({
      scope: rgScope,
      principalId: sp.id,
      principalType: "ServicePrincipal",
    });
    expect(byRole("7f951dda-4ed3-4680-a7ca-43fe172d538d")?.properties).toMatchObject({
      scope: registry.id,
      principalId: identity.properties.principalId,
    });
    expect(registry.sku.name).toBe("Basic");
    for (const res of [s.resourceGroups[0], registry, identity]) {
      expect(res.tags).toEqual({ "prefect.io.work-pool": "a", "managed-by": "wp" });
    }

    // The block holds the app's client id, the tenant and the secret, which signs in.
    const { id, data } = await block("a");
    expect(data.client_id).toBe(app.appId);
    expect(data.tenant_id).toBe(s.tenantId);
    expect(app.secrets.map((x) => x.secretText)).toEqual([data.client_secret]);
    expectNoSecret(r, data.client_secret ?? "");

    const pool = JSON.parse((await wp(["inspect", "a", "-o", "json"])).stdout);
    const props = pool.base_job_template.variables.properties;
    expect(props.aci_credentials.default).toEqual({ $ref: { block_document_id: id } });
    expect(props.resource_group_name.default).toBe("prefect-aci-push-pool-rg");
    expect(props.subscription_id.default).toBe(SUB);
    expect(props.image_registry.default).toEqual({
      registry_url: registry.properties.loginServer,
      identity: identity.id,
    });
    expect(props.identities.default).toEqual([identity.id]);

    const profiles = readFileSync(join(ctx.env.PREFECT_HOME ?? "", "profiles.toml"), "utf8");
    expect(profiles).toContain(
      `PREFECT_DEPLOYMENTS_DEFAULT_DOCKER_BUILD_NAMESPACE = "${registry.properties.loginServer}"`,
    );
    const docker = JSON.parse(readFileSync(join(ctx.env.DOCKER_CONFIG ?? "", "config.json"), "utf8"));
    const auth = Buffer.from(docker.auths[registry.properties.loginServer].auth, "base64").toString();
    expect(auth.startsWith("00000000-0000-0000-0000-000000000000:")).toBe(true);

    ctx.sim.clearLog();
    const again = await create("a", ["--subscription", "Sim Subscription", "-o", "json"]);
    expect(again.code, again.stderr).toBe(0);
    const doc = JSON.parse(again.stdout);
    expect(doc.plan.filter((p: { action: string }) => p.action !== "exists")).toEqual([]);
    expect(ctx.sim.mutations()).toEqual([]);
    expect(ctx.sim.state.log.some((e) => e.path.endsWith("/oauth2/exchange"))).toBe(false);
    expect(inventory(ctx.sim)).toEqual(inv);
    expect(doc.pool.id).toBe(pool.id);
    expectNoSecret(again, data.client_secret ?? "");

    // An ACR refresh token lasts hours: an expired one stored by wp is renewed (a local change only).
    const server = registry.properties.loginServer;
    const expired = `e30.${Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) - 60 })).toString("base64url")}.x`;
    docker.auths[server].auth = Buffer.from(`00000000-0000-0000-0000-000000000000:${expired}`).toString("base64");
    writeFileSync(join(ctx.env.DOCKER_CONFIG ?? "", "config.json"), JSON.stringify(docker));
    ctx.sim.clearLog();
    const renew = await create("a", ["-o", "json"]);
    expect(renew.code, renew.stderr).toBe(0);
    const renewed = JSON.parse(renew.stdout);
    expect(
      renewed.plan.filter((p: { action: string }) => p.action !== "exists").map((p: { id: string }) => p.id),
    ).toEqual(["docker.acr-login"]);
    expect(ctx.sim.mutations()).toEqual([]);
    const fresh = JSON.parse(readFileSync(join(ctx.env.DOCKER_CONFIG ?? "", "config.json"), "utf8"));
    expect(fresh.auths[server].auth).not.toBe(docker.auths[server].auth);
  });

  it("refuses before any write when the app already has two secrets and the block is missing", async () => {
    const first = await create("a");
    expect(first.code, first.stderr).toBe(0);
    const app = ctx.sim.state.applications[0]!;
    // Another secret made outside wp: the app now has two, and pool b's block would need a third.
    app.secrets.push({
      ...app.secrets[0]!,
      keyId: "0f0e0d0c-0b0a-4909-8807-060504030201",
      secretText: "other",
      hint: "oth",
    });
    ctx.sim.clearLog();
    const r = await create("b");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("already has 2 client secrets");
    expect(r.stderr).toContain("b-push-pool-credentials");
    expect(ctx.sim.mutations()).toEqual([]);
    expect(app.secrets).toHaveLength(2);
    expect(JSON.parse((await wp(["ls", "-o", "json"])).stdout).map((p: { name: string }) => p.name)).toEqual(["a"]);
  });

  it("a second pool reuses the app with its own secret and block, and its own tagged registry", async () => {
    expect((await create("a")).code).toBe(0);
    const r = await create("b");
    expect(r.code, r.stderr).toBe(0);
    const inv = inventory(ctx.sim);
    expect(inv.apps).toBe(1);
    expect(inv.secrets).toBe(2);
    expect(inv.registries).toHaveLength(2);
    expect(inv.identities).toBe(1);
    const [a, b] = [await block("a"), await block("b")];
    expect(a.data.client_secret).not.toBe(b.data.client_secret);
  });

  it("a prefect* registry in another resource group, or untagged in this one, is not adopted", async () => {
    // Made by someone else: one in another group, one untagged in the pool's group.
    const env = ctx.env;
    const setup = await create("seed", ["--resource-group", "other-rg", "--credentials-block-name", "seed-block"]);
    expect(setup.code, setup.stderr).toBe(0);
    const foreign = ctx.sim.state.registries[0]!;
    expect(foreign.id).toContain("/resourceGroups/other-rg/");
    foreign.tags = {};
    expect((await create("p", ["--dry-run"], { env })).stdout).toContain("+ create  Container registry");
    const r = await create("p");
    expect(r.code, r.stderr).toBe(0);
    const mine = ctx.sim.state.registries.filter((x) => x.id.includes("/resourceGroups/prefect-aci-push-pool-rg/"));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.name).not.toBe(foreign.name);
    const pool = JSON.parse((await wp(["inspect", "p", "-o", "json"])).stdout);
    expect(pool.base_job_template.variables.properties.image_registry.default.registry_url).toBe(
      mine[0]!.properties.loginServer,
    );
    // Untag the pool's own registry: the next run makes a new one rather than guess.
    mine[0]!.tags = {};
    const plan = await create("p", ["--dry-run", "--overwrite"]);
    expect(plan.stdout, plan.stderr).toContain("+ create  Container registry");
    // Named by flag, a registry is used as it is.
    const named = await create("p", ["--registry-name", foreign.name, "--resource-group", "other-rg", "--overwrite"]);
    expect(named.code, named.stderr).toBe(0);
    const after = JSON.parse((await wp(["inspect", "p", "-o", "json"])).stdout);
    expect(after.base_job_template.variables.properties.image_registry.default.registry_url).toBe(
      foreign.properties.loginServer,
    );
  });

  it("replication delays of new principals are retried: Graph (addPassword, servicePrincipals) and role assignments", async () => {
    ctx.sim.faults.principalLag = 2;
    ctx.sim.faults.graphLag = 1;
    const r = await create("a");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("waiting for Azure to replicate the new principal");
    expect(
      ctx.sim.state.log.filter((e) => e.status === 400 && e.path.includes("roleAssignments")).length,
    ).toBeGreaterThanOrEqual(2);
    expect(inventory(ctx.sim)).toMatchObject(ONE_OF_EVERYTHING);
  });

  it("the registry's long-running create is polled with a progress note", async () => {
    ctx.sim.faults.registryPolls = 3;
    const r = await create("a");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("(this may take a few minutes)");
    expect(r.stderr).toMatch(/Container registry prefect\w+: \w+; polling until it is ready/);
    expect(ctx.sim.state.log.filter((e) => e.path.startsWith("/sim/operations/")).length).toBe(3);
  });

  it("a missing Graph permission is caught by the preflight: the plan names the steps and roles, nothing is written", async () => {
    ctx.sim.state.caller.graphRoles = [];
    const r = await create("a");
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("lacks 3 permissions this plan needs, so nothing was changed");
    // Every Graph write of the plan at once: the app, its principal, the client secret.
    expect(r.stderr).toContain("on App registration prefect-aci-push-pool-app");
    expect(r.stderr).toContain("on Service principal prefect-aci-push-pool-app");
    expect(r.stderr).toContain("on Client secret prefect-aci-push-pool-app");
    expect(r.stderr).toContain("Application Administrator");
    expect(r.stderr).toContain("Application.ReadWrite.All");
    expect(ctx.sim.mutations()).toEqual([]);
    expect(JSON.parse((await wp(["ls", "-o", "json"])).stdout)).toEqual([]);
  });

  it("a missing right to assign roles is caught by the preflight too", async () => {
    ctx.sim.state.roleAssignments = ctx.sim.state.roleAssignments.map((a) => ({
      ...a,
      properties: {
        ...a.properties,
        roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c`,
      },
    }));
    const r = await create("a");
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(
      `Microsoft.Authorization/roleAssignments/write on /subscriptions/${SUB}/resourceGroups/prefect-aci-push-pool-rg`,
    );
    expect(r.stderr).toContain("User Access Administrator");
    expect(r.stderr).not.toContain("Microsoft Graph");
    expect(r.stderr).not.toContain("resourceGroups/write");
    expect(ctx.sim.mutations()).toEqual([]);
  });

  it("a Reader is refused once, with every missing write of the plan listed", async () => {
    const reader = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`;
    ctx.sim.state.roleAssignments = ctx.sim.state.roleAssignments.map((a) => ({
      ...a,
      properties: { ...a.properties, roleDefinitionId: reader },
    }));
    const r = await create("a");
    expect(r.code).toBe(4);
    for (const action of [
      "Microsoft.Resources/subscriptions/resourceGroups/write",
      "Microsoft.ContainerRegistry/registries/write",
      "Microsoft.ManagedIdentity/userAssignedIdentities/write",
      "Microsoft.Authorization/roleAssignments/write",
    ])
      expect(r.stderr).toContain(action);
    expect(r.stderr).toContain("--print-permissions");
    expect(ctx.sim.mutations()).toEqual([]);
  });

  it("decline, --dry-run and no terminal without --yes create nothing, not even the pool", async () => {
    const dry = await wp(["create", "d", "--type", TYPE, "--provision-infra", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("+ create  App registration");
    expect(dry.stdout).toContain("Dry run: nothing was changed.");
    const declined = await wp(["create", "d", "--type", TYPE, "--provision-infra"], {
      tty: true,
      prompter: scriptedPrompter([false, false]),
    });
    expect(declined.code).toBe(1);
    expect(declined.stderr).toContain("Provisioning cancelled; nothing was created.");
    const piped = await wp(["create", "d", "--type", TYPE, "--provision-infra"]);
    expect(piped.code).toBe(2);
    expect(piped.stderr).toContain("Pass --yes to apply it");
    expect(ctx.sim.mutations()).toEqual([]);
    expect(JSON.parse((await wp(["ls", "-o", "json"])).stdout)).toEqual([]);
  });

  it("the client secret is never in stdout, stderr, --debug output, a helper's argv or any file but the block store", async () => {
    // A Docker credential helper that records its argv and stdin.
    const bin = join(ctx.home.dir, "bin");
    mkdirSync(bin);
    const helper = join(bin, "docker-credential-wptest");
    writeFileSync(
      helper,
      `#!/bin/sh\necho "$0 $*" >> "${ctx.home.dir}/helper-argv.log"\ncat >> "${ctx.home.dir}/helper-stdin.log"\necho '{}'\n`,
    );
    chmodSync(helper, 0o755);
    writeFileSync(join(ctx.env.DOCKER_CONFIG ?? "", "config.json"), JSON.stringify({ credsStore: "wptest" }));
    const started = Date.now();
    const r = await create("a", ["--debug"], { env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(r.code, r.stderr).toBe(0);
    const secret = (await block("a")).data.client_secret ?? "";
    expectNoSecret(r, secret);
    // The ACR refresh token went to the helper on stdin, never in its argv.
    const argv = readFileSync(join(ctx.home.dir, "helper-argv.log"), "utf8");
    const stdin = readFileSync(join(ctx.home.dir, "helper-stdin.log"), "utf8");
    const stored = JSON.parse(stdin.slice(stdin.indexOf('{"ServerURL"')).split("\n")[0] ?? "{}");
    expect(stored.Username).toBe("00000000-0000-0000-0000-000000000000");
    expect(stored.Secret.length).toBeGreaterThan(20);
    expect(argv).not.toContain(stored.Secret);
    expect(argv).not.toContain(secret);
    expect(stdin).not.toContain(secret);
    // No file wp wrote holds the secret, except the embedded API's database (the block store itself).
    const files = [...walk(ctx.home.dir), ...walk(tmpdir(), started)].filter(
      (f) => !/\.db(-wal|-shm|-journal)?$/.test(f),
    );
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      let text = "";
      try {
        text = readFileSync(f, "latin1");
      } catch {
        continue; // another user's file
      }
      expect(text.includes(secret), f).toBe(false);
    }
  });

  it("provision-infra on an existing pool fills in its template", async () => {
    expect((await wp(["create", "later", "--type", TYPE])).code).toBe(0);
    const r = await wp(["provision-infra", "later", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Provisioned infrastructure for work pool 'later'.");
    const pool = JSON.parse((await wp(["inspect", "later", "-o", "json"])).stdout);
    expect(pool.base_job_template.variables.properties.resource_group_name.default).toBe("prefect-aci-push-pool-rg");
    expectNoSecret(r, (await block("later")).data.client_secret ?? "");
  });

  it("--provision-infra works for the pull type azure-container-instance too", async () => {
    const r = await wp(["create", "pull", "--type", "azure-container-instance", "--provision-infra", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("prefect worker start --pool pull");
    const pool = JSON.parse((await wp(["inspect", "pull", "-o", "json"])).stdout);
    expect(pool.type).toBe("azure-container-instance");
    const props = pool.base_job_template.variables.properties;
    expect(props.subscription_id.default).toBe(SUB);
    expect(props.identities.default).toHaveLength(1);
    expect(props.aci_credentials.default.$ref.block_document_id).toBe((await block("pull")).id);
  });

  it("custom names on a terminal, as Prefect's prompts offer", async () => {
    const answers = [true, "my-rg", "my-app", "myacr", "my-identity", "my-block", true];
    const prompter = scriptedPrompter(answers);
    const r = await wp(["create", "c", "--type", TYPE, "--provision-infra"], { tty: true, prompter });
    expect(r.code, r.stderr).toBe(0);
    expect(prompter.asked).toContain("Please enter a prefix for the Azure Container Registry");
    const s = ctx.sim.state;
    expect(s.resourceGroups.map((g) => g.name)).toEqual(["my-rg"]);
    expect(s.applications.map((a) => a.displayName)).toEqual(["my-app"]);
    expect(s.registries[0]!.name).toMatch(/^myacr\d{10}/);
    expect(s.identities[0]!.name).toBe("my-identity");
    const api = await prefect();
    try {
      expect(await api.readBlockDocument(BLOCK, "my-block")).not.toBeNull();
    } finally {
      api.close();
    }
  });

  it("a wrong client secret for the signed-in principal is an authentication error (exit 4), not a cloud failure", async () => {
    const r = await create("a", [], { env: { AZURE_CLIENT_SECRET: "not-the-secret-of-the-caller" } });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("Could not sign in to Azure");
    expect(r.stderr).toContain("AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET");
    expect(r.stderr).not.toContain("not-the-secret-of-the-caller");
    expect(ctx.sim.mutations()).toEqual([]);
  });

  it("Graph throttling (429 with Retry-After) is waited out", async () => {
    let throttled = 0;
    ctx.sim.faults.fail = (req) =>
      req.method === "POST" && req.path === "/graph/v1.0/applications" && throttled++ < 2
        ? { status: 429, code: "TooManyRequests", retryAfter: 0 }
        : undefined;
    const r = await create("a");
    expect(r.code, r.stderr).toBe(0);
    expect(throttled).toBe(3);
    expect(inventory(ctx.sim)).toMatchObject(ONE_OF_EVERYTHING);
  });

  it("bad names and unknown locations exit 2 before any request", async () => {
    for (const [flag, value, text] of [
      ["--registry-name-prefix", "pre-fix", "Registry name prefix 'pre-fix' is not valid"],
      ["--registry-name-prefix", "a".repeat(37), "must be 1–36 characters long"],
      ["--registry-name", "abc", "Registry name 'abc' is not valid"],
      ["--resource-group", "ends-with.", "must not end with a period"],
      ["--identity-name", "-bad", "Identity name '-bad' is not valid"],
      ["--location", "atlantis", "Location 'atlantis' is not a known Azure region"],
    ] as const) {
      const r = await create("a", [flag, value]);
      expect(r.code, `${flag} ${value}`).toBe(2);
      expect(r.stderr).toContain(text);
    }
    expect(ctx.sim.state.log).toEqual([]);
  });
});

describe("choosing the subscription", () => {
  const { ctx, wp } = useAzure({
    subscriptions: [
      { id: "00000000-1111-2222-3333-444444444444", name: "Sim Subscription" },
      { id: "99999999-8888-7777-6666-555555555555", name: "Other" },
    ],
  });

  it("without a terminal several subscriptions need --subscription (exit 2 listing them); by name or id it works", async () => {
    const r = await wp(["create", "a", "--type", TYPE, "--provision-infra", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Sim Subscription (00000000-1111-2222-3333-444444444444)");
    expect(r.stderr).toContain("Other (99999999-8888-7777-6666-555555555555)");
    expect(ctx.sim.mutations()).toEqual([]);
    const missing = await wp(["create", "a", "--type", TYPE, "--provision-infra", "--yes", "--subscription", "nope"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("No Azure subscription nope");
    const ok = await wp([
      "create",
      "a",
      "--type",
      TYPE,
      "--provision-infra",
      "--yes",
      "--subscription",
      "other",
      "--dry-run",
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("Azure subscription Other (99999999-8888-7777-6666-555555555555), location eastus");
  });

  it("on a terminal, Prefect's picker shows name and id", async () => {
    const asked: Array<{ message: string; labels: string[] }> = [];
    const base = scriptedPrompter([false, true]);
    const order: string[] = [];
    const prompter = {
      ...base,
      confirm: (message: string, dflt: boolean) => {
        order.push(message);
        return base.confirm(message, dflt);
      },
      select: async <T>(message: string, choices: Array<{ label: string; hint?: string; value: T }>) => {
        order.push(message);
        asked.push({ message, labels: choices.map((c) => `${c.label} ${c.hint}`) });
        return choices[1]!.value;
      },
    };
    const r = await wp(["create", "a", "--type", TYPE, "--provision-infra", "--location", "westeurope"], {
      tty: true,
      prompter,
    });
    expect(r.code, r.stderr).toBe(0);
    // As Prefect asks: the subscription first, then whether to customise the names.
    expect(order[0]).toBe("Please select which Azure subscription to use:");
    expect(order[1]).toMatch(/^Would you like to customize the resource names/);
    expect(asked[0]?.labels).toEqual([
      "Sim Subscription 00000000-1111-2222-3333-444444444444",
      "Other 99999999-8888-7777-6666-555555555555",
    ]);
    expect(ctx.sim.state.resourceGroups[0]).toMatchObject({
      id: "/subscriptions/99999999-8888-7777-6666-555555555555/resourceGroups/prefect-aci-push-pool-rg",
      location: "westeurope",
    });
  });
});

function* walk(dir: string, since = 0, depth = 0): Generator<string> {
  if (depth > 5) return;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const p = join(dir, n);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) yield* walk(p, since, depth + 1);
    else if (st.isFile() && st.mtimeMs >= since && st.size < 5_000_000) yield p;
  }
}
