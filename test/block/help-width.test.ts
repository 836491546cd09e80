/** Every help screen fits 80 columns when piped (and on an 80-column terminal): no line is wider. */
import { describe, expect, it } from "vitest";
import { type CommandNode, loadAll } from "../../src/commands/registry.js";
import { runCli } from "../helpers/run-cli.js";

const tree = await loadAll();

/** The argv of every command and group, walking the groups' subcommands (`work-pool` holds every pool command). */
function paths(): string[][] {
  const out: string[][] = [[]];
  const walk = (prefix: string[], node: CommandNode) => {
    const here = [...prefix, node.name];
    out.push(here);
    if ("commands" in node) for (const c of node.commands) walk(here, c);
  };
  for (const node of tree) walk([], node);
  return out;
}

describe("help screens are at most 80 columns wide", () => {
  const all = paths();

  it("covers the groups' subcommands", () => {
    const joined = all.map((p) => p.join(" "));
    for (const p of [
      "block create",
      "storage configure azure-blob-storage",
      "work-pool storage configure s3",
      "work-pool ls",
      "server start",
      "export terraform",
    ]) {
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
