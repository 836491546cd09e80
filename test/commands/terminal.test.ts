/**
 * The real terminal screens: `bin/wp.js` in a pseudo-terminal (test/helpers/pty.ts), keystrokes
 * typed, and the screen they leave checked — picker, prompt redraws in a narrow terminal, spinners
 * on a terminal and plain lines when piped, tables fitted to the width.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../src/prefect/embedded/http.js";
import { stripAnsi } from "../../src/ui/io.js";
import { runInPty } from "../helpers/pty.js";
import { makeHome, runCli } from "../helpers/run-cli.js";

const DOWN = "\u001b[B";
const QUESTION = "What type of work pool infrastructure would you like to use?";
let home: ReturnType<typeof makeHome>;
// A terminal session: no CI, colour allowed (makeHome turns it off for in-process tests).
const env = () => ({ ...home.env, NO_COLOR: undefined, CI: undefined });

beforeAll(() => {
  if (!existsSync("dist/bin.js")) spawnSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
  home = makeHome();
});
afterAll(() => home.cleanup());

describe("the type picker", () => {
  it("shows each type's slug next to its display name, and creates the chosen type", async () => {
    const r = await runInPty(["create", "picked"], {
      env: env(),
      steps: [
        { after: "Use arrows", send: DOWN },
        { after: ">", new: true, send: "\r" },
      ],
    });
    expect(r.code, r.raw).toBe(0);
    expect(r.raw).toContain("Process (process)");
    expect(r.raw).toMatch(/AWS Elastic Container Service \(ecs\)|\(ecs:push\)/);
    const chosen = r.lines.find((l) => l.startsWith(`? ${QUESTION}`));
    expect(chosen).toMatch(/\(([a-z:-]+)\)$/);
    const slug = /\(([a-z:-]+)\)$/.exec(chosen ?? "")?.[1];
    const pool = JSON.parse((await runCli(["inspect", "picked", "-o", "json"], { env: home.env })).stdout);
    expect(pool.type).toBe(slug);
  });
});

describe("prompts in a terminal narrower than their text", () => {
  it("the picker redraws in 40 columns without leaving copies of the question behind", async () => {
    const r = await runInPty(["create", "narrow"], {
      cols: 40,
      env: env(),
      steps: [
        { after: "Use arrows", send: DOWN },
        { after: ">", new: true, send: DOWN },
        { after: ">", new: true, send: DOWN },
        { after: ">", new: true, send: "\r" },
      ],
    });
    expect(r.code, r.raw).toBe(0);
    // The question wraps over several rows; after three redraws and the answer it is on screen once.
    const starts = r.lines.filter((l) => l.includes("What type"));
    expect(starts).toHaveLength(1);
    expect(starts[0]?.startsWith(`? ${QUESTION} `)).toBe(true);
    expect(starts[0], JSON.stringify(r.lines)).toMatch(/ \([a-z:-]+\)$/);
    // No leftover rows of the list or its instructions.
    expect(r.lines.some((l) => l.includes("Use arrows"))).toBe(false);
    expect(r.lines.some((l) => l.startsWith("> "))).toBe(false);
    expect(r.lines[1]).toMatch(/^Created work pool 'narrow'!$/);
  });

  it("a confirmation longer than the terminal is answered in place", async () => {
    const name = `pool-with-a-long-name-${"x".repeat(30)}`;
    expect((await runCli(["create", name, "-t", "process"], { env: home.env })).code).toBe(0);
    const r = await runInPty(["delete", name], {
      cols: 40,
      env: env(),
      steps: [{ after: "[y/N]", send: "y" }],
    });
    expect(r.code, r.raw).toBe(0);
    expect(r.lines).toEqual([
      `? Are you sure you want to delete work pool with name '${name}'? [y/N] yes`,
      `Deleted work pool '${name}'`,
    ]);
  });
});

describe("provisioning progress", () => {
  let server: { url: string; close(): Promise<void> };
  let proxy: Server;
  let apiUrl = "";

  beforeAll(async () => {
    const api = makeHome();
    server = await startServer({ home: api.env.WP_HOME, host: "127.0.0.1", port: 0 });
    const target = new URL(server.url);
    // Block writes take 1.5 s, so the step is waited for long enough to see its spinner.
    proxy = createServer((req, res) => {
      const slow = req.method === "POST" && (req.url ?? "").includes("/block_documents");
      setTimeout(
        () => {
          const up = request(
            { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
            (r) => {
              res.writeHead(r.statusCode ?? 502, r.headers);
              r.pipe(res);
            },
          );
          req.pipe(up);
        },
        slow ? 1500 : 0,
      );
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    apiUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/api`;
  });
  afterAll(async () => {
    proxy.close();
    await server.close();
  });

  const provisionEnv = (extra: Record<string, string | undefined> = {}) => ({
    ...env(),
    PREFECT_API_URL: apiUrl,
    MODAL_TOKEN_ID: "ak-test",
    MODAL_TOKEN_SECRET: "as-test",
    ...extra,
  });

  it("on a terminal: a spinner with the elapsed time, then lines in plan order with their times", async () => {
    const r = await runInPty(["create", "spun", "-t", "modal:push", "--provision-infra", "--yes"], {
      env: provisionEnv(),
    });
    expect(r.code, r.raw).toBe(0);
    // The spinner was drawn (a frame, the step, a running time) …
    expect(stripAnsi(r.raw)).toMatch(
      /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \[2\/3\] Creating Modal credentials block spun-modal-credentials… \d+\.\ds/,
    );
    expect(r.raw).toContain("\u001b[?25l");
    // … and cleared: the screen holds the finished lines, in order, and no spinner text.
    const lines = r.screen.filter((l) => /^\[\d\/3\]/.test(l));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe("[1/3] ✓ Already there: Block type modal-credentials");
    expect(lines[1]).toMatch(/^\[2\/3\] ✓ Created Modal credentials block spun-modal-credentials \(1\.\ds\)$/);
    expect(lines[2]).toMatch(/^\[3\/3\] ✓ Created Work pool spun \(\d+\.\ds\)$/);
    expect(r.screen.some((l) => l.includes("Creating"))).toBe(false);
    expect(r.screen).toContain("Summary:");
  });

  it("piped: the same lines, one per step, without spinner or cursor codes", async () => {
    const r = await runInPty([], {
      command: [
        "sh",
        "-c",
        `"${process.execPath}" bin/wp.js create piped -t modal:push --provision-infra --yes 2>&1 | cat`,
      ],
      env: provisionEnv(),
    });
    expect(r.code, r.raw).toBe(0);
    expect(r.raw).not.toContain("Creating Modal");
    expect(r.raw).not.toContain("\u001b[?25l");
    expect(r.raw).toMatch(/\[2\/3\] ✓ Created Modal credentials block piped-modal-credentials \(1\.\ds\)/);
  });

  it("with NO_COLOR on a terminal: plain lines, no spinner", async () => {
    const r = await runInPty(["create", "nocolor", "-t", "modal:push", "--provision-infra", "--yes"], {
      env: provisionEnv({ NO_COLOR: "1" }),
    });
    expect(r.code, r.raw).toBe(0);
    expect(r.raw).not.toContain("Creating Modal");
    expect(r.raw).toMatch(/\[2\/3\] ✓ Created Modal credentials block nocolor-modal-credentials \(1\.\ds\)/);
  });
});

describe("tables on a terminal", () => {
  it("wp ls fits an 80-column terminal (long names cut with …); piped it is never cut", async () => {
    const long = `a-pool-with-a-name-far-too-long-for-sixty-columns-${"z".repeat(20)}`;
    expect((await runCli(["create", long, "-t", "process"], { env: home.env })).code).toBe(0);
    const r = await runInPty(["ls"], { cols: 80, env: env() });
    expect(r.code).toBe(0);
    const row = r.screen.find((l) => l.startsWith("a-pool-with"));
    expect(row).toMatch(/^a-pool-with\S*… +\S+ +[0-9a-f-]{36} +none$/);
    expect(r.lines).toEqual(r.screen);
    const piped = await runCli(["ls"], { env: home.env });
    expect(piped.stdout).toContain(long);
  });
});
