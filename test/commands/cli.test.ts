import { spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { PromptCancelled } from "../../src/ui/prompts.js";
import { makeHome, runCli, scriptedPrompter } from "../helpers/run-cli.js";

const homes: Array<ReturnType<typeof makeHome>> = [];
afterEach(() => {
  for (const h of homes.splice(0)) h.cleanup();
});

describe("the command line", () => {
  it("--help lists every command and the exit codes on stdout", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    for (const c of [
      "create",
      "ls",
      "inspect",
      "update",
      "pause",
      "resume",
      "delete",
      "set-concurrency-limit",
      "clear-concurrency-limit",
      "get-default-base-job-template",
      "preview",
      "provision-infra",
      "work-pool",
      "server",
    ]) {
      expect(r.stdout).toContain(c);
    }
    expect(r.stdout).toContain("Exit codes:");
    expect(r.stderr).toBe("");
  });

  it("--version, -V and a lone -v print the version; `ls -v` is verbose", async () => {
    for (const flag of ["--version", "-V", "-v"]) {
      const r = await runCli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe("0.1.0");
    }
    const home = makeHome();
    homes.push(home);
    await runCli(["create", "a", "-t", "process"], { env: home.env });
    const ls = await runCli(["ls", "-v"], { env: home.env });
    expect(ls.code).toBe(0);
    // Templates are printed below the table, one per pool, headed by the pool's name.
    expect(ls.stdout).toContain("Base job template of a:\n{");
    expect(ls.stdout.split("\n")[1]).not.toContain("Template");
  });

  it("create --help shows provisioning flags and examples", async () => {
    const r = await runCli(["create", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--provision-infra");
    expect(r.stdout).toContain("--region <region>");
    expect(r.stdout).toContain("--modal-profile <name>");
    expect(r.stdout).toContain("Examples:");
  });

  it("Ctrl-C at a prompt exits 130 and creates nothing", async () => {
    const home = makeHome();
    homes.push(home);
    const cancelled = scriptedPrompter([]);
    cancelled.select = () => Promise.reject(new PromptCancelled("cancelled"));
    const r = await runCli(["create", "x"], { tty: true, env: home.env, prompter: cancelled });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain("Cancelled.");
    expect(JSON.parse((await runCli(["ls", "-o", "json"], { env: home.env })).stdout)).toEqual([]);
  });

  it("server start --help says it is not a full Prefect server", async () => {
    const r = await runCli(["server", "start", "--help"]);
    expect(r.stdout).toContain("not a full Prefect server");
  });

  it("`wp server start --port 0` (the real binary) serves the API on loopback until SIGTERM", async () => {
    const home = makeHome();
    homes.push(home);
    const child = spawn(process.execPath, ["bin/wp.js", "server", "start", "--port", "0"], {
      env: { PATH: process.env.PATH, ...home.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("\n")) resolve(out.trim());
      });
      child.on("exit", (code) => reject(new Error(`server exited ${code}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
    const health = await fetch(`${url}/health`);
    expect(await health.json()).toBe(true);
    const created = await runCli(["create", "over-http", "-t", "process", "-o", "json"], {
      env: { ...home.env, PREFECT_API_URL: url },
    });
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout).name).toBe("over-http");
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
