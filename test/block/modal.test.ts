/** `wp block` and push pools bound to a block, against the embedded API, with a Modal token from ~/.modal.toml. */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeHome, runCli, scriptedPrompter } from "../helpers/run-cli.js";

const SECRET = "as-very-secret-modal-token-0123456789";
let home: ReturnType<typeof makeHome>;
const wp = (argv: string[], opts: Parameters<typeof runCli>[1] = {}) =>
  runCli(argv, { ...opts, env: { ...home.env, ...opts.env } });

beforeEach(() => {
  home = makeHome();
  writeFileSync(
    join(home.dir, ".modal.toml"),
    `[me]\nactive = true\ntoken_id = "ak-abc"\ntoken_secret = "${SECRET}"\n`,
  );
});
afterEach(() => home.cleanup());

/** Everything wp wrote under its home and temp dir, searched for the secret (the SQLite store is encrypted). */
function filesHolding(secret: string): string[] {
  const hits: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (!p.endsWith(".modal.toml") && readFileSync(p).includes(secret)) hits.push(p);
    }
  };
  walk(home.dir);
  return hits;
}

describe("wp block with a Modal token", () => {
  it("gets a modal:push pool bound to a block in two commands", async () => {
    const a = await wp(["block", "create", "modal-credentials", "my-modal", "--yes", "--debug"]);
    expect(a.code).toBe(0);
    expect(a.stderr).toContain("Modal profile 'me'");
    expect(a.stderr).toContain("does not check modal-credentials");
    const b = await wp(["create", "mp", "--type", "modal:push", "--credentials-block", "my-modal", "-o", "json"]);
    expect(b.code).toBe(0);
    const pool = JSON.parse(b.stdout);
    const inspect = JSON.parse((await wp(["block", "inspect", "modal-credentials/my-modal", "-o", "json"])).stdout);
    expect(pool.base_job_template.variables.properties.modal_credentials.default).toEqual({
      $ref: { block_document_id: inspect.id },
    });
    expect(b.stderr).not.toContain("has no credentials");
    expect(inspect.data).toEqual({ token_id: "ak-abc", token_secret: "********" });
    for (const out of [a.stdout, a.stderr, b.stdout, b.stderr]) expect(out).not.toContain(SECRET);
    expect(filesHolding(SECRET)).toEqual([]);
  });

  it("refuses a secret given as a flag, with exit 2, saying how to pass it, writing nothing", async () => {
    for (const flag of ["--token-secret", "--token", "--aws-secret-access-key", "--client-secret"]) {
      const r = await wp(["block", "create", "modal-credentials", "x", flag, SECRET, "--yes"]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(`${flag} is refused`);
      expect(r.stderr).toMatch(/Instead, (set|leave|pass)/);
      expect(r.stderr).not.toContain(SECRET);
    }
    const ls = await wp(["block", "ls", "-o", "json"]);
    expect(JSON.parse(ls.stdout)).toEqual([]);
  });

  it("without a terminal a write needs --yes; bad type and name are exit 2", async () => {
    expect((await wp(["block", "create", "modal-credentials", "m"])).code).toBe(2);
    expect((await wp(["block", "create", "nope-credentials", "m", "--yes"])).code).toBe(2);
    expect((await wp(["block", "create", "modal-credentials", "Bad_Name", "--yes"])).code).toBe(2);
    const r = await wp(["block", "create", "modal-credentials", "m", "--yes"], {
      env: { MODAL_CONFIG_PATH: join(tmpdir(), "none.toml") },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("MODAL_TOKEN_ID");
    expect(JSON.parse((await wp(["block", "ls", "-o", "json"])).stdout)).toEqual([]);
  });

  it("on a terminal asks for a missing token (the secret hidden) and confirms", async () => {
    const prompter = scriptedPrompter(["ak-typed", "as-typed", true]);
    const r = await wp(["block", "create", "modal-credentials", "typed"], {
      tty: true,
      prompter,
      env: { MODAL_CONFIG_PATH: join(tmpdir(), "none.toml") },
    });
    expect(r.code).toBe(0);
    expect(prompter.asked[1]).toContain("(hidden)");
    expect(r.stdout + r.stderr).not.toContain("as-typed");
  });

  it("ls, inspect and delete, each with one JSON document; delete is refused while a pool uses the block", async () => {
    await wp(["block", "create", "modal-credentials", "m1", "--yes"]);
    await wp(["create", "p1", "--type", "modal:push", "--credentials-block", "m1"]);
    const ls = JSON.parse((await wp(["block", "ls", "-o", "json"])).stdout);
    expect(ls.map((b: { slug: string }) => b.slug)).toEqual(["modal-credentials/m1"]);
    const text = await wp(["block", "inspect", "modal-credentials/m1"]);
    expect(text.stdout).toContain("token_secret  ********");
    const refused = await wp(["block", "delete", "modal-credentials/m1", "--yes"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("'p1'");
    expect((await wp(["block", "delete", "modal-credentials/m1"], {})).code).toBe(2);
    const forced = await wp(["block", "delete", "modal-credentials/m1", "--yes", "--force", "-o", "json"]);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout).name).toBe("m1");
    expect((await wp(["block", "inspect", "modal-credentials/m1"])).code).toBe(1);
    expect((await wp(["block", "inspect", "m1"])).code).toBe(2);
  });
});

describe("--credentials-block and --set on create and update", () => {
  it("checks the block and each value before writing anything", async () => {
    await wp(["block", "create", "modal-credentials", "m1", "--yes"]);
    const cases: string[][] = [
      ["--credentials-block", "missing"],
      ["--set", 'cpu="many"'],
      ["--set", "nope=1"],
      ["--set", "cpu"],
      ["--set", "gpu=1"],
    ];
    for (const extra of cases) {
      const r = await wp(["create", "bad", "--type", "modal:push", ...extra]);
      expect({ extra, code: r.code }).toEqual({ extra, code: 2 });
      expect(r.stderr).toMatch(/Error: .+/);
    }
    expect(JSON.parse((await wp(["ls", "-o", "json"])).stdout)).toEqual([]);
  });

  it("refuses a block of another type than the pool type needs", async () => {
    await wp(["block", "create", "modal-credentials", "m1", "--yes"]);
    const r = await wp(["create", "c", "--type", "coiled:push", "--credentials-block", "m1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is a modal-credentials block");
    expect(JSON.parse((await wp(["ls", "-o", "json"])).stdout)).toEqual([]);
  });

  it("warns that a push pool without credentials cannot run, then binds a block with update", async () => {
    const created = await wp([
      "create",
      "p",
      "--type",
      "modal:push",
      "--set",
      "cpu=2",
      "--set",
      "modal_environment=dev",
    ]);
    expect(created.code).toBe(0);
    expect(created.stderr).toContain("has no credentials, so it cannot run flows");
    expect(created.stderr).toContain("wp update p --credentials-block NAME");
    await wp(["block", "create", "modal-credentials", "m1", "--yes"]);
    const bad = await wp(["update", "p", "--set", "memory=lots"]);
    expect(bad.code).toBe(2);
    const u = await wp(["update", "p", "--credentials-block", "m1", "--set", "memory=2048", "-o", "json"]);
    expect(u.code).toBe(0);
    const vars = JSON.parse(u.stdout).base_job_template.variables.properties;
    expect(vars.cpu.default).toBe(2);
    expect(vars.modal_environment.default).toBe("dev");
    expect(vars.memory.default).toBe(2048);
    expect(vars.modal_credentials.default.$ref.block_document_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
