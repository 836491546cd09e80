/**
 * `wp block create coiled-credentials` from where Coiled users keep their token (dask's config, as `coiled login`
 * writes it, or DASK_COILED__TOKEN), inspect with the token masked as Prefect masks a secret field, and a coiled:push
 * pool bound to the block in a second command.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeHome, runCli, scriptedPrompter } from "../helpers/run-cli.js";

const TOKEN = "coiled-api-token-0123456789abcdefghij";
let home: ReturnType<typeof makeHome>;
const wp = (argv: string[], opts: Parameters<typeof runCli>[1] = {}) =>
  runCli(argv, { ...opts, env: { ...home.env, ...opts.env } });

beforeEach(() => {
  home = makeHome();
});
afterEach(() => home.cleanup());

/** dask's config folder as `coiled login` leaves it: ~/.config/dask/coiled.yaml. */
function daskConfig(token: string): string {
  const dir = join(home.dir, ".config", "dask");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "coiled.yaml");
  writeFileSync(file, `coiled:\n  account: me\n  server: https://cloud.coiled.io\n  token: ${token}\n`);
  return file;
}

/** Files under the test's home (wp's store is encrypted) holding the token, the dask config aside. */
function filesHolding(secret: string): string[] {
  const hits: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (!p.endsWith("coiled.yaml") && readFileSync(p).includes(secret)) hits.push(p);
    }
  };
  walk(home.dir);
  return hits;
}

describe("wp block with a Coiled token", () => {
  it("reads the token from dask's config, says it is not checked, and binds a coiled:push pool", async () => {
    const file = daskConfig(TOKEN);
    const a = await wp(["block", "create", "coiled-credentials", "my-coiled", "--yes"]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toContain(`coiled.token in ${file}`);
    expect(a.stderr).toContain("wp does not check coiled-credentials credentials");
    expect(a.stdout).toContain("Created block coiled-credentials/my-coiled");
    expect(a.stdout).toContain("wp create POOL --type coiled:push --credentials-block my-coiled");

    const b = await wp(["create", "cp", "--type", "coiled:push", "--credentials-block", "my-coiled", "-o", "json"]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).not.toContain("has no credentials");
    const json = JSON.parse((await wp(["block", "inspect", "coiled-credentials/my-coiled", "-o", "json"])).stdout);
    expect(json).toMatchObject({ slug: "coiled-credentials/my-coiled", name: "my-coiled" });
    expect(json.data).toEqual({ api_token: "********" });
    expect(JSON.parse(b.stdout).base_job_template.variables.properties.credentials.default).toEqual({
      $ref: { block_document_id: json.id },
    });

    const text = await wp(["block", "inspect", "coiled-credentials/my-coiled"]);
    expect(text.code).toBe(0);
    expect(text.stdout.split("\n")).toContain("coiled-credentials/my-coiled");
    expect(text.stdout).toMatch(/^Block Type +Coiled Credentials$/m);
    expect(text.stdout).toMatch(/^api_token +\*{8}$/m);
    for (const out of [a.stdout, a.stderr, b.stdout, b.stderr, text.stdout, text.stderr]) {
      expect(out).not.toContain(TOKEN);
    }
    expect(filesHolding(TOKEN)).toEqual([]);
  });

  it("DASK_COILED__TOKEN comes before the config file, as dask reads it", async () => {
    daskConfig("token-in-the-file-0000000000000000");
    const r = await wp(["block", "create", "coiled-credentials", "env-token", "--yes", "-o", "json"], {
      env: { DASK_COILED__TOKEN: TOKEN },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("DASK_COILED__TOKEN");
    expect(JSON.parse(r.stdout).data).toEqual({ api_token: "********" });
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it("without a token and without a terminal: exit 2 naming where to put it, nothing written", async () => {
    const r = await wp(["block", "create", "coiled-credentials", "none", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("DASK_COILED__TOKEN");
    expect(JSON.parse((await wp(["block", "ls", "-o", "json"])).stdout)).toEqual([]);
  });

  it("refuses the token as a flag value (exit 2) without repeating it", async () => {
    for (const flag of ["--api-token", "--token"]) {
      const r = await wp(["block", "create", "coiled-credentials", "x", flag, TOKEN, "--yes"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${flag} is refused`);
      expect(r.stderr).toContain("DASK_COILED__TOKEN");
      expect(r.stderr).not.toContain(TOKEN);
    }
    expect(JSON.parse((await wp(["block", "ls", "-o", "json"])).stdout)).toEqual([]);
  });

  it("on a terminal asks for the token (hidden) and confirms; --overwrite replaces it", async () => {
    const prompter = scriptedPrompter([TOKEN, true]);
    const r = await wp(["block", "create", "coiled-credentials", "typed"], { tty: true, prompter });
    expect(r.code, r.stderr).toBe(0);
    expect(prompter.asked[0]).toContain("Coiled API token (hidden)");
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    const again = await wp(["block", "create", "coiled-credentials", "typed", "--yes"], {
      env: { DASK_COILED__TOKEN: "another-token-00000000000000000" },
    });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already exists");
    const replaced = await wp(["block", "create", "coiled-credentials", "typed", "--yes", "--overwrite"], {
      env: { DASK_COILED__TOKEN: "another-token-00000000000000000" },
    });
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stdout).toContain("Updated block coiled-credentials/typed");
  });

  it("a coiled:push pool refuses a block of another type (exit 2, no pool)", async () => {
    await wp(["block", "create", "modal-credentials", "m1", "--yes"], {
      env: { MODAL_TOKEN_ID: "ak-x", MODAL_TOKEN_SECRET: "as-x" },
    });
    const r = await wp(["create", "cp", "--type", "coiled:push", "--credentials-block", "m1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is a modal-credentials block");
    expect(JSON.parse((await wp(["ls", "-o", "json"])).stdout)).toEqual([]);
  });
});
