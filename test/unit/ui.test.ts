import { describe, expect, it } from "vitest";
import { renderSummary } from "../../src/engine/render.js";
import { jsonText, palette, pyRepr, safeText, shellQuote, stripAnsi, wpCommand } from "../../src/ui/io.js";
import { formatElapsed } from "../../src/ui/progress.js";
import { rowsOf } from "../../src/ui/prompts.js";
import { displayWidth, renderTable } from "../../src/ui/table.js";
import { renderScreen } from "../helpers/pty.js";

describe("safeText: data never reaches a terminal raw", () => {
  it("escapes C0, ESC sequences, DEL, C1 and bidi overrides; keeps the rest", () => {
    expect(safeText("a\u001b[31mb")).toBe("a\\x1b[31mb");
    expect(safeText("line\nnext\r\t")).toBe("line\\nnext\\r\\t");
    expect(safeText("\u0000\u0007\u007f")).toBe("\\x00\\x07\\x7f");
    expect(safeText("\u009b31m")).toBe("\\x9b31m");
    expect(safeText("abc\u202edef")).toBe("abc\\u202edef");
    expect(safeText("plain-name_1 ünïcode 名前 🚀")).toBe("plain-name_1 ünïcode 名前 🚀");
  });

  it("pyRepr quotes like Python and escapes control characters (C1 too)", () => {
    expect(pyRepr("x")).toBe("'x'");
    expect(pyRepr("it's")).toBe(`"it's"`);
    expect(pyRepr("a\u001bb\u009b")).toBe("'a\\x1bb\\x9b'");
    expect(pyRepr("back\\slash")).toBe("'back\\\\slash'");
  });

  it("jsonText is JSON.stringify with DEL/C1/separators escaped too, and parses to the same value", () => {
    const value = { name: "a\u001b[31mb\u009b\u007f\u2028" };
    const text = jsonText(value);
    expect([...text].filter((ch) => ch !== "\n" && safeText(ch) !== ch)).toEqual([]);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe("shellQuote: suggested commands paste back as the same words", () => {
  it("leaves safe words alone and single-quotes the rest", () => {
    expect(shellQuote("my-pool_1.x")).toBe("my-pool_1.x");
    expect(shellQuote("ecs:push")).toBe("ecs:push");
    expect(shellQuote("my pool")).toBe("'my pool'");
    expect(shellQuote("it's $HOME")).toBe(`'it'"'"'s $HOME'`);
    expect(shellQuote("")).toBe("''");
    expect(shellQuote("=cmd")).toBe("'=cmd'");
    expect(shellQuote("a;rm -rf ~")).toBe("'a;rm -rf ~'");
  });

  it("uses $'…' with octal bytes for control characters, never a raw escape", () => {
    expect(shellQuote("a\u001b[31mb")).toBe("$'a\\033[31mb'");
    expect(shellQuote("x'\n")).toBe("$'x\\'\\012'");
    expect(shellQuote("\u009b")).toBe("$'\\302\\233'");
  });

  it("wpCommand builds a suggestion", () => {
    expect(wpCommand("provision-infra", "my pool")).toBe("wp provision-infra 'my pool'");
    expect(wpCommand("inspect", "p")).toBe("wp inspect p");
  });
});

describe("tables", () => {
  const cols = [{ header: "Name" }, { header: "ID", keep: true }];
  const rows = [
    ["a-very-long-pool-name-that-goes-on-and-on", "0123456789abcdef"],
    ["short", "fedcba9876543210"],
  ];

  it("piped (no columns): nothing is cut", () => {
    const out = renderTable(cols, rows);
    expect(out).toContain("a-very-long-pool-name-that-goes-on-and-on");
    expect(out).not.toContain("…");
  });

  it("on a terminal: fits the width, cuts with …, keeps kept columns whole", () => {
    const out = renderTable(cols, rows, { columns: 30 });
    for (const line of out.trimEnd().split("\n")) expect(displayWidth(line)).toBeLessThanOrEqual(30);
    expect(out).toContain("…");
    expect(out).toContain("0123456789abcdef");
    expect(out).toMatch(/^a-very-long\S*…\s+0123456789abcdef$/m);
  });

  it("escapes control characters in cells and aligns wide characters", () => {
    const out = renderTable(
      [{ header: "Name" }, { header: "X" }],
      [
        ["a\u001b[31mb", "1"],
        ["名前", "2"],
      ],
    );
    expect(out).toContain("a\\x1b[31mb  1");
    expect(out).toContain("名前        2");
    expect(out).not.toContain("\u001b");
  });

  it("colours segments after cutting, so a cut never splits an escape", () => {
    const p = palette(true);
    const out = renderTable(
      [{ header: "N" }],
      [
        [
          [
            { text: "abcdefghijkl", paint: p.green },
            { text: " (**)", paint: p.red },
          ],
        ],
      ],
      {
        columns: 8,
      },
    );
    expect(out).toContain("\u001b[32mabcdefg\u001b[39m\u001b[32m…\u001b[39m");
    expect(stripAnsi(out)).toContain("abcdefg…");
  });
});

describe("progress and summary text", () => {
  it("formats elapsed times", () => {
    expect(formatElapsed(1234)).toBe("1.2s");
    expect(formatElapsed(59_940)).toBe("59.9s");
    expect(formatElapsed(125_000)).toBe("2m05s");
  });

  it("the summary is one aligned row per resource with status and id", () => {
    const text = renderSummary(
      [
        {
          id: "a",
          resource: "IAM user",
          name: "prefect-ecs-user",
          target: "aws",
          status: "created",
          resourceId: "AIDA1",
        },
        { id: "b", resource: "ECS cluster", name: "c", target: "aws", status: "exists", resourceId: "arn:aws:ecs:x" },
        { id: "c", resource: "Work pool", name: "p\u001b[2J", target: "prefect", status: "failed", error: "boom" },
      ],
      palette(false),
    );
    const lines = text.trim().split("\n");
    expect(lines[0]).toBe("Summary:");
    expect(lines[1]).toMatch(/^ {2}Resource {5}Name {14}Status {3}ID$/);
    expect(lines[2]).toBe("  IAM user     prefect-ecs-user  created  AIDA1");
    expect(lines[3]).toBe("  ECS cluster  c                 exists   arn:aws:ecs:x");
    expect(lines[4]).toBe("  Work pool    p\\x1b[2J          failed");
    // The error was on its progress line and is the final error line: not repeated here.
    expect(text).not.toContain("boom");
  });
});

describe("prompt redraw geometry", () => {
  it("counts wrapped rows", () => {
    expect(rowsOf("abc", 40)).toBe(1);
    expect(rowsOf("x".repeat(40), 40)).toBe(1);
    expect(rowsOf("x".repeat(41), 40)).toBe(2);
    expect(rowsOf(`${"x".repeat(100)}\n\nshort`, 40)).toBe(5);
    expect(rowsOf("\u001b[2mdim\u001b[22m", 3)).toBe(1);
    expect(rowsOf("名前名前", 4)).toBe(2);
  });

  it("the screen model wraps, moves the cursor and erases like a terminal", () => {
    expect(renderScreen("hello\nworld", 5, 20)).toEqual(["hello", "world"]);
    expect(renderScreen("abcdefgh", 5, 4)).toEqual(["abcd", "efgh"]);
    expect(renderScreen("abcd\nx", 5, 4)).toEqual(["abcd", "x"]);
    expect(renderScreen("one\ntwo\n\u001b[2A\u001b[0Jnew\n", 5, 20)).toEqual(["new"]);
    expect(renderScreen("spin\r\u001b[0Kdone\n", 5, 20)).toEqual(["done"]);
  });
});
