/**
 * Issue 15 points 9 and 10 for Azure: a rotation interrupted while the old client secret was being deleted
 * leaves that secret (made by wp for this pool, held by no block). `wp status` names it as drift; the next
 * rotation deletes it rather than refusing ("holds 2 client secrets besides the block's"); and a rotation hands
 * the old secret ids to the credential guard as `retire`, so an interruption after the block is written is
 * finished by the next run.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { CredentialGuard } from "../../src/engine/credential.js";
import type { Secret } from "../sim/azure/server.mjs";
import { SUB, useAzure } from "./helpers.js";

const TYPE = "azure-container-instance:push";

describe("client secrets left by an interrupted rotation", () => {
  const { ctx, wp } = useAzure();
  afterEach(() => vi.restoreAllMocks());

  /** A secret wp made for pool `pool` that no block holds (what an interrupted rotation leaves). */
  const leftover = (pool: string, n: number): Secret => ({
    keyId: `00000000-0000-4000-8000-00000000010${n}`,
    displayName: `wp: Prefect work pool ${pool}`,
    hint: `Lf${n}`,
    startDateTime: new Date(Date.now() - 3_600_000).toISOString(),
    endDateTime: new Date(Date.now() + 365 * 86_400_000).toISOString(),
    secretText: `Lf${n}8Q~left-by-an-interrupted-rotation`,
  });

  it("status names them as drift; rotation deletes them instead of refusing, and passes the old ids as retire", async () => {
    const made = await wp(["create", "r", "--type", TYPE, "--provision-infra", "--yes", "--subscription", SUB]);
    expect(made.code, made.stderr).toBe(0);
    const app = ctx.sim.state.applications[0];
    if (!app) throw new Error("no app");
    const blockKey = app.secrets[0]?.keyId;
    app.secrets.push(leftover("r", 1), leftover("r", 2));

    const status = await wp(["status", "r", "-o", "json"]);
    expect(status.code).toBe(1);
    const item = JSON.parse(status.stdout).resources.find(
      (i: { resource: string }) => i.resource === "Credentials block",
    );
    expect(item).toMatchObject({ state: "drift", fix: "wp rotate-credentials r" });
    expect(item.detail).toContain("00000000-0000-4000-8000-000000000101");
    expect(item.detail).toContain("00000000-0000-4000-8000-000000000102");

    const mint = vi.spyOn(CredentialGuard.prototype, "mintInto");
    const rotated = await wp(["rotate-credentials", "r", "--yes"]);
    expect(rotated.code, rotated.stderr).toBe(0);
    // The old secret and both leftovers are retired with the mint.
    const retire = (mint.mock.calls[0] as unknown[] | undefined)?.[3] as string[] | undefined;
    expect([...(retire ?? [])].sort()).toEqual(
      [blockKey, "00000000-0000-4000-8000-000000000101", "00000000-0000-4000-8000-000000000102"].sort(),
    );
    expect(app.secrets).toHaveLength(1);
    expect(app.secrets[0]?.keyId).not.toBe(blockKey);
    expect((await wp(["status", "r"])).code).toBe(0);
  });

  it("a rotation whose old secret could not be deleted is finished by the next wp verify", async () => {
    const made = await wp(["create", "v", "--type", TYPE, "--provision-infra", "--yes", "--subscription", SUB]);
    expect(made.code, made.stderr).toBe(0);
    const app = ctx.sim.state.applications[0];
    if (!app) throw new Error("no app");
    const old = app.secrets[0]?.keyId;
    ctx.sim.faults.fail = (req) =>
      req.method === "POST" && req.path.endsWith("/removePassword") && JSON.stringify(req.body).includes(old ?? "-")
        ? { status: 500, code: "InternalServerError" }
        : undefined;
    const rotated = await wp(["rotate-credentials", "v", "--yes"]);
    expect(app.secrets.map((x) => x.keyId)).toContain(old);
    expect(app.secrets).toHaveLength(2);
    ctx.sim.faults.fail = undefined;
    expect(rotated.stderr).toContain("next wp run");

    expect((await wp(["verify", "v", "--dry-run"])).code).toBe(0);
    expect(app.secrets).toHaveLength(2);
    const verified = await wp(["verify", "v"]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stderr).toContain(`Deleted client secret ${old}`);
    expect(app.secrets.map((x) => x.keyId)).not.toContain(old);
    expect(app.secrets).toHaveLength(1);
    expect((await wp(["status", "v"])).code).toBe(0);
  });

  it("another pool's secrets and secrets made by hand are never leftovers", async () => {
    const made = await wp(["create", "r", "--type", TYPE, "--provision-infra", "--yes", "--subscription", SUB]);
    expect(made.code, made.stderr).toBe(0);
    const app = ctx.sim.state.applications[0];
    if (!app) throw new Error("no app");
    app.secrets.push({ ...leftover("other", 3), displayName: "wp: Prefect work pool other" });
    const status = await wp(["status", "r", "-o", "json"]);
    expect(status.code, status.stdout).toBe(0);
  });
});
