/** The streams a command writes to. stdout carries results only; everything else goes to stderr. */
export interface Stream {
  write(text: string): void;
  isTTY: boolean;
}

export interface IO {
  stdout: Stream;
  stderr: Stream;
  stdinIsTTY: boolean;
}

export function processIO(): IO {
  return {
    stdout: { write: (t) => process.stdout.write(t), isTTY: Boolean(process.stdout.isTTY) },
    stderr: { write: (t) => process.stderr.write(t), isTTY: Boolean(process.stderr.isTTY) },
    stdinIsTTY: Boolean(process.stdin.isTTY),
  };
}

/** Colour for a stream: only on a terminal, NO_COLOR wins, FORCE_COLOR forces it. */
export function colorEnabled(stream: Stream, env: Record<string, string | undefined>): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") return true;
  return stream.isTTY && env.TERM !== "dumb";
}

export type Paint = (text: string) => string;
export interface Palette {
  green: Paint;
  red: Paint;
  yellow: Paint;
  blue: Paint;
  cyan: Paint;
  magenta: Paint;
  dim: Paint;
  bold: Paint;
}

export function palette(enabled: boolean): Palette {
  const c =
    (open: number, close: number): Paint =>
    (t) =>
      enabled ? `\u001b[${open}m${t}\u001b[${close}m` : t;
  return {
    green: c(32, 39),
    red: c(31, 39),
    yellow: c(33, 39),
    blue: c(34, 39),
    cyan: c(36, 39),
    magenta: c(35, 39),
    dim: c(2, 22),
    bold: c(1, 22),
  };
}

/** Strips ANSI escapes (for width computations and tests). */
export function stripAnsi(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}

/** Python's repr() of a string, as Prefect's messages quote names: 'x', or "x'y" when it holds a quote. */
export function pyRepr(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = "";
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return quote + out + quote;
}

/** A value quoted for a POSIX shell when it needs it, for commands wp suggests. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, "'\\''")}'`;
}

/** Control characters (C0 but tab and newline, DEL, C1): escape sequences cannot reach a terminal. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Text safe for a terminal: each control character written as \\xNN. */
export function sanitize(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
