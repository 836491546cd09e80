/**
 * Terminal-facing behaviour that is not a screen: data escaped in every text output, suggested
 * commands shell-quoted, help with global flags and a sane width, -o json on every data command,
 * a closed stdout ending wp quietly, and the progress writer's spinner/line interplay.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { entries, loadAll } from "../../src/commands/registry.js";
import type { CommandSpec } from "../../src/commands/spec.js";
import type { IO } from "../../src/ui/io.js";
import { createProgress } from "../../src/ui/progress.js";
import { renderScreen } from "../helpers/pty.js";
import { makeHome, runCli } from "../helpers/run-cli.js";
import { requireBuilt, wpProcess } from "../helpers/wp-process.js";

/** The top-level commands (the groups aside): the work-pool commands. */
const commands = (await loadAll()).filter((n): n is CommandSpec => "run" in n);

// biome-ignore lint/suspicious/noControlCharactersInRegex: asserting there are no raw control characters
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
const EVIL = "a\u001b[31mb";

let home: ReturnType<typeof makeHome>;
beforeAll(async () => {
  home = makeHome();
  for (const argv of [
    ["create", EVIL, "-t", "process"],
    ["update", EVIL, "--description", "desc\u009b2J\u0007 end", "--concurrency-limit", "3"],
    ["create", "plain", "-t", "process"],
  ]) {
    const r = await runCli(argv, { env: home.env });
    expect(r.code, r.stderr).toBe(0);
  }
});
afterAll(() => home.cleanup());

describe("control characters in data are escaped in every text output", () => {
  it("wp ls and wp ls -v show the name escaped, on a terminal and piped", async () => {
    for (const tty of [false, true]) {
      const r = await runCli(["ls", "-v"], { env: home.env, tty });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("a\\x1b[31mb");
      expect(r.stdout).toContain("Base job template of a\\x1b[31mb:");
      expect(r.stdout).not.toMatch(RAW);
    }
  });

  it("wp inspect escapes the name and the description (C1 and BEL too)", async () => {
    const r = await runCli(["inspect", EVIL], { env: home.env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Name +a\\x1b\[31mb$/m);
    expect(r.stdout).toMatch(/^Description +desc\\x9b2J\\x07 end$/m);
    expect(r.stdout).not.toMatch(RAW);
  });

  it("messages and errors quoting input are escaped, and stay one line", async () => {
    const created = await runCli(["create", "n\u001b]0;title\u0007", "-t", "process"], { env: home.env });
    expect(created.code).toBe(0);
    expect(created.stdout).toContain("Created work pool 'n\\x1b]0;title\\x07'!");
    expect(created.stdout).toContain("prefect worker start --pool $'n\\033]0;title\\007' --type process");
    expect(created.stdout).not.toMatch(RAW);
    const missing = await runCli(["inspect", "ghost\u001b[2J\nline"], { env: home.env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("Error: Work pool 'ghost\\x1b[2J\\nline' not found. Run `wp ls` to list work pools.\n");
    const badType = await runCli(["create", "t", "--type", "\u001b[31mred"], { env: home.env });
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain("Unknown work pool type '\\x1b[31mred'.");
    expect(badType.stderr).not.toMatch(RAW);
  });

  it("JSON output escapes them too and parses back to the stored value", async () => {
    const r = await runCli(["inspect", EVIL, "-o", "json"], { env: home.env });
    expect(r.stdout).not.toMatch(RAW);
    const pool = JSON.parse(r.stdout);
    expect(pool.name).toBe(EVIL);
    expect(pool.description).toBe("desc\u009b2J\u0007 end");
  });
});

describe("suggested commands are shell-quoted", () => {
  it("the pull-type suggestion for a push pool off Cloud", async () => {
    const r = await runCli(["create", "my pool's", "-t", "ecs:push"], { env: home.env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `wp create 'my pool'"'"'s' --type ecs, then prefect worker start --pool 'my pool'"'"'s' --type ecs.`,
    );
  });

  it("`wp provision-infra NAME` in the refusal to overwrite a different template", async () => {
    const env = { ...home.env, MODAL_TOKEN_ID: "ak-test", MODAL_TOKEN_SECRET: "as-test" };
    expect((await runCli(["create", "modal pool", "-t", "modal:push"], { env })).code).toBe(0);
    const r = await runCli(["create", "modal pool", "-t", "modal:push", "--provision-infra", "--yes"], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("run `wp provision-infra 'modal pool'`");
  });
});

describe("the registry", () => {
  it("names each command as its module does, so `wp NAME` loads the right one", async () => {
    for (const e of entries) {
      const node = await e.load();
      expect(e.names, node.name).toEqual([node.name, ...(node.aliases ?? [])]);
    }
  });
});

describe("help", () => {
  const names = [...commands.map((c) => [c.name]), ["server", "start"], ["work-pool", "ls"]];

  it.each(names)("`wp %s --help` shows the global flags", async (...argv: string[]) => {
    const r = await runCli([...argv, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Global Options:");
    for (const flag of ["--profile <name>", "-y, --yes", "--no-prompt", "--debug"]) expect(r.stdout).toContain(flag);
  });

  it("is wrapped to 80 columns when piped and to the terminal's width, up to 100, on one", async () => {
    const piped = await runCli(["create", "--help"]);
    const widest = (s: string) => Math.max(...s.split("\n").map((l) => l.length));
    expect(widest(piped.stdout)).toBeLessThanOrEqual(80);
    const wide = await runCli(["create", "--help"], { tty: true, columns: 160 });
    expect(widest(wide.stdout)).toBeGreaterThan(80);
    expect(widest(wide.stdout)).toBeLessThanOrEqual(100);
    const narrow = await runCli(["create", "--help"], { tty: true, columns: 90 });
    expect(widest(narrow.stdout)).toBeLessThanOrEqual(90);
  });

  it("an unknown command with --help is an error (exit 2), not the top-level help", async () => {
    const r = await runCli(["nope", "--help"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("Error: unknown command 'nope'.");
    // Known commands and the help command still answer.
    expect((await runCli(["help", "ls"])).code).toBe(0);
    expect((await runCli(["--profile", "x", "ls", "--help"])).code).toBe(0);
    expect((await runCli(["work-pools", "inspect", "-h"])).code).toBe(0);
  });
});

describe("-o json and --json on every command that prints data", () => {
  const env = () => ({ ...home.env, MODAL_TOKEN_ID: "ak-test", MODAL_TOKEN_SECRET: "as-test" });
  const runs: Array<{ argv: string[]; check: (doc: unknown) => void }> = [
    { argv: ["create", "j1", "-t", "process"], check: (d) => expect(d).toMatchObject({ name: "j1" }) },
    { argv: ["ls"], check: (d) => expect(Array.isArray(d)).toBe(true) },
    { argv: ["inspect", "j1"], check: (d) => expect(d).toMatchObject({ name: "j1", type: "process" }) },
    { argv: ["update", "j1", "--description", "x"], check: (d) => expect(d).toMatchObject({ description: "x" }) },
    { argv: ["pause", "j1"], check: (d) => expect(d).toMatchObject({ is_paused: true }) },
    { argv: ["resume", "j1"], check: (d) => expect(d).toMatchObject({ is_paused: false }) },
    {
      argv: ["set-concurrency-limit", "j1", "2147483647"],
      check: (d) => expect(d).toMatchObject({ concurrency_limit: 2147483647 }),
    },
    { argv: ["clear-concurrency-limit", "j1"], check: (d) => expect(d).toMatchObject({ concurrency_limit: null }) },
    { argv: ["get-default-base-job-template", "-t", "process"], check: (d) => expect(d).toHaveProperty("variables") },
    { argv: ["preview", "j1", "--hours", "876000"], check: (d) => expect(d).toEqual([]) },
    {
      argv: ["create", "j2", "-t", "modal:push", "--provision-infra", "--dry-run"],
      check: (d) => expect(d).toMatchObject({ workPool: "j2", dryRun: true }),
    },
    {
      argv: ["provision-infra", "j1m", "--dry-run"],
      check: (d) => expect(d).toMatchObject({ workPool: "j1m", dryRun: true }),
    },
    { argv: ["delete", "j1", "--yes"], check: (d) => expect(d).toMatchObject({ name: "j1" }) },
  ];

  beforeAll(async () => {
    expect((await runCli(["create", "j1m", "-t", "modal:push"], { env: env() })).code).toBe(0);
  });

  it("every data command declares the json flags", () => {
    for (const c of commands) expect(c.json, c.name).toBe(true);
  });

  it.each(runs)("wp $argv.0 … -o json prints one JSON document", async ({ argv, check }) => {
    const flag = argv[0] === "inspect" || argv[0] === "ls" ? ["--json"] : ["-o", "json"];
    const r = await runCli([...argv, ...flag], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    check(JSON.parse(r.stdout));
    // --json and -o json together agree.
    if (argv[0] === "ls") expect((await runCli(["ls", "--json", "-o", "JSON"], { env: env() })).code).toBe(0);
  });
});

describe("the progress writer", () => {
  function fakeIO(tty: boolean, columns = 60) {
    let err = "";
    const io: IO = {
      stdout: { write: () => undefined, isTTY: tty, columns },
      stderr: {
        write: (t) => {
          err += t;
        },
        isTTY: tty,
        columns: tty ? columns : undefined,
      },
      stdinIsTTY: tty,
    };
    return { io, text: () => err };
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("on a terminal: a spinner with elapsed time; lines and notes land above it; nothing left behind", async () => {
    const { io, text } = fakeIO(true);
    const p = createProgress(io, {}, { json: false });
    expect(p.live).toBe(true);
    const t0 = Date.now();
    p.spin(() => `[1/2] Creating IAM user u… ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    await sleep(450);
    p.line("a note from a step");
    await sleep(250);
    p.line("[1/2] ✓ Created IAM user u (0.7s)");
    p.spin(() => "[2/2] Creating ECS cluster c…");
    await sleep(200);
    p.stop();
    const raw = text();
    expect(raw).toMatch(/Creating IAM user u… 0\.[1-9]s/);
    expect(raw).toContain("\u001b[?25l");
    expect(renderScreen(raw, 24, 60)).toEqual(["a note from a step", "[1/2] ✓ Created IAM user u (0.7s)"]);
  });

  it("piped, in JSON mode or with NO_COLOR: plain lines only, no spinner, ora not needed", async () => {
    for (const [tty, env, json] of [
      [false, {}, false],
      [true, {}, true],
      [true, { NO_COLOR: "1" }, false],
      [true, { TERM: "dumb" }, false],
    ] as const) {
      const { io, text } = fakeIO(tty);
      const p = createProgress(io, env, { json });
      expect(p.live).toBe(false);
      p.spin(() => "waiting");
      await sleep(150);
      p.line("[1/1] ✓ Created x y (0.1s)");
      p.stop();
      expect(text()).toBe("[1/1] ✓ Created x y (0.1s)\n");
    }
  });
});

describe("a closed stdout ends wp quietly", () => {
  beforeAll(async () => {
    if (!existsSync("dist/bin.js")) spawnSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
    // `ls -v` then prints well over a pipe's 64 KiB, so the reader surely leaves before wp is done
    // (checked: without the EPIPE handling in processIO, `ls -v | head` prints a stack trace here).
    for (let i = 0; i < 6; i++)
      expect((await runCli(["create", `big-${i}`, "-t", "ecs"], { env: home.env })).code).toBe(0);
  });

  it.each([["ls"], ["ls -v"], ["get-default-base-job-template -t ecs"], ["--help"]])("`wp %s | head -1`", (args) => {
    const r = spawnSync("bash", ["-c", `set -o pipefail; node bin/wp.js ${args} | head -c 1 >/dev/null`], {
      env: { PATH: process.env.PATH, ...home.env },
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("a non-blocking pipe with a slow reader gets every byte (stdout is written straight to the descriptor)", () => {
    const env = { PATH: process.env.PATH, ...home.env };
    const whole = spawnSync("node", ["bin/wp.js", "ls", "-o", "json"], { env, encoding: "utf8" }).stdout;
    expect(whole.length).toBeGreaterThan(96 * 1024);
    // O_NONBLOCK set on the pipe (as a parent Node process can leave it), and a reader that starts late:
    // wp's writes meet EAGAIN once the pipe's 64 KiB are full.
    const nonBlocking =
      "import fcntl, os; fcntl.fcntl(1, fcntl.F_SETFL, fcntl.fcntl(1, fcntl.F_GETFL) | os.O_NONBLOCK); " +
      "os.execvp('node', ['node', 'bin/wp.js', 'ls', '-o', 'json'])";
    const r = spawnSync("bash", ["-c", `set -o pipefail; python3 -c "${nonBlocking}" | (sleep 0.5; cat)`], {
      env,
      encoding: "utf8",
      maxBuffer: 64 << 20,
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(whole);
  });
});

describe("a FIFO nobody writes to as --base-job-template", () => {
  it("is one line, exit 2, nothing created; Ctrl-C is never held up by it", async () => {
    requireBuilt();
    const dir = mkdtempSync(join(tmpdir(), "wp-fifo-"));
    try {
      const fifo = join(dir, "template.json");
      expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
      const env = { ...home.env, PATH: process.env.PATH ?? "" };
      const run = wpProcess(["create", "f", "--type", "process", "--base-job-template", fifo], env);
      const timer = setTimeout(() => run.child.kill("SIGINT"), 3000);
      const { code } = await run.exit;
      clearTimeout(timer);
      expect(code, run.stderr()).toBe(2);
      expect(run.stderr()).toContain("is a FIFO that nothing writes to");
      expect((await runCli(["inspect", "f"], { env: home.env })).code).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
