/**
 * Runs the real `bin/wp.js` in a pseudo-terminal of a given size, through Python's `pty` module
 * (python3 is on every machine that runs these tests: moto_server needs it; node-pty would be a
 * native dependency). Keystrokes are sent after given text has appeared; the result is the raw
 * bytes and the screen they leave, from a small VT100 model (cursor moves, erase, auto-wrap).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "../..");

const DRIVER = `
import fcntl, json, os, pty, select, signal, struct, sys, termios, time
rows, cols = int(sys.argv[1]), int(sys.argv[2])
steps = json.loads(sys.argv[3])
timeout = float(sys.argv[4])
argv = sys.argv[5:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.execvp(argv[0], argv)
out = b""
deadline = time.time() + timeout
alive = True
def pump(wait):
    """Reads what is there (waiting up to wait seconds); False when nothing came."""
    global out, alive
    r, _, _ = select.select([fd], [], [], wait)
    if not r:
        return False
    try:
        data = os.read(fd, 65536)
    except OSError:
        data = b""
    if not data:
        alive = False
        return False
    out += data
    return True
for step in steps:
    mark = step.get("after", "").encode()
    start = len(out) if step.get("new") else 0
    while alive and time.time() < deadline and mark not in out[start:]:
        pump(0.05)
    time.sleep(step.get("delay", 0.05))
    while alive and pump(0):
        pass
    start = len(out)
    if alive:
        os.write(fd, step["send"].encode())
while alive and time.time() < deadline:
    pump(0.1)
if alive:
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
sys.stdout.write(json.dumps({"out": out.decode("utf-8", "replace"), "code": code}))
`;

export interface PtyStep {
  /** Wait until this text has been written (anywhere so far, or since the last key with `new`). */
  after?: string;
  new?: boolean;
  /** Seconds to wait after `after` appeared, before sending (default 0.05). */
  delay?: number;
  /** Bytes to type, e.g. "\r", "\u001b[B" (down arrow), "y". */
  send: string;
}

export interface PtyResult {
  code: number;
  /** Everything written to the terminal, escapes included. */
  raw: string;
  /** The final screen, one string per row (trailing spaces trimmed, trailing empty rows dropped). */
  screen: string[];
  /** The same screen as logical lines: rows the terminal wrapped are joined again. */
  lines: string[];
}

export interface PtyOptions {
  rows?: number;
  cols?: number;
  env?: Record<string, string | undefined>;
  steps?: PtyStep[];
  timeoutSeconds?: number;
  /** Wrap the command, e.g. to pipe stdout: ["sh", "-c", "node bin/wp.js ls | cat"]. Default: node bin/wp.js ARGS. */
  command?: string[];
}

/** Runs `node bin/wp.js ...args` on a terminal of rows×cols (default 24×80). Needs `npm run build` first. */
export function runInPty(args: string[], opts: PtyOptions = {}): Promise<PtyResult> {
  if (!existsSync(join(ROOT, "dist/bin.js"))) throw new Error("dist/ is missing: run `npm run build` first");
  const rows = opts.rows ?? 24;
  const cols = opts.cols ?? 80;
  const command = opts.command ?? [process.execPath, join(ROOT, "bin/wp.js"), ...args];
  const py = spawn(
    "python3",
    [
      "-c",
      DRIVER,
      String(rows),
      String(cols),
      JSON.stringify(opts.steps ?? []),
      String(opts.timeoutSeconds ?? 20),
      ...command,
    ],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH, TERM: "xterm-256color", ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  py.stdout.on("data", (d: Buffer) => {
    stdout += d.toString("utf8");
  });
  py.stderr.on("data", (d: Buffer) => {
    stderr += d.toString("utf8");
  });
  return new Promise((resolve, reject) => {
    py.on("error", reject);
    py.on("close", (status) => {
      if (status !== 0) return reject(new Error(`pty driver failed (${status}): ${stderr}`));
      const r = JSON.parse(stdout) as { out: string; code: number };
      const screen = renderScreen(r.out, rows, cols, true);
      resolve({ code: r.code, raw: r.out, screen: screen.map((l) => l.text), lines: joinWrapped(screen) });
    });
  });
}

/**
 * The screen a VT100-like terminal shows after `raw`: printable text with auto-wrap (xterm's pending
 * wrap at the last column), CR, LF as CR LF (the tty's onlcr; scrolling at the bottom), BS, and CSI A/B/C/D/G/H/J/K; other
 * escapes (colours, cursor visibility, synchronized output) change nothing visible.
 */
export function renderScreen(raw: string, rows: number, cols: number): string[];
export function renderScreen(raw: string, rows: number, cols: number, rich: true): ScreenRow[];
export function renderScreen(raw: string, rows: number, cols: number, rich = false): string[] | ScreenRow[] {
  const lines: string[][] = [[]];
  const wrapped = new Set<number>(); // rows continued by auto-wrap from the row above
  let top = 0; // index of the first visible row in `lines`
  let row = 0; // cursor row, relative to top
  let col = 0;
  let pendingWrap = false;
  const line = (r: number) => {
    while (lines.length <= top + r) lines.push([]);
    return lines[top + r] as string[];
  };
  const newline = () => {
    row += 1;
    if (row >= rows) {
      top += 1;
      row = rows - 1;
    }
    line(row);
    wrapped.delete(top + row);
  };
  const chars = [...raw];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === "\u001b") {
      const next = chars[i + 1];
      if (next !== "[") {
        i += 1; // two-character escape, e.g. ESC 7
        continue;
      }
      let j = i + 2;
      let params = "";
      while (j < chars.length && !/[@-~]/.test(chars[j] as string)) params += chars[j++];
      const final = chars[j];
      i = j;
      const n = Number.parseInt(params.replace(/^\?/, ""), 10);
      const count = Number.isNaN(n) || n === 0 ? 1 : n;
      if (params.startsWith("?")) continue;
      pendingWrap = false;
      if (final === "A") row = Math.max(0, row - count);
      else if (final === "B") row = Math.min(rows - 1, row + count);
      else if (final === "C") col = Math.min(cols - 1, col + count);
      else if (final === "D") col = Math.max(0, col - count);
      else if (final === "G") col = Math.min(cols - 1, count - 1);
      else if (final === "H") {
        const [r, c] = params.split(";").map((x) => Number.parseInt(x, 10) || 1);
        row = Math.min(rows - 1, (r ?? 1) - 1);
        col = Math.min(cols - 1, (c ?? 1) - 1);
      } else if (final === "K") {
        const l = line(row);
        const mode = Number.isNaN(n) ? 0 : n;
        if (mode === 0) l.length = Math.min(l.length, col);
        else if (mode === 1) for (let k = 0; k <= col && k < l.length; k++) l[k] = " ";
        else l.length = 0;
      } else if (final === "J") {
        const mode = Number.isNaN(n) ? 0 : n;
        if (mode === 0) {
          const l = line(row);
          l.length = Math.min(l.length, col);
          lines.length = Math.min(lines.length, top + row + 1);
          for (const k of wrapped) if (k > top + row) wrapped.delete(k);
        } else if (mode === 2) for (let r = 0; r < rows; r++) line(r).length = 0;
      }
      continue;
    }
    if (ch === "\r") {
      col = 0;
      pendingWrap = false;
    } else if (ch === "\n") {
      // The tty driver's default (onlcr) turns a newline into CR LF.
      newline();
      col = 0;
      pendingWrap = false;
    } else if (ch === "\b") {
      col = Math.max(0, col - 1);
      pendingWrap = false;
    } else if (ch >= " ") {
      if (pendingWrap) {
        newline();
        wrapped.add(top + row);
        col = 0;
        pendingWrap = false;
      }
      const l = line(row);
      while (l.length < col) l.push(" ");
      l[col] = ch;
      if (col === cols - 1) pendingWrap = true;
      else col += 1;
    }
  }
  const out = lines.map((l, i) => ({ text: l.join("").trimEnd(), full: l.join(""), continued: wrapped.has(i) }));
  while (out.length > 0 && out[out.length - 1]?.text === "") out.pop();
  return rich ? out : out.map((r) => r.text);
}

export interface ScreenRow {
  text: string;
  /** The row untrimmed (a wrapped line may end in a space). */
  full: string;
  /** This row continues the one above (the terminal wrapped a long line). */
  continued: boolean;
}

function joinWrapped(rows: ScreenRow[]): string[] {
  const out: string[] = [];
  for (const [i, r] of rows.entries()) {
    // A row the next one continues was full to the edge: keep its trailing spaces.
    const text = rows[i + 1]?.continued ? r.full : r.text;
    if (r.continued && out.length > 0) out[out.length - 1] += text;
    else out.push(text);
  }
  return out;
}
