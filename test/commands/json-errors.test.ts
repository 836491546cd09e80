/**
 * `-o json` / `--json` promise scripts exactly one JSON document on stdout. A command that fails
 * before printing its document prints the error as that document (stderr keeps the one-line error).
 */
import { beforeEach, describe, expect, it } from "vitest";
import { jsonAsked } from "../../src/main.js";
import { makeHome, runCli } from "../helpers/run-cli.js";

describe("errors as the JSON document", () => {
  let home: ReturnType<typeof makeHome>;
  beforeEach(() => {
    home = makeHome();
    return () => home.cleanup();
  });
  const wp = (argv: string[]) =>
    runCli(argv, { env: { ...home.env, MODAL_TOKEN_ID: "ak-1", MODAL_TOKEN_SECRET: "as-secret-value-1" } });
  const doc = (stdout: string) => {
    expect(
      stdout
        .trim()
        .split("\n")
        .filter((l) => l === "{" || l.startsWith("{")).length,
    ).toBe(1);
    return JSON.parse(stdout) as { error: { type: string; message: string; hint?: string; exitCode: number } };
  };

  it.each([
    [["status", "missing", "-o", "json"], 1, "Work pool 'missing' not found."],
    [["verify", "missing", "--json"], 1, "Work pool 'missing' not found."],
    [["rotate-credentials", "missing", "--output=json"], 1, "Work pool 'missing' not found."],
    [["inspect", "missing", "-o", "JSON"], 1, "not found"],
    [["status", "", "-ojson"], 2, ""],
    [["verify", "x", "--timeout", "soon", "--json"], 2, "--timeout"],
  ])("%j: one document with the error, and the exit code", async (argv, code, message) => {
    const r = await wp(argv);
    expect(r.code).toBe(code);
    const d = doc(r.stdout);
    expect(d.error.exitCode).toBe(code);
    expect(d.error.message).toContain(message);
    expect(r.stderr).toContain("Error:");
  });

  it("a write without --yes and without a terminal: the refusal is the document, nothing written", async () => {
    expect((await wp(["create", "m", "-t", "modal:push", "--provision-infra", "--yes"])).code).toBe(0);
    const r = await wp(["deprovision", "m", "-o", "json"]);
    expect(r.code).toBe(2);
    expect(doc(r.stdout).error).toMatchObject({ type: "usage", exitCode: 2 });
    expect(doc(r.stdout).error.hint).toContain("--yes");
    expect((await wp(["inspect", "m", "-o", "json"])).code).toBe(0);
  });

  it("an unknown option is a usage error in the document too; text output stays text", async () => {
    const r = await wp(["ls", "--no-such-flag", "--json"]);
    expect(r.code).toBe(2);
    expect(doc(r.stdout).error.type).toBe("usage");
    const text = await wp(["status", "missing"]);
    expect(text.stdout).toBe("");
  });

  it("recognises the ways of asking for JSON", () => {
    expect(jsonAsked(["ls", "--json"])).toBe(true);
    expect(jsonAsked(["ls", "-o", "json"])).toBe(true);
    expect(jsonAsked(["ls", "-ojson"])).toBe(true);
    expect(jsonAsked(["ls", "--output=JSON"])).toBe(true);
    expect(jsonAsked(["ls", "-o", "text"])).toBe(false);
    expect(jsonAsked(["ls"])).toBe(false);
    expect(jsonAsked(["ls", "--json", "-o", "table"])).toBe(false);
  });
});
