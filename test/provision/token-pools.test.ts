import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect } from "../../src/prefect/client.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { makeHome, type RunResult, runCli, scriptedPrompter } from "../helpers/run-cli.js";

let home: ReturnType<typeof makeHome>;
const wp = (argv: string[], opts: Parameters<typeof runCli>[1] = {}) =>
  runCli(argv, { ...opts, env: { ...home.env, ...opts.env } });

beforeEach(() => {
  home = makeHome();
});
afterEach(() => home.cleanup());

async function readBlock(slug: string, name: string) {
  const api = await connect(await loadSettings(home.env), { env: home.env });
  try {
    return await api.readBlockDocument(slug, name, true);
  } finally {
    api.close();
  }
}

async function pools(): Promise<
  Array<{ name: string; base_job_template: { variables: { properties: Record<string, { default?: unknown }> } } }>
> {
  return JSON.parse((await wp(["ls", "-o", "json"])).stdout);
}

function expectNoSecret(r: RunResult, ...secrets: string[]) {
  for (const s of secrets) {
    expect(r.stdout).not.toContain(s);
    expect(r.stderr).not.toContain(s);
  }
}

function modalToml(text: string): Record<string, string> {
  const path = join(home.dir, "modal.toml");
  writeFileSync(path, text);
  return { MODAL_CONFIG_PATH: path };
}

describe("modal:push", () => {
  it("token from env: creates the block and the pool referencing it; a re-run changes nothing", async () => {
    const env = { MODAL_TOKEN_ID: "ak-envid", MODAL_TOKEN_SECRET: "as-envsecret" };
    const r = await wp(["create", "m", "--type", "modal:push", "--provision-infra", "--yes"], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Modal credentials block");
    expect(r.stderr).toContain("token from MODAL_TOKEN_ID and MODAL_TOKEN_SECRET");
    expect(r.stdout).toContain("Created work pool 'm'!");
    expectNoSecret(r, "as-envsecret");
    const block = await readBlock("modal-credentials", "m-modal-credentials");
    expect(block?.data).toEqual({ token_id: "ak-envid", token_secret: "as-envsecret" });
    const [pool] = await pools();
    expect(pool?.base_job_template.variables.properties.modal_credentials?.default).toEqual({
      $ref: { block_document_id: block?.id },
    });

    const again = await wp(["create", "m", "--type", "modal:push", "--provision-infra", "--yes", "-o", "json"], {
      env,
    });
    expect(again.code).toBe(0);
    const doc = JSON.parse(again.stdout);
    expect(doc.plan.every((s: { action: string }) => s.action === "exists")).toBe(true);
    expect(doc.results.every((s: { status: string }) => s.status === "exists")).toBe(true);
    expectNoSecret(again, "as-envsecret");
  });

  it("token from the active profile, and from a named profile with --modal-profile", async () => {
    const env = modalToml(
      '[work]\ntoken_id = "ak-work"\ntoken_secret = "as-work"\nactive = true\n\n[play]\ntoken_id = "ak-play"\ntoken_secret = "as-play"\n',
    );
    const r = await wp(["create", "a", "--type", "modal:push", "--provision-infra", "--yes"], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Modal profile 'work'");
    expect((await readBlock("modal-credentials", "a-modal-credentials"))?.data).toEqual({
      token_id: "ak-work",
      token_secret: "as-work",
    });
    const b = await wp(
      ["create", "b", "--type", "modal:push", "--provision-infra", "--yes", "--modal-profile", "play"],
      { env },
    );
    expect(b.code).toBe(0);
    expect((await readBlock("modal-credentials", "b-modal-credentials"))?.data).toEqual({
      token_id: "ak-play",
      token_secret: "as-play",
    });
    expectNoSecret(b, "as-play");
  });

  it("a partial env override pairs the env id with the file secret", async () => {
    const env = {
      ...modalToml('[default]\ntoken_id = "ak-file"\ntoken_secret = "as-file"\n'),
      MODAL_TOKEN_ID: "ak-env",
    };
    const r = await wp(["create", "p", "--type", "modal:push", "--provision-infra", "--yes"], { env });
    expect(r.code).toBe(0);
    expect((await readBlock("modal-credentials", "p-modal-credentials"))?.data).toEqual({
      token_id: "ak-env",
      token_secret: "as-file",
    });
  });

  it("malformed TOML: a clear error naming the file, exit 2, nothing created", async () => {
    const env = modalToml("[default\ntoken_id = ");
    const r = await wp(["create", "bad", "--type", "modal:push", "--provision-infra", "--yes"], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Cannot read the Modal config ${env.MODAL_CONFIG_PATH}`);
    expect(await pools()).toEqual([]);
    expect(await readBlock("modal-credentials", "bad-modal-credentials")).toBeNull();
  });

  it("no token without a terminal: exit 2 naming the env vars and flag; nothing created", async () => {
    const r = await wp(["create", "none", "--type", "modal:push", "--provision-infra", "--yes"], {
      env: modalToml(""),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("No Modal token found.");
    expect(r.stderr).toContain("MODAL_TOKEN_ID");
    expect(r.stderr).toContain("--modal-profile");
    expect(await pools()).toEqual([]);
  });

  it("no token on a terminal: prompts for id and secret (hidden), then confirms the plan", async () => {
    const prompter = scriptedPrompter(["ak-typed", "as-typed", true]);
    const r = await wp(["create", "t", "--type", "modal:push", "--provision-infra"], {
      tty: true,
      prompter,
      env: modalToml(""),
    });
    expect(r.code).toBe(0);
    expect(prompter.asked).toEqual([
      "Modal token ID",
      "Modal token secret",
      "Proceed with infrastructure provisioning?",
    ]);
    expect((await readBlock("modal-credentials", "t-modal-credentials"))?.data).toEqual({
      token_id: "ak-typed",
      token_secret: "as-typed",
    });
    expectNoSecret(r, "as-typed");
  });

  it("an existing block is reused (stated in the plan) and no token is needed", async () => {
    await wp(["create", "r", "--type", "modal:push", "--provision-infra", "--yes"], {
      env: { MODAL_TOKEN_ID: "ak-1", MODAL_TOKEN_SECRET: "as-1" },
    });
    await wp(["delete", "r", "--yes"]);
    const r = await wp(["create", "r", "--type", "modal:push", "--provision-infra", "--yes"], { env: modalToml("") });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/= exists\s+Modal credentials block\s+r-modal-credentials\s+\(reused\)/);
  });

  it("block names are made valid, and a collision with another pool's block is reported, not overwritten", async () => {
    const env = { MODAL_TOKEN_ID: "ak-1", MODAL_TOKEN_SECRET: "as-1" };
    const first = await wp(["create", "My Pool", "--type", "modal:push", "--provision-infra", "--yes"], { env });
    expect(first.code).toBe(0);
    expect(await readBlock("modal-credentials", "my-pool-modal-credentials")).not.toBeNull();
    const second = await wp(["create", "my_pool", "--type", "modal:push", "--provision-infra", "--yes"], { env });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(
      "Block 'my-pool-modal-credentials' already exists and belongs to work pool 'My Pool'.",
    );
    expect((await pools()).map((p) => p.name)).toEqual(["My Pool"]);
  });

  it("--dry-run and declining create nothing; non-terminal without --yes exits 2 naming --yes", async () => {
    const env = { MODAL_TOKEN_ID: "ak-1", MODAL_TOKEN_SECRET: "as-1" };
    const dry = await wp(["create", "d", "--type", "modal:push", "--provision-infra", "--dry-run"], { env });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("+ create  Modal credentials block");
    expect(dry.stdout).toContain("Dry run: nothing was changed.");
    const dryJson = JSON.parse(
      (await wp(["create", "d", "--type", "modal:push", "--provision-infra", "--dry-run", "-o", "json"], { env }))
        .stdout,
    );
    expect(dryJson.dryRun).toBe(true);
    expect(dryJson.plan.map((s: { id: string }) => s.id)).toEqual([
      "prefect.block-type",
      "prefect.credentials-block",
      "prefect.work-pool",
    ]);
    const declined = await wp(["create", "d", "--type", "modal:push", "--provision-infra"], {
      tty: true,
      env,
      prompter: scriptedPrompter([false]),
    });
    expect(declined.code).toBe(1);
    expect(declined.stderr).toContain("Provisioning cancelled; nothing was created.");
    const piped = await wp(["create", "d", "--type", "modal:push", "--provision-infra"], { env });
    expect(piped.code).toBe(2);
    expect(piped.stderr).toContain("--yes");
    expect(await pools()).toEqual([]);
    expect(await readBlock("modal-credentials", "d-modal-credentials")).toBeNull();
  });

  it("provision-infra on an existing modal:push pool fills in modal_credentials", async () => {
    expect((await wp(["create", "later", "--type", "modal:push"])).code).toBe(0);
    const r = await wp(["provision-infra", "later", "--yes"], {
      env: { MODAL_TOKEN_ID: "ak-2", MODAL_TOKEN_SECRET: "as-2" },
    });
    expect(r.code).toBe(0);
    const block = await readBlock("modal-credentials", "later-modal-credentials");
    const [pool] = await pools();
    expect(pool?.base_job_template.variables.properties.modal_credentials?.default).toEqual({
      $ref: { block_document_id: block?.id },
    });
    const again = await wp(["provision-infrastructure", "later", "--yes"], {
      env: { MODAL_TOKEN_ID: "ak-2", MODAL_TOKEN_SECRET: "as-2" },
    });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("Nothing to do");
  });
});

describe("coiled:push", () => {
  function daskConfig(text: string): Record<string, string> {
    const dir = join(home.dir, "dask");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "coiled.yaml"), text);
    return { DASK_CONFIG: dir };
  }

  it("token from DASK_COILED__TOKEN: block, credentials ref and image default ''", async () => {
    const r = await wp(["create", "c", "--type", "coiled:push", "--provision-infra", "--yes"], {
      env: { DASK_COILED__TOKEN: "coiled-secret-1" },
    });
    expect(r.code).toBe(0);
    expectNoSecret(r, "coiled-secret-1");
    const block = await readBlock("coiled-credentials", "c-coiled-credentials");
    expect(block?.data).toEqual({ api_token: "coiled-secret-1" });
    const [pool] = await pools();
    expect(pool?.base_job_template.variables.properties.credentials?.default).toEqual({
      $ref: { block_document_id: block?.id },
    });
    expect(pool?.base_job_template.variables.properties.image?.default).toBe("");
    const again = await wp(["create", "c", "--type", "coiled:push", "--provision-infra", "--yes"], {
      env: { DASK_COILED__TOKEN: "coiled-secret-1" },
    });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("Nothing to do");
  });

  it("token from the dask config file", async () => {
    const r = await wp(["create", "y", "--type", "coiled:push", "--provision-infra", "--yes"], {
      env: daskConfig("coiled:\n  token: yaml-token-9\n"),
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("coiled.token in");
    expect((await readBlock("coiled-credentials", "y-coiled-credentials"))?.data).toEqual({
      api_token: "yaml-token-9",
    });
    expectNoSecret(r, "yaml-token-9");
  });

  it("malformed YAML names the file, exit 2, nothing created", async () => {
    const env = daskConfig("coiled: [token: \n  - : :");
    const r = await wp(["create", "y", "--type", "coiled:push", "--provision-infra", "--yes"], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Cannot read the dask config");
    expect(r.stderr).toContain("coiled.yaml");
    expect(await pools()).toEqual([]);
  });

  it("no token: prompt on a terminal (hidden), exit 2 off it", async () => {
    const env = daskConfig("other: 1\n");
    const off = await wp(["create", "n", "--type", "coiled:push", "--provision-infra", "--yes"], { env });
    expect(off.code).toBe(2);
    expect(off.stderr).toContain("DASK_COILED__TOKEN");
    const prompter = scriptedPrompter(["typed-coiled", true]);
    const on = await wp(["create", "n", "--type", "coiled:push", "--provision-infra"], { tty: true, env, prompter });
    expect(on.code).toBe(0);
    expect(prompter.asked).toContain("Coiled API token");
    expectNoSecret(on, "typed-coiled");
    expect((await readBlock("coiled-credentials", "n-coiled-credentials"))?.data).toEqual({
      api_token: "typed-coiled",
    });
  });
});
