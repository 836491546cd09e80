import type * as Fs from "node:fs";
import { builtin } from "../builtin.js";

/** The streams a command writes to. stdout carries results only; everything else goes to stderr. */
export interface Stream {
  write(text: string): void;
  isTTY: boolean;
  /** The terminal's width; undefined when the stream is not a terminal (piped output is never cut). */
  columns?: number | undefined;
}

export interface IO {
  stdout: Stream;
  stderr: Stream;
  stdinIsTTY: boolean;
}

/**
 * The real streams. A closed pipe (`wp ls | head -1`) ends wp's output quietly: the first EPIPE
 * turns later writes to that stream into no-ops instead of an unhandled 'error' with a stack trace.
 *
 * Node's stream for a pipe or socket is a net.Socket (Node builds net and the stream classes for it) and for
 * a file a write stream: `wp ls -o json | jq` spent ~9 ms making one. Output that is not a terminal is
 * written straight to the descriptor instead; a terminal (or a device such as /dev/null) keeps Node's stream,
 * made on first use, as stderr's is.
 */
export function processIO(): IO {
  return {
    stdout: fdStream(1, () => process.stdout),
    stderr: fdStream(2, () => process.stderr),
    // Asked only when a prompt could be allowed; process.stdin for a pipe is a net.Socket too, and a
    // terminal is a character device, so only one is made.
    get stdinIsTTY() {
      return characterDevice(0) && Boolean(process.stdin.isTTY);
    },
  };
}

/** A terminal, /dev/null or another device; true when the descriptor cannot be read (Node's stream decides). */
function characterDevice(fd: number): boolean {
  try {
    return builtin<typeof Fs>("node:fs").fstatSync(fd).isCharacterDevice();
  } catch {
    return true;
  }
}

function fdStream(fd: number, node: () => NodeJS.WriteStream): Stream {
  if (characterDevice(fd)) return quietOnClose(node);
  const fs = builtin<typeof Fs>("node:fs");
  let closed = false;
  /** Whether to write on: a non-blocking descriptor another process left is waited for; a gone reader ends it. */
  const retry = (err: unknown): boolean => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EAGAIN") Atomics.wait(PAUSE, 0, 0, 2);
    else if (code === "EPIPE") closed = true;
    else throw err;
    return !closed;
  };
  return {
    write(text) {
      if (closed) return;
      let done = 0;
      try {
        // A blocking descriptor (the usual case) takes the whole string in one call.
        done = fs.writeSync(fd, text);
        if (done === Buffer.byteLength(text)) return;
      } catch (err) {
        if (!retry(err)) return;
      }
      const bytes = Buffer.from(text, "utf8");
      while (!closed && done < bytes.length) {
        try {
          done += fs.writeSync(fd, bytes, done);
        } catch (err) {
          if (!retry(err)) return;
        }
      }
    },
    isTTY: false,
    columns: undefined,
  };
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

function quietOnClose(make: () => NodeJS.WriteStream): Stream {
  let closed = false;
  let made: NodeJS.WriteStream | undefined;
  const stream = () => {
    if (made) return made;
    made = make();
    made.on("error", (err: NodeJS.ErrnoException) => {
      // The reader went away: nothing more can be shown, and that is not wp's failure.
      if (err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED") closed = true;
      else throw err;
    });
    return made;
  };
  return {
    write: (t) => {
      if (closed || stream().destroyed) return;
      stream().write(t);
    },
    get isTTY() {
      return Boolean(stream().isTTY);
    },
    get columns() {
      const s = stream();
      return s.isTTY && s.columns > 0 ? s.columns : undefined;
    },
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

/** Strips wp's own colour escapes (for width computations and tests). */
export function stripAnsi(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}

/**
 * Characters that must never reach a terminal raw: C0 controls (ESC starts escape sequences), DEL,
 * C1 controls (0x9b is a one-byte CSI), line/paragraph separators and the bidirectional overrides
 * that reorder what is shown.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(ch: string): string {
  if (ch === "\n") return "\\n";
  if (ch === "\r") return "\\r";
  if (ch === "\t") return "\\t";
  const code = ch.codePointAt(0) ?? 0;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * Data made safe for a text terminal: every control character becomes a visible escape (`\x1b`,
 * `\n`, `\x9b`, …), the rest is unchanged. Every value that comes from users, servers or clouds
 * (names, types, descriptions, ids, error messages) goes through this before it is printed as text.
 */
export function safeText(value: string): string {
  return value.replace(UNSAFE, escapeChar);
}

/** True when `value` holds a character that safeText would escape. */
export function hasUnsafe(value: string): boolean {
  UNSAFE.lastIndex = 0;
  const found = UNSAFE.test(value);
  UNSAFE.lastIndex = 0;
  return found;
}

/**
 * A JSON document as text. JSON.stringify escapes C0 controls but leaves DEL, C1 and the Unicode
 * separators/overrides raw; those are written as \\uXXXX too (same value when parsed), so JSON on a
 * terminal is as safe as text.
 */
export function jsonText(value: unknown, indent = 2): string {
  return (JSON.stringify(value, null, indent) ?? "null").replace(
    /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (ch) => `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`,
  );
}

/** Python's repr() of a string, as Prefect's messages quote names: 'x', or "x'y" when it holds a quote. Control characters are escaped. */
export function pyRepr(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = "";
  for (const ch of value) {
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += `\\${ch}`;
    else out += safeText(ch);
  }
  return quote + out + quote;
}

// `=` only after the first character: zsh expands a word starting with `=`.
const SHELL_SAFE = /^[A-Za-z0-9_@%+:,./-][A-Za-z0-9_@%+=:,./-]*$/;

/**
 * One word for a POSIX shell, quoted only when needed: `pool`, `'my pool'`, `'it'"'"'s'`. A value with
 * control characters uses dollar-single quotes with octal bytes (`$'a\033b'`; POSIX 2024, bash, zsh,
 * ksh), so the suggestion stays safe on a terminal and still means the same value when pasted.
 */
export function shellQuote(value: string): string {
  if (SHELL_SAFE.test(value)) return value;
  if (hasUnsafe(value)) {
    let out = "";
    for (const ch of value) {
      if (ch === "\\" || ch === "'") out += `\\${ch}`;
      else if (hasUnsafe(ch))
        for (const byte of Buffer.from(ch, "utf8")) out += `\\${byte.toString(8).padStart(3, "0")}`;
      else out += ch;
    }
    return `$'${out}'`;
  }
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

/** A suggested command line: `wp` followed by each argument shell-quoted, e.g. wp inspect 'my pool'. */
export function wpCommand(...args: string[]): string {
  return ["wp", ...args.map(shellQuote)].join(" ");
}
