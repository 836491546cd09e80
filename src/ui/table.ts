/**
 * Tables without boxes: header, rule, rows; widths from the visible text. On a terminal the table is
 * fitted to its width (the widest cuttable columns give way, cut values end in `…`); piped output is
 * never cut, so scripts get every character. Cell text is data: control characters are escaped.
 * Our own ~100 lines instead of cli-table3, which costs ~15 ms to load on every `wp ls`.
 */
import { type Paint, safeText } from "./io.js";

export interface Column {
  header: string;
  align?: "left" | "right";
  /** Never cut this column (ids, ARNs): the others give way first. */
  keep?: boolean;
}

/** Part of a cell with its own colour, e.g. a name in green followed by " (**)" in red. */
export interface Segment {
  text: string;
  paint?: Paint;
}

/** A cell: plain text, or coloured segments. Text is escaped before it is measured. */
export type Cell = string | Segment | Segment[];

export interface TableOptions {
  title?: string;
  /** The terminal width to fit; undefined (piped) = never cut. */
  columns?: number | undefined;
  /** Leading spaces on every line. */
  indent?: number;
  /** The ─── line under the header (default true). */
  rule?: boolean;
}

const GAP = 2;
const ELLIPSIS = "…";
/** Below this a cut column would say nothing. */
const MIN_WIDTH = 6;

export function renderTable(columns: Column[], rows: Cell[][], options: TableOptions | string = {}): string {
  const o: TableOptions = typeof options === "string" ? { title: options } : options;
  const indent = " ".repeat(o.indent ?? 0);
  const body = rows.map((r) => columns.map((_c, i) => segments(r[i] ?? "")));
  const natural = columns.map((c, i) => Math.max(displayWidth(c.header), ...body.map((r) => width(r[i] ?? []))));
  const widths = o.columns === undefined ? natural : fitWidths(columns, natural, o.columns - indent.length);
  const line = (cells: Segment[][]) =>
    indent +
    cells
      .map((cell, i) => {
        const w = widths[i] ?? 0;
        const cut = truncate(cell, w);
        const gap = " ".repeat(Math.max(0, w - width(cut)));
        const text = cut.map((s) => (s.paint ? s.paint(s.text) : s.text)).join("");
        return columns[i]?.align === "right" ? gap + text : text + gap;
      })
      .join(" ".repeat(GAP))
      .trimEnd();
  const out: string[] = [];
  if (o.title) out.push(indent + safeText(o.title));
  out.push(line(columns.map((c) => [{ text: c.header }])));
  if (o.rule !== false) out.push(line(widths.map((w) => [{ text: "─".repeat(w) }])));
  for (const r of body) out.push(line(r));
  return `${out.join("\n")}\n`;
}

/**
 * Narrows the cuttable columns until the table fits `total`: always the widest one by one column
 * (so long values share the cut fairly), none below MIN_WIDTH; headers are cut like values.
 */
function fitWidths(columns: Column[], natural: number[], total: number): number[] {
  const widths = [...natural];
  let excess = widths.reduce((a, b) => a + b, 0) + GAP * Math.max(0, widths.length - 1) - total;
  while (excess > 0) {
    let widest = -1;
    for (const [i, w] of widths.entries()) {
      if (columns[i]?.keep || w <= MIN_WIDTH) continue;
      if (widest < 0 || w > (widths[widest] ?? 0)) widest = i;
    }
    if (widest < 0) break;
    widths[widest] = (widths[widest] ?? 0) - 1;
    excess -= 1;
  }
  return widths;
}

function segments(cell: Cell): Segment[] {
  const list = typeof cell === "string" ? [{ text: cell }] : Array.isArray(cell) ? cell : [cell];
  return list.map((s) => ({ ...s, text: safeText(s.text) }));
}

function width(cell: Segment[]): number {
  return cell.reduce((n, s) => n + displayWidth(s.text), 0);
}

/** Cuts a cell to `max` columns, ending it with … when anything was cut. */
export function truncate(cell: Segment[], max: number): Segment[] {
  if (width(cell) <= max) return cell;
  const out: Segment[] = [];
  let room = max - 1;
  for (const s of cell) {
    let text = "";
    for (const ch of s.text) {
      const w = charWidth(ch);
      if (w > room) break;
      text += ch;
      room -= w;
    }
    if (text) out.push({ ...s, text });
    if (text.length < s.text.length) {
      out.push({ ...s, text: ELLIPSIS });
      break;
    }
  }
  return out;
}

/** Cuts plain text to `max` terminal columns with … (for single-line messages). */
export function truncateText(text: string, max: number): string {
  return truncate([{ text }], max)
    .map((s) => s.text)
    .join("");
}

/** Columns a string takes on a terminal: wide (CJK, emoji) characters 2, combining marks 0. */
export function displayWidth(text: string): number {
  let n = 0;
  for (const ch of text) n += charWidth(ch);
  return n;
}

function charWidth(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (
    (cp >= 0x300 && cp <= 0x36f) ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    (cp >= 0x1ab0 && cp <= 0x1aff) ||
    (cp >= 0x20d0 && cp <= 0x20ff)
  )
    return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  )
    return 2;
  return 1;
}
