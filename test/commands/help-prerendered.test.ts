/**
 * `wp --help` is served pre-rendered by bin/wp.js (dist/help-80.txt, help-100.txt, written by the build)
 * without loading the CLI: it must be exactly what the CLI renders, piped and on a wide terminal.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/run-cli.js";
import { requireBuilt } from "../helpers/wp-process.js";

const widest = (s: string) => Math.max(...s.split("\n").map((l) => l.length));

describe("pre-rendered wp --help", () => {
  it("is what the CLI renders when piped (80 columns), for --help and -h, exit 0", async () => {
    requireBuilt();
    const rendered = await runCli(["--help"]);
    expect(rendered.code).toBe(0);
    expect(widest(rendered.stdout)).toBeLessThanOrEqual(80);
    for (const flag of ["--help", "-h"]) {
      const r = spawnSync(process.execPath, [join("bin", "wp.js"), flag], { encoding: "utf8", env: { PATH: "" } });
      expect(r.status).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(rendered.stdout);
    }
  });

  it("is what the CLI renders on a terminal of 100 columns or more", async () => {
    const rendered = await runCli(["--help"], { tty: true, columns: 160 });
    expect(widest(rendered.stdout)).toBeGreaterThan(80);
    expect(widest(rendered.stdout)).toBeLessThanOrEqual(100);
    expect(readFileSync(join("dist", "help-100.txt"), "utf8")).toBe(rendered.stdout);
  });

  it("lists commands by name and arguments, so their descriptions wrap within 80 columns", async () => {
    const { stdout } = await runCli(["--help"]);
    expect(stdout).toMatch(/^ {2}provision-infra <name> {2,}/m);
    expect(stdout).not.toContain("provision-infrastructure");
    expect(stdout).not.toMatch(/^ {2}\S+ \[options\]/m);
  });
});
