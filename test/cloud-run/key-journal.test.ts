/**
 * Every Cloud Run key is journaled from before its mint until the old one is gone: a lost answer to
 * `serviceAccounts.keys.create` (the key was made, the answer never arrived) leaves no second key,
 * in provisioning and in rotation; a rotation whose old key could not be deleted leaves it to the
 * next run, and `wp status` names it as drift meanwhile.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connect } from "../../src/prefect/client.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { PROJECT, useGcpSim } from "../helpers/gcp-sim.js";
import { runCli } from "../helpers/run-cli.js";

const SA = `prefect-cloud-run@${PROJECT}.iam.gserviceaccount.com`;

describe("Cloud Run keys across lost answers and interrupted rotations", () => {
  const fx = useGcpSim({ operationPolls: 1 });
  const wp = (argv: string[]) => runCli(argv, { env: fx.env });
  const create = (pool: string) =>
    wp(["create", pool, "--type", "cloud-run-v2:push", "--provision-infra", "--yes", "--project", PROJECT]);
  const keyIds = () => (fx.sim.project(PROJECT).keys.get(SA) ?? []).map((k) => k.name?.split("/").pop());
  /** The key file the pool's block holds (with its secret). */
  const blockKey = async (pool: string) => {
    const api = await connect(await loadSettings(fx.env), { env: fx.env });
    try {
      const doc = await api.readBlockDocument("gcp-credentials", `${pool}-push-pool-credentials`, true);
      return ((doc?.data ?? {}) as { service_account_info?: Record<string, string> }).service_account_info ?? {};
    } finally {
      api.close();
    }
  };
  const blockKeyId = async (pool: string) => (await blockKey(pool)).private_key_id;
  const keyCreates = () => fx.sim.log.filter((r) => r.method === "POST" && r.path.endsWith(`${SA}/keys`));

  it("provisioning: a key whose answer was lost is deleted; the re-run leaves exactly the block's key", async () => {
    fx.sim.enable("key-answer-lost");
    const first = await create("lost");
    expect(first.code).not.toBe(0);
    expect(keyCreates()).toHaveLength(1);
    const again = await create("lost");
    expect(again.code, again.stderr).toBe(0);
    expect(keyIds()).toEqual([await blockKeyId("lost")]);
  });

  it("rotation: a lost answer leaves no extra key; the next rotation replaces the old key", async () => {
    expect((await create("rot")).code).toBe(0);
    const before = await blockKeyId("rot");
    fx.sim.enable("key-answer-lost");
    const lost = await wp(["rotate-credentials", "rot", "--yes"]);
    expect(lost.code).not.toBe(0);
    expect(await blockKeyId("rot")).toBe(before);
    const again = await wp(["rotate-credentials", "rot", "--yes"]);
    expect(again.code, again.stderr).toBe(0);
    const after = await blockKeyId("rot");
    expect(after).not.toBe(before);
    expect(keyIds()).toEqual([after]);
  });

  /** A pool whose rotation could not delete the old key (every DELETE of it fails): the old and new key ids. */
  async function rotationLeavingOldKey(pool: string) {
    expect((await create(pool)).code).toBe(0);
    const before = await blockKeyId(pool);
    fx.sim.fail({
      match: (q) => q.method === "DELETE" && q.path.endsWith(`/keys/${before}`),
      status: 500,
      rpc: "INTERNAL",
      message: "Internal error encountered.",
      // The Google client tries a DELETE 4 times: every try fails.
      times: 4,
    });
    const r = await wp(["rotate-credentials", pool, "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(`deleted ${before}`);
    const after = await blockKeyId(pool);
    expect(keyIds().sort()).toEqual([before, after].sort());
    return { before, after };
  }

  it("rotation whose old key could not be deleted: status names it as drift; the next run deletes it", async () => {
    const { before, after } = await rotationLeavingOldKey("old");

    const st = await wp(["status", "old", "-o", "json"]);
    expect(st.code).toBe(1);
    const item = JSON.parse(st.stdout).resources.find((i: { resource: string }) => i.resource === "Credentials block");
    expect(item.state).toBe("drift");
    expect(item.detail).toContain(`delete key ${before} left by an interrupted run`);

    const fixed = await wp(["provision-infra", "old", "--yes", "--project", PROJECT]);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(keyIds()).toEqual([after]);
    expect(JSON.parse((await wp(["status", "old", "-o", "json"])).stdout).healthy).toBe(true);
  });

  it("wp verify finishes such a rotation too (dry run: nothing deleted)", async () => {
    const { before, after } = await rotationLeavingOldKey("ver");

    expect((await wp(["verify", "ver", "--dry-run"])).code).toBe(0);
    expect(keyIds().sort()).toEqual([before, after].sort());
    const v = await runCli(["verify", "ver"], { env: { ...fx.env, WP_VERIFY_POLL_MS: "5" } });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toContain(`Deleted service-account key ${before}`);
    expect(keyIds()).toEqual([after]);
    expect(JSON.parse((await wp(["status", "ver", "-o", "json"])).stdout).healthy).toBe(true);
  });
  it("a key another block holds too (the same key file stored twice) outlives rotation and deprovision", async () => {
    expect((await create("sh")).code).toBe(0);
    const info = await blockKey("sh");
    const oldId = info.private_key_id;
    const file = join(fx.home.dir, "copy.json");
    writeFileSync(file, JSON.stringify(info), { mode: 0o600 });
    expect((await wp(["block", "create", "gcp-credentials", "copy", "--key-file", file, "--yes"])).code).toBe(0);
    rmSync(file);
    const r = await wp(["rotate-credentials", "sh", "--yes", "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Kept the old key ${oldId}: another Prefect block holds it.`);
    expect(JSON.parse(r.stdout).oldId).toBeUndefined();
    expect(keyIds()).toContain(oldId);
    // The pool's own key is deleted with the pool; the copy's stays.
    const d = await wp(["deprovision", "sh", "--yes"]);
    expect(d.code, d.stderr).toBe(0);
    expect(keyIds()).toEqual([oldId]);
  });
});
