/**
 * The ACI pool's whole life through the CLI against the Azure simulator: `wp status` (healthy, then
 * injected drift), `wp deprovision` of two pools that share the resource group, app registration,
 * service principal and identity, and `wp rotate-credentials`.
 */
import { describe, expect, it } from "vitest";
import { inventory, SUB, useAzure } from "../aci/helpers.js";

const TYPE = "azure-container-instance:push";
const BLOCK = "azure-container-instance-credentials";
const CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const ACRPULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d";

interface StatusDoc {
  healthy: boolean;
  source: string;
  resources: Array<{ resource: string; name: string; state: string; detail?: string; fix?: string; id?: string }>;
}

describe("the life of ACI push pools against the Azure simulator", () => {
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
  const create = async (pool: string) => {
    const r = await wp(["create", pool, "--type", TYPE, "--provision-infra", "--yes", "--subscription", SUB]);
    expect(r.code, r.stderr).toBe(0);
  };
  const status = async (pool: string) => {
    const r = await wp(["status", pool, "-o", "json"]);
    return { code: r.code, doc: JSON.parse(r.stdout) as StatusDoc, stderr: r.stderr };
  };
  const item = (doc: StatusDoc, resource: string) => doc.resources.find((i) => i.resource === resource);
  const notOk = (doc: StatusDoc) => doc.resources.filter((i) => i.state !== "ok" && i.state !== "not checked");
  /** Everything tagged for a pool in the simulator. */
  const taggedFor = (pool: string) =>
    [...ctx.sim.state.resourceGroups, ...ctx.sim.state.registries, ...ctx.sim.state.identities]
      .filter((r) => r.tags?.["prefect.io.work-pool"] === pool)
      .map((r) => r.id as string);

  it("two pools sharing group, app and identity: status, deprovision one (the other stays healthy), then the other; nothing tagged remains", async () => {
    await create("a");
    await create("b");
    const inv = inventory(ctx.sim);
    expect(inv.resourceGroups).toEqual(["prefect-aci-push-pool-rg"]);
    expect(inv.apps).toBe(1);
    expect(inv.secrets).toBe(2);
    expect(inv.identities).toBe(1);
    expect(inv.registries).toHaveLength(2);

    const s1 = await status("a");
    expect(notOk(s1.doc)).toEqual([]);
    expect(s1.code).toBe(0);
    expect(s1.doc.healthy).toBe(true);
    expect(s1.doc.source).toBe("record");
    const { data: a } = await block("a");
    expect(item(s1.doc, "Credentials block")?.detail).toContain(`signs in as ${a.client_id}`);
    expect(item(s1.doc, "Credentials block")?.detail).toMatch(/expires \d{4}-\d{2}-\d{2}/);
    expect(s1.doc.resources.map((i) => i.resource)).toEqual(
      expect.arrayContaining([
        "Work pool",
        "Credentials block",
        "Resource group",
        "App registration",
        "Service principal",
        "Role assignment",
        "Container registry",
        "Managed identity",
        "Docker login",
      ]),
    );
    const text = await wp(["status", "a"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("Healthy.");
    expect(text.stdout).not.toContain(a.client_secret);

    // The plan: a's registry and its AcrPull go; the shared group, app and identity stay for b.
    ctx.sim.clearLog();
    const dry = await wp(["deprovision", "a", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/delete Credentials block a-push-pool-credentials/);
    expect(dry.stdout).toMatch(/keep\s+Managed identity prefect-acr-identity .*still used by 'b'/);
    expect(dry.stdout).toMatch(/keep\s+App registration prefect-aci-push-pool-app .*still used by 'b'/);
    expect(dry.stdout).toMatch(/keep\s+Resource group prefect-aci-push-pool-rg .*still used by 'b'/);
    expect(dry.stdout).toContain("Dry run: nothing was deleted.");
    expect(ctx.sim.mutations()).toEqual([]);

    const { data: b } = await block("b");
    const regA = ctx.sim.state.registries.find((r) => r.tags["prefect.io.work-pool"] === "a")?.id;
    const d1 = await wp(["deprovision", "a", "--yes"]);
    expect(d1.stderr).not.toContain("✗");
    expect(d1.code, d1.stderr).toBe(0);
    const app = ctx.sim.state.applications[0];
    expect(app?.secrets.map((s) => s.secretText)).toEqual([b.client_secret]);
    expect(ctx.sim.state.registries.map((r) => r.id)).not.toContain(regA);
    expect(ctx.sim.state.registries).toHaveLength(1);
    expect(ctx.sim.state.identities).toHaveLength(1);
    expect(JSON.parse((await wp(["ls", "-o", "json"])).stdout).map((p: { name: string }) => p.name)).toEqual(["b"]);

    // b is still healthy; the shared resources passed to b's record.
    const s2 = await status("b");
    expect(notOk(s2.doc)).toEqual([]);
    expect(s2.code).toBe(0);
    const vb = await wp(["verify", "b"], { env: { WP_VERIFY_POLL_MS: "10" } });
    expect(vb.code, vb.stderr).toBe(0);
    expect(ctx.sim.state.containerGroups).toEqual([]);

    const d2 = await wp(["deprovision", "b", "--yes", "-o", "json"]);
    expect(d2.code, d2.stderr).toBe(0);
    const report = JSON.parse(d2.stdout);
    // The resources' walk, in reverse dependency order (the Docker login goes with its registry).
    expect(report.results.map((r: { resource: string }) => r.resource)).toEqual([
      "Role assignment",
      "Managed identity",
      "Docker login",
      "Container registry",
      "Role assignment",
      "Credentials block",
      "App registration",
      "Resource group",
      "Provisioning record",
      "Work pool",
    ]);
    expect(taggedFor("a")).toEqual([]);
    expect(taggedFor("b")).toEqual([]);
    const s = ctx.sim.state;
    expect(s.resourceGroups).toEqual([]);
    expect(s.applications).toEqual([]);
    expect(s.servicePrincipals).toEqual([]);
    expect(s.registries).toEqual([]);
    expect(s.identities).toEqual([]);
    const leftRoles = s.roleAssignments
      .filter((x) => x.properties.principalId !== s.caller.objectId)
      .map((x) => String(x.properties.roleDefinitionId).split("/").pop());
    expect(leftRoles.filter((r) => r === CONTRIBUTOR || r === ACRPULL)).toEqual([]);

    // Nothing left, no record: the pool is not found, as for every other command.
    const again = await wp(["deprovision", "b", "--yes"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("Work pool 'b' not found.");
  });

  it("a registry that holds repositories is kept unless --force; a failed deletion, then a re-run, converges", async () => {
    await create("solo");
    const server = ctx.sim.state.registries[0]?.properties.loginServer as string;
    ctx.sim.state.acrRepositories[server] = ["flows"];
    const dry = await wp(["deprovision", "solo", "--dry-run"]);
    expect(dry.stdout).toMatch(/keep\s+Container registry .*holds 1 repository \(--force deletes them\)/);
    // The registry is kept, so the resource group (which holds it) is kept too.
    expect(dry.stdout).toMatch(/keep\s+Resource group prefect-aci-push-pool-rg .*holds 1 other resource/);

    ctx.sim.faults.fail = (r) =>
      r.method === "DELETE" && /\/applications\//i.test(r.path)
        ? { status: 500, code: "InternalServerError" }
        : undefined;
    const failed = await wp(["deprovision", "solo", "--yes", "--force"]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("App registration");
    ctx.sim.faults.fail = undefined;
    const again = await wp(["deprovision", "solo", "--yes", "--force"]);
    expect(again.code, again.stderr).toBe(0);
    expect(taggedFor("solo")).toEqual([]);
    expect(ctx.sim.state.applications).toEqual([]);
    expect(ctx.sim.state.resourceGroups).toEqual([]);
    expect((await wp(["deprovision", "solo", "--yes"])).stderr).toContain("Work pool 'solo' not found.");
  });

  it("rotate-credentials leaves exactly one working secret and an updated block; a deleted or expiring secret is drift", async () => {
    await create("r");
    const before = await block("r");
    const oldKey = ctx.sim.state.applications[0]?.secrets[0]?.keyId;
    const noYes = await wp(["rotate-credentials", "r"]);
    expect(noYes.code).toBe(2);
    const rot = await wp(["rotate-credentials", "r", "--yes", "-o", "json"]);
    expect(rot.code, rot.stderr).toBe(0);
    const after = await block("r");
    expect(after.id).toBe(before.id);
    expect(after.data.client_secret).not.toBe(before.data.client_secret);
    expect(after.data.client_id).toBe(before.data.client_id);
    const secrets = ctx.sim.state.applications[0]?.secrets ?? [];
    expect(secrets.map((s) => s.secretText)).toEqual([after.data.client_secret]);
    const doc = JSON.parse(rot.stdout);
    expect(doc.newId).toBe(secrets[0]?.keyId);
    expect(doc.oldId).toBe(oldKey);
    expect(rot.stdout).not.toContain(after.data.client_secret);
    expect(rot.stderr).not.toContain(after.data.client_secret);
    expect((await status("r")).code).toBe(0);

    // verify: a container group from the pool's template, as the block's identity, deleted after.
    ctx.sim.clearLog();
    const v = await wp(["verify", "r", "-o", "json"], { env: { WP_VERIFY_POLL_MS: "10" } });
    expect(v.code, v.stderr).toBe(0);
    const vr = JSON.parse(v.stdout);
    expect(vr).toMatchObject({ ok: true, exitCode: 0, lastStatus: "Terminated", identity: after.data.client_id });
    expect(vr.logs).toEqual(["wp verify: work pool r can run a container"]);
    expect(vr.cleanedUp.join(" ")).toContain("deleted container group wp-verify-r-");
    expect(ctx.sim.state.containerGroups).toEqual([]);
    const put = ctx.sim.state.log.find((e) => e.method === "PUT" && /containerGroups/.test(e.path));
    expect(put?.body).toMatchObject({
      identity: { type: "UserAssigned" },
      properties: { osType: "Linux", restartPolicy: "Never" },
    });
    expect(v.stdout).not.toContain(after.data.client_secret);
    const vText = await wp(["verify", "r"], { env: { WP_VERIFY_POLL_MS: "10" } });
    expect(vText.code, vText.stderr).toBe(0);
    expect(vText.stdout).toContain("Work pool 'r' can run work.");
    const vDry = await wp(["verify", "r", "--dry-run"]);
    expect(vDry.stdout).toContain("Dry run: nothing was started.");
    expect(vDry.stdout).toContain("  logs read from the container's logs (Azure Container Instances)\n");
    expect(ctx.sim.state.containerGroups).toEqual([]);
    // Without Contributor on the group, the refused action is named and nothing is left behind.
    const s0 = ctx.sim.state;
    const sp = s0.servicePrincipals[0]?.id;
    const contributor = s0.roleAssignments.filter((x) => x.properties.principalId === sp);
    s0.roleAssignments = s0.roleAssignments.filter((x) => x.properties.principalId !== sp);
    const denied = await wp(["verify", "r"], { env: { WP_VERIFY_POLL_MS: "10" } });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(
      `The block's identity ${after.data.client_id} is not allowed Microsoft.ContainerInstance/containerGroups/write`,
    );
    expect(s0.containerGroups).toEqual([]);
    s0.roleAssignments.push(...contributor);

    // Refused when the app already holds two secrets besides the block's.
    const app = ctx.sim.state.applications[0];
    if (!app) throw new Error("no app");
    const extra = (n: string) => ({
      keyId: `00000000-0000-4000-8000-00000000000${n}`,
      displayName: "by hand",
      hint: `zz${n}`,
      startDateTime: new Date().toISOString(),
      endDateTime: new Date(Date.now() + 365 * 86_400_000).toISOString(),
      secretText: `zz${n}8Q~not-the-block-secret`,
    });
    app.secrets.push(extra("1"), extra("2"));
    const refused = await wp(["rotate-credentials", "r", "--yes"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("besides the block's");
    expect(app.secrets).toHaveLength(3);
    app.secrets = app.secrets.filter((s) => !s.hint.startsWith("zz"));

    // Expiring within 30 days: drift.
    const mine = app.secrets[0];
    if (!mine) throw new Error("no secret");
    mine.endDateTime = new Date(Date.now() + 5 * 86_400_000).toISOString();
    const expiring = await status("r");
    expect(expiring.code).toBe(1);
    expect(item(expiring.doc, "Credentials block")).toMatchObject({ state: "drift", fix: "wp rotate-credentials r" });
    expect(item(expiring.doc, "Credentials block")?.detail).toContain("within 30 days");

    // The block's secret deleted in the cloud: reported.
    app.secrets = [];
    const gone = await status("r");
    expect(gone.code).toBe(1);
    expect(gone.doc.healthy).toBe(false);
    expect(item(gone.doc, "Credentials block")).toMatchObject({ state: "drift", fix: "wp rotate-credentials r" });
    expect(item(gone.doc, "Credentials block")?.detail).toContain("deleted in the cloud?");
    const text = await wp(["status", "r"]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain("deleted in the cloud?");

    // Block deleted: the template points at a missing block.
    const api = await prefect();
    try {
      await api.deleteBlockDocument(after.id);
    } finally {
      api.close();
    }
    const noBlock = await status("r");
    expect(noBlock.code).toBe(1);
    expect(item(noBlock.doc, "Credentials block")?.state).toBe("missing");
  });
});
