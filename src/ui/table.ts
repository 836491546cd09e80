import { stripAnsi } from "./io.js";

export interface Column {
  header: string;
  align?: "left" | "right";
}

/** A plain boxed-free table: header, rule, rows; widths from the visible text. */
export function renderTable(columns: Column[], rows: string[][], title?: string): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => stripAnsi(r[i] ?? "").length)));
  const pad = (text: string, i: number): string => {
    const w = widths[i] ?? 0;
    const gap = " ".repeat(Math.max(0, w - stripAnsi(text).length));
    return columns[i]?.align === "right" ? gap + text : text + gap;
  };
  const line = (cells: string[]) =>
    cells
      .map((c, i) => pad(c, i))
      .join("  ")
      .trimEnd();
  const out: string[] = [];
  if (title) out.push(title);
  out.push(line(columns.map((c) => c.header)));
  out.push(line(widths.map((w) => "─".repeat(w))));
  for (const r of rows) out.push(line(r));
  return `${out.join("\n")}\n`;
}
