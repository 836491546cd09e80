/**
 * The record rule and the sharing rule, through the CLI on the embedded API (Modal pools: no cloud
 * needed): a re-run takes names from the pool's record; a flag that contradicts the record is exit 2
 * unless --overwrite; a credentials block another live pool's template references is kept and handed
 * over; `wp deprovision` of a pool that does not exist is "not found".
 */
import { beforeEach, describe, expect, it } from "vitest";
import { connect } from "../../src/prefect/client.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { makeHome, runCli } from "../helpers/run-cli.js";

describe("the pool's record is the source of its names; sharing is counted", () => {
  let home: ReturnType<typeof makeHome>;
  beforeEach(() => {
    home = makeHome();
    return () => home.cleanup();
  });
  const modal = { MODAL_TOKEN_ID: "ak-1", MODAL_TOKEN_SECRET: "as-secret-value-1" };
  const wp = (argv: string[]) => runCli(argv, { env: { ...home.env, ...modal } });
  async function blocks(): Promise<string[]> {
    const api = await connect(await loadSettings(home.env), { env: home.env });
    try {
      return (await api.listBlockDocuments("modal-credentials")).map((b) => b.name ?? "").sort();
    } finally {
      api.close();
    }
  }

  it("provision-infra and status use the record's block name; a contradicting flag is exit 2 unless --overwrite", async () => {
    const made = await wp([
      "create",
      "m",
      "-t",
      "modal:push",
      "--provision-infra",
      "--credentials-block-name",
      "own-b",
      "--yes",
    ]);
    expect(made.code, made.stderr).toBe(0);
    // The fix `wp status` would print, on a healthy pool: nothing to do, nothing new.
    const again = await wp(["provision-infra", "m", "--yes", "-o", "json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).results.every((r: { status: string }) => r.status === "exists")).toBe(true);
    expect(await blocks()).toEqual(["own-b"]);
    const st = JSON.parse((await wp(["status", "m", "-o", "json"])).stdout);
    expect(st.resources.find((r: { resource: string }) => r.resource === "Modal credentials block").name).toBe("own-b");

    const contra = await wp(["provision-infra", "m", "--credentials-block-name", "other-b", "--yes"]);
    expect(contra.code).toBe(2);
    expect(contra.stderr.trim().split("\n")).toHaveLength(1);
    expect(contra.stderr).toContain("--credentials-block-name 'other-b' contradicts the pool's provisioning record");
    expect(contra.stderr).toContain("'own-b'");
    expect(contra.stderr).toContain("--overwrite");
    expect(await blocks()).toEqual(["own-b"]);

    const over = await wp(["provision-infra", "m", "--credentials-block-name", "other-b", "--overwrite", "--yes"]);
    expect(over.code, over.stderr).toBe(0);
    expect(await blocks()).toEqual(["other-b", "own-b"]);
    // The record now names the new block: a plain re-run keeps it.
    expect((await wp(["provision-infra", "m", "--yes"])).code).toBe(0);
    expect(await blocks()).toEqual(["other-b", "own-b"]);
  });

  it("a block another pool's template references is kept, handed over, and deleted with the last pool", async () => {
    expect((await wp(["create", "ga", "-t", "modal:push", "--provision-infra", "--yes"])).code).toBe(0);
    const gb = await wp([
      "create",
      "gb",
      "-t",
      "modal:push",
      "--provision-infra",
      "--credentials-block-name",
      "ga-modal-credentials",
      "--yes",
    ]);
    expect(gb.code, gb.stderr).toBe(0);
    const first = await wp(["deprovision", "ga", "--yes", "-o", "json"]);
    expect(first.code, first.stderr).toBe(0);
    const plan = JSON.parse(first.stdout).plan;
    expect(plan.find((i: { step: string }) => i.step === "prefect.credentials-block")).toMatchObject({
      action: "keep",
      usedBy: ["gb"],
    });
    expect(await blocks()).toEqual(["ga-modal-credentials"]);
    expect((await wp(["status", "gb"])).code).toBe(0);
    const last = await wp(["deprovision", "gb", "--yes", "-o", "json"]);
    expect(last.code, last.stderr).toBe(0);
    expect(await blocks()).toEqual([]);
  });

  it("deprovision of a pool that does not exist says so, like every other command", async () => {
    const typo = await wp(["deprovision", "no-such-pool", "--yes"]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain("Work pool 'no-such-pool' not found.");
    expect(typo.stdout).toBe("");
  });
});

describe("empty flag values", () => {
  let home: ReturnType<typeof makeHome>;
  beforeEach(() => {
    home = makeHome();
    return () => home.cleanup();
  });

  it.each([
    [["create", "e", "-t", "ecs:push", "--provision-infra", "--region", "", "--dry-run"], "--region is empty."],
    [
      ["create", "e", "-t", "cloud-run:push", "--provision-infra", "--project", "  ", "--dry-run"],
      "--project is empty.",
    ],
    [
      ["create", "e", "-t", "azure-container-instance:push", "--provision-infra", "--location", "", "--dry-run"],
      "--location is empty.",
    ],
    [
      ["create", "e", "-t", "azure-container-instance:push", "--provision-infra", "--subscription", "", "--dry-run"],
      "--subscription is empty.",
    ],
    [
      ["create", "e", "-t", "modal:push", "--provision-infra", "--modal-profile", "", "--yes"],
      "--modal-profile is empty.",
    ],
    [["status", "e", "--region", ""], ""],
  ])("%j is refused, never replaced by the default", async (argv, message) => {
    const r = await runCli(argv, {
      env: { ...home.env, AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "x" },
    });
    expect(r.code).toBe(message ? 2 : 1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(message || "not found");
  });
});
