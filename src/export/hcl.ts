/**
 * A small HCL (Terraform native syntax) writer: values, attributes, nested blocks and comments.
 * Strings are written as quoted template literals with HCL's escapes (`\"`, `\\`, `\n`, `\t`,
 * `\uNNNN` for other controls) and the template sequences `${` and `%{` doubled (`$${`, `%%{`), so
 * data from a template such as `{{ image }}` or a JSON document is written as the exact text, never
 * evaluated. Spec: https://github.com/hashicorp/hcl/blob/main/hclsyntax/spec.md (Template
 * Expressions, "Literal" escapes).
 */

/** A Terraform expression written as is (a reference, a function call). A class: JSON data is never one. */
export class Expr {
  constructor(readonly expr: string) {}
}

/** A function applied to one value, e.g. `jsonencode({ … })`, indented with its surroundings. */
export class Call {
  constructor(
    readonly call: string,
    readonly arg: Value,
  ) {}
}

export type Value = string | number | boolean | null | Expr | Call | Value[] | { [key: string]: Value };

export const expr = (text: string): Expr => new Expr(text);

export const call = (fn: string, arg: Value): Call => new Call(fn, arg);

/** One line of a body: an attribute, a nested block, a comment or a blank line. */
export type BodyItem = { attr: string; value: Value } | { block: Block } | { comment: string } | { blank: true };

export interface Block {
  type: string;
  labels?: string[];
  /** Comment lines written above the block. */
  comments?: string[];
  body: BodyItem[];
}

/** A quoted HCL string literal whose value is exactly `s`. */
export function quote(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    // U+E000 marks references in rendered text (model.ts REF): in data it is always escaped.
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0) || c === 0x2028 || c === 0x2029 || c === 0xe000)
      out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  // Template sequences stay literal text.
  return `"${out.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{")}"`;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** An object key: bare when it is an identifier, quoted otherwise (`"$ref"`, `"x.y"`). */
function key(k: string): string {
  return IDENT.test(k) ? k : quote(k);
}

/** A value as HCL; objects and lists over several lines, indented by `depth`. */
export function renderValue(v: Value, depth = 0): string {
  if (v === null) return "null";
  if (typeof v === "string") return quote(v);
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (v instanceof Expr) return v.expr;
  if (v instanceof Call) return `${v.call}(${renderValue(v.arg, depth)})`;
  const pad = "  ".repeat(depth + 1);
  const end = "  ".repeat(depth);
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return `[\n${v.map((x) => `${pad}${renderValue(x, depth + 1)},`).join("\n")}\n${end}]`;
  }
  const entries = Object.entries(v);
  if (entries.length === 0) return "{}";
  const width = Math.max(...entries.map(([k]) => key(k).length));
  return `{\n${entries.map(([k, x]) => `${pad}${key(k).padEnd(width)} = ${renderValue(x, depth + 1)}`).join("\n")}\n${end}}`;
}

/** Comment text on one line each; a comment can never end the line early or start a block. */
function commentLines(text: string, indent: string): string[] {
  // Controls (and the reference mark U+E000) shown escaped: a name in a comment is only text.
  const shown = (l: string) =>
    l.replace(/[\p{Cc}\u2028\u2029\uE000]/gu, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`);
  return text.split("\n").map((l) => `${indent}# ${shown(l)}`.trimEnd());
}

export function renderBlock(b: Block, depth = 0): string {
  const indent = "  ".repeat(depth);
  const inner = "  ".repeat(depth + 1);
  const head = [b.type, ...(b.labels ?? []).map(quote)].join(" ");
  const lines: string[] = [];
  for (const c of b.comments ?? []) lines.push(...commentLines(c, indent));
  // Attributes in a run are aligned on their `=`, as `terraform fmt` does.
  const width = (i: number) => {
    let w = 0;
    for (let j = i; j < b.body.length; j++) {
      const item = b.body[j];
      if (!item || !("attr" in item)) break;
      w = Math.max(w, item.attr.length);
    }
    return w;
  };
  const body: string[] = [];
  let run = 0;
  b.body.forEach((item, i) => {
    if ("attr" in item) {
      const prev = b.body[i - 1];
      if (!prev || !("attr" in prev)) run = width(i);
      body.push(`${inner}${item.attr.padEnd(run)} = ${renderValue(item.value, depth + 1)}`);
    } else if ("block" in item) body.push(renderBlock(item.block, depth + 1));
    else if ("comment" in item) body.push(...commentLines(item.comment, inner));
    else body.push("");
  });
  lines.push(body.length ? `${indent}${head} {\n${body.join("\n")}\n${indent}}` : `${indent}${head} {}`);
  return lines.join("\n");
}

/** A file of blocks, one blank line between them, a header comment first. */
export function renderFile(header: string[], blocks: Block[]): string {
  const head = header.flatMap((h) => commentLines(h, "")).join("\n");
  return `${[head, ...blocks.map((b) => renderBlock(b))].filter(Boolean).join("\n\n")}\n`;
}

/** A Terraform resource name (label): letters, digits and underscores, starting with a letter. */
export function labelOf(name: string): string {
  const s = name
    // PrefectEcsTaskExecutionRole → prefect_ecs_task_execution_role
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/_+/g, "_")
    .replace(/^_|_$/g, "");
  return /^[a-z]/.test(s) ? s : `r_${s || "resource"}`;
}
