/**
 * Modal and Coiled pools through the CLI on the embedded API: the record, `wp status` (the block
 * present, its token "not checked"), `wp rotate-credentials` re-reading the local token, and
 * `wp deprovision`.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { connect } from "../../src/prefect/client.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { makeHome, runCli } from "../helpers/run-cli.js";

describe("the life of Modal and Coiled push pools", () => {
  let home: ReturnType<typeof makeHome>;
  beforeEach(() => {
    home = makeHome();
    return () => home.cleanup();
  });
  const wp = (argv: string[], env: Record<string, string> = {}) => runCli(argv, { env: { ...home.env, ...env } });
  const modal = { MODAL_TOKEN_ID: "ak-first", MODAL_TOKEN_SECRET: "as-first-secret-value" };
  async function blockData(slug: string, name: string) {
    const api = await connect(await loadSettings(home.env), { env: home.env });
    try {
      return (await api.readBlockDocument(slug, name, true))?.data as Record<string, string> | undefined;
    } finally {
      api.close();
    }
  }

  it("modal: status, rotate from the local token, deprovision", async () => {
    expect((await wp(["create", "m", "--type", "modal:push", "--provision-infra", "--yes"], modal)).code).toBe(0);
    const st = await wp(["status", "m", "-o", "json"]);
    expect(st.code).toBe(0);
    const doc = JSON.parse(st.stdout);
    expect(doc.source).toBe("record");
    expect(doc.resources.map((r: { resource: string; state: string }) => [r.resource, r.state])).toEqual([
      ["Work pool", "ok"],
      ["Modal credentials block", "not checked"],
    ]);
    const text = await wp(["status", "m"]);
    expect(text.stdout).toMatch(/\? not checked\s+Modal credentials block m-modal-credentials/);
    expect(text.stdout).not.toContain("as-first-secret-value");

    const next = { MODAL_TOKEN_ID: "ak-second", MODAL_TOKEN_SECRET: "as-second-secret-value" };
    expect((await wp(["rotate-credentials", "m"], next)).code).toBe(2);
    const r = await wp(["rotate-credentials", "m", "--yes"], next);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain("as-second-secret-value");
    expect(await blockData("modal-credentials", "m-modal-credentials")).toEqual({
      token_id: "ak-second",
      token_secret: "as-second-secret-value",
    });

    const d = await wp(["deprovision", "m", "--yes", "-o", "json"]);
    expect(d.code, d.stderr).toBe(0);
    expect(JSON.parse(d.stdout).results.map((x: { resource: string }) => x.resource)).toEqual([
      "Modal credentials block",
      "Provisioning record",
      "Work pool",
    ]);
    expect(await blockData("modal-credentials", "m-modal-credentials")).toBeUndefined();
    // Everything is gone: the pool is not found, as for every other command (no pool, no record).
    const after = await wp(["deprovision", "m", "--yes"]);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain("Work pool 'm' not found.");
  });

  it("coiled: a block wp did not create is kept; status reports a template pointing at no block", async () => {
    const token = { DASK_COILED__TOKEN: "coiled-token-value-1234" };
    expect((await wp(["create", "c", "--type", "coiled:push", "--provision-infra", "--yes"], token)).code).toBe(0);
    // A second pool reusing the block (adopted, not created, by it).
    expect(
      (
        await wp(
          [
            "create",
            "c2",
            "--type",
            "coiled:push",
            "--provision-infra",
            "--yes",
            "--credentials-block-name",
            "c-coiled-credentials",
          ],
          token,
        )
      ).code,
    ).toBe(0);
    const dry = await wp(["deprovision", "c2", "--dry-run"]);
    expect(dry.stdout).toMatch(/keep\s+Coiled credentials block c-coiled-credentials .*adopted/);
    expect((await wp(["status", "c2"])).code).toBe(0);

    const plain = await wp(["create", "bare", "--type", "coiled:push"]);
    expect(plain.code).toBe(0);
    const st = await wp(["status", "bare", "-o", "json"]);
    expect(st.code).toBe(1);
    const block = JSON.parse(st.stdout).resources.find(
      (x: { resource: string }) => x.resource === "Coiled credentials block",
    );
    expect(block).toMatchObject({ state: "missing", fix: "wp provision-infra bare" });
  });

  it("bad input is one line and exit 2; a pool of a type wp does not manage is refused", async () => {
    const empty = await wp(["status", ""]);
    expect(empty.code).toBe(2);
    expect(empty.stderr.trim().split("\n")).toHaveLength(1);
    expect((await wp(["create", "proc", "--type", "process"])).code).toBe(0);
    const proc = await wp(["status", "proc"]);
    expect(proc.code).toBe(2);
    expect(proc.stderr).toContain("'process' pool");
    expect((await wp(["status", "nope"])).stderr).toContain("Work pool 'nope' not found.");
    expect((await wp(["verify", "x", "--timeout", "soon"])).code).toBe(2);
    expect((await wp(["deprovision", "x", "-o", "xml"])).code).toBe(2);
  });
});
