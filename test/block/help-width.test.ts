/** Every help screen fits 80 columns when piped (and on an 80-column terminal): no line is wider. */
import { describe, expect, it } from "vitest";
import { blockGroup, type CommandGroup, commands, serverCommand, storageGroup } from "../../src/commands/registry.js";
import type { CommandSpec } from "../../src/commands/spec.js";
import { runCli } from "../helpers/run-cli.js";

/** The argv of every command and group, walking the groups' subcommands. */
function paths(): string[][] {
  const out: string[][] = [[], ...commands.map((c) => [c.name]), ["server"], ["server", serverCommand.name]];
  out.push(["work-pool"], ...commands.map((c) => ["work-pool", c.name]));
  const walk = (prefix: string[], node: CommandSpec | CommandGroup) => {
    const here = [...prefix, node.name];
    out.push(here);
    if ("commands" in node) for (const c of node.commands) walk(here, c);
  };
  walk([], blockGroup);
  walk([], storageGroup);
  walk(["work-pool"], storageGroup);
  return out;
}

describe("help screens are at most 80 columns wide", () => {
  const all = paths();

  it("covers the groups' subcommands", () => {
    const joined = all.map((p) => p.join(" "));
    for (const p of ["block create", "storage configure azure-blob-storage", "storage configure s3", "server start"]) {
      expect(joined).toContain(p);
    }
  });

  it.each(all.map((p) => [p.join(" ") || "(top)", p]))("`wp %s --help`", async (_label, argv) => {
    for (const tty of [false, true]) {
      const r = await runCli([...(argv as string[]), "--help"], { tty, columns: 80 });
      expect(r.code).toBe(0);
      const wide = r.stdout.split("\n").filter((l) => l.length > 80);
      expect(wide, `tty=${tty}`).toEqual([]);
    }
  });
});
