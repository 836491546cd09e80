import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeHome, runCli, scriptedPrompter } from "../helpers/run-cli.js";

let home: ReturnType<typeof makeHome>;
const wp = (argv: string[], opts: Parameters<typeof runCli>[1] = {}) =>
  runCli(argv, { ...opts, env: { ...home.env, ...opts.env } });

beforeEach(() => {
  home = makeHome();
});
afterEach(() => home.cleanup());

describe("work pool lifecycle on the embedded API", () => {
  it("create, ls, inspect, update, pause, resume, limits, delete", async () => {
    const created = await wp(["create", "demo", "--type", "process"]);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(created.stdout).toContain("Created work pool 'demo'!");
    expect(created.stdout).toContain("prefect worker start --pool demo");
    expect(created.stdout).toMatch(/└── UUID: [0-9a-f-]{36}/);
    expect(created.stdout).toContain("└── Type: process");
    expect(created.stdout).toContain("└── Status: Not ready");
    expect(created.stdout).toContain("└── URL: <no dashboard available>");

    const ls = await wp(["ls"]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain("demo");
    expect(ls.stdout).toContain("process");

    const inspected = await wp(["inspect", "demo", "-o", "json"]);
    expect(inspected.code).toBe(0);
    const pool = JSON.parse(inspected.stdout);
    expect(pool).toMatchObject({ name: "demo", type: "process", is_paused: false, status: "NOT_READY" });
    expect(pool.base_job_template.job_configuration).toBeDefined();

    expect((await wp(["update", "demo", "--description", "nightly", "--concurrency-limit", "0"])).stdout).toContain(
      "Updated work pool 'demo'",
    );
    const updated = JSON.parse((await wp(["inspect", "demo", "--json"])).stdout);
    expect(updated.description).toBe("nightly");
    expect(updated.concurrency_limit).toBe(0);

    expect((await wp(["pause", "demo"])).stdout).toContain("Paused work pool 'demo'");
    expect(JSON.parse((await wp(["inspect", "demo", "-o", "json"])).stdout)).toMatchObject({
      is_paused: true,
      status: "PAUSED",
    });
    const lsPaused = await wp(["ls"]);
    expect(lsPaused.stdout).toContain("demo (**)");
    expect((await wp(["resume", "demo"])).stdout).toContain("Resumed work pool 'demo'");
    expect(JSON.parse((await wp(["inspect", "demo", "-o", "json"])).stdout).is_paused).toBe(false);

    expect((await wp(["set-concurrency-limit", "demo", "7"])).stdout).toContain(
      "Set concurrency limit for work pool 'demo' to 7",
    );
    expect(JSON.parse((await wp(["inspect", "demo", "-o", "json"])).stdout).concurrency_limit).toBe(7);
    expect((await wp(["clear-concurrency-limit", "demo"])).stdout).toContain(
      "Cleared concurrency limit for work pool 'demo'",
    );
    expect(JSON.parse((await wp(["inspect", "demo", "-o", "json"])).stdout).concurrency_limit).toBeNull();

    const del = await wp(["delete", "demo", "--yes"]);
    expect(del.code).toBe(0);
    expect(del.stdout).toContain("Deleted work pool 'demo'");
    expect(JSON.parse((await wp(["ls", "-o", "json"])).stdout)).toEqual([]);
  });

  it("works under `work-pool` and `work-pools` as prefect scripts call it", async () => {
    expect((await wp(["work-pool", "create", "a", "-t", "process"])).code).toBe(0);
    const ls = await wp(["work-pools", "ls", "-o", "json"]);
    expect(JSON.parse(ls.stdout).map((p: { name: string }) => p.name)).toEqual(["a"]);
  });

  it("ls -o json prints one JSON document, newest first, and [] when empty", async () => {
    expect(JSON.parse((await wp(["ls", "-o", "json"])).stdout)).toEqual([]);
    expect((await wp(["ls"])).stdout).toContain("No work pools found.");
    await wp(["create", "first", "-t", "process"]);
    await wp(["create", "second", "-t", "process"]);
    const pools = JSON.parse((await wp(["ls", "-o", "JSON"])).stdout);
    expect(pools.map((p: { name: string }) => p.name)).toEqual(["second", "first"]);
  });

  it("--overwrite keeps description and limit unless given, and says Updated", async () => {
    await wp(["create", "keep", "-t", "process"]);
    await wp(["update", "keep", "--description", "d", "--concurrency-limit", "3"]);
    const before = JSON.parse((await wp(["inspect", "keep", "-o", "json"])).stdout);
    const again = await wp(["create", "keep", "-t", "process", "--overwrite", "--paused"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("Updated work pool 'keep'!");
    const after = JSON.parse((await wp(["inspect", "keep", "-o", "json"])).stdout);
    expect(after).toMatchObject({ id: before.id, description: "d", concurrency_limit: 3, is_paused: true });
  });

  it("a second create without --overwrite fails and changes nothing", async () => {
    await wp(["create", "dup", "-t", "process"]);
    const r = await wp(["create", "dup", "-t", "process", "--paused"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Work pool 'dup' already exists. Use --overwrite to update it.");
    expect(JSON.parse((await wp(["inspect", "dup", "-o", "json"])).stdout).is_paused).toBe(false);
  });

  it("create --paused, --base-job-template file, and -o json", async () => {
    const file = join(home.dir, "t.json");
    writeFileSync(
      file,
      JSON.stringify({
        job_configuration: { command: "{{ command }}" },
        variables: { properties: { command: { type: "string" } } },
      }),
    );
    const r = await wp(["create", "custom", "-t", "process", "--paused", "--base-job-template", file, "-o", "json"]);
    expect(r.code).toBe(0);
    const pool = JSON.parse(r.stdout);
    expect(pool.is_paused).toBe(true);
    expect(pool.base_job_template.job_configuration).toEqual({ command: "{{ command }}" });
    expect(r.stdout).not.toContain("Created");
  });

  it("--set-as-default writes the canonical key to the active profile, keeping other profiles, mode 0600", async () => {
    const { mkdirSync, statSync } = await import("node:fs");
    mkdirSync(home.env.PREFECT_HOME, { recursive: true });
    const profiles = join(home.env.PREFECT_HOME, "profiles.toml");
    writeFileSync(
      profiles,
      'active = "dev"\n\n[profiles.dev]\nPREFECT_DEFAULT_WORK_POOL_NAME = "old"\nOTHER = "x"\n\n[profiles.prod]\nPREFECT_API_KEY = "k"\n',
    );
    const r = await wp(["create", "fav", "-t", "process", "--set-as-default"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Set 'fav' as default work pool for profile 'dev'");
    const text = readFileSync(profiles, "utf8");
    expect(text).toContain('PREFECT_DEPLOYMENTS_DEFAULT_WORK_POOL_NAME = "fav"');
    expect(text).not.toContain("PREFECT_DEFAULT_WORK_POOL_NAME =");
    expect(text).toContain('OTHER = "x"');
    expect(text).toContain("[profiles.prod]");
    expect(text).toContain('active = "dev"');
    expect(statSync(profiles).mode & 0o777).toBe(0o600);
    expect((await wp(["ls"])).stdout).toMatch(/fav \(default\)/);
  });

  it("ls marks the default pool read from the legacy key too", async () => {
    const { mkdirSync } = await import("node:fs");
    mkdirSync(home.env.PREFECT_HOME, { recursive: true });
    writeFileSync(
      join(home.env.PREFECT_HOME, "profiles.toml"),
      'active = "dev"\n[profiles.dev]\nPREFECT_DEFAULT_WORK_POOL_NAME = "old"\n',
    );
    await wp(["create", "old", "-t", "process"]);
    await wp(["create", "other", "-t", "process"]);
    const ls = await wp(["ls"]);
    expect(ls.stdout).toMatch(/old \(default\)/);
    expect(ls.stdout).not.toMatch(/other \(default\)/);
  });

  it("get-default-base-job-template prints Prefect's ECS template and writes --file with no trailing newline", async () => {
    const meta = JSON.parse(readFileSync("data/aggregate-worker-metadata.json", "utf8"));
    const r = await wp(["get-default-base-job-template", "--type", "ecs"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(meta["prefect-aws"].ecs.default_base_job_configuration);
    const file = join(home.dir, "ecs.json");
    const f = await wp(["get-default-base-job-template", "-t", "ecs", "-f", file]);
    expect(f.code).toBe(0);
    expect(f.stdout).toBe("");
    expect(readFileSync(file, "utf8")).toBe(
      JSON.stringify(meta["prefect-aws"].ecs.default_base_job_configuration, null, 2),
    );
  });

  it("preview honours --hours and reports no runs", async () => {
    await wp(["create", "p", "-t", "process"]);
    const r = await wp(["preview", "p", "--hours", "48"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("No runs scheduled in the next 48 hour(s)");
    expect(JSON.parse((await wp(["preview", "p", "-h", "2", "-o", "json"])).stdout)).toEqual([]);
  });

  it("a push type off Prefect Cloud warns and names the pull alternative", async () => {
    const r = await wp(["create", "pushy", "--type", "ecs:push"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Only Prefect Cloud runs push work pools");
    expect(r.stderr).toContain("--type ecs");
    expect(r.stdout).not.toContain("To start a worker");
  });
});

describe("terminal mode", () => {
  it("without --type, an arrow-key picker chooses the type", async () => {
    const prompter = scriptedPrompter(["docker"]);
    const r = await wp(["create", "picked"], { tty: true, prompter });
    expect(r.code).toBe(0);
    expect(prompter.asked).toEqual(["What type of work pool infrastructure would you like to use?"]);
    expect(JSON.parse((await wp(["inspect", "picked", "-o", "json"])).stdout).type).toBe("docker");
  });

  it("with --provision-infra the picker offers only types wp can provision", async () => {
    const offered: string[] = [];
    const prompter = scriptedPrompter([]);
    prompter.select = async <T>(_m: string, choices: Array<{ value: T }>) => {
      offered.push(...choices.map((c) => String(c.value)));
      throw new Error("stop here");
    };
    await wp(["create", "x", "--provision-infra"], { tty: true, prompter });
    expect(offered.sort()).toEqual([
      "azure-container-instance",
      "azure-container-instance:push",
      "cloud-run",
      "cloud-run-v2",
      "cloud-run-v2:push",
      "cloud-run:push",
      "coiled:push",
      "ecs",
      "ecs:push",
      "modal:push",
    ]);
  });

  it("delete asks first; declining exits 1 and keeps the pool", async () => {
    await wp(["create", "d", "-t", "process"]);
    const no = await wp(["delete", "d"], { tty: true, prompter: scriptedPrompter([false]) });
    expect(no.code).toBe(1);
    expect(no.stderr).toContain("Deletion aborted.");
    expect((await wp(["inspect", "d", "-o", "json"])).code).toBe(0);
    const yes = await wp(["delete", "d"], { tty: true, prompter: scriptedPrompter([true]) });
    expect(yes.code).toBe(0);
    expect((await wp(["inspect", "d"])).code).toBe(1);
  });

  it("piped, delete without --yes exits 2 naming --yes and deletes nothing", async () => {
    await wp(["create", "d", "-t", "process"]);
    const r = await wp(["delete", "d"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--yes");
    expect((await wp(["inspect", "d"])).code).toBe(0);
  });

  it("CI=true never prompts even on a terminal", async () => {
    const r = await wp(["create", "x"], { tty: true, env: { CI: "true" }, prompter: scriptedPrompter([]) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Missing --type");
  });
});
