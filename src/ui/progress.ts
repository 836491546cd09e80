/**
 * Progress on stderr: a spinner with the elapsed time while something is waited for, and permanent
 * lines (finished steps, notes) that never break it — the spinner is cleared, the line written, and
 * the spinner drawn again below. The spinner is shown only when stderr is a terminal, output is not
 * JSON, NO_COLOR is unset and TERM is not "dumb"; otherwise only the permanent lines are written,
 * one per line. ora is imported lazily, and only in that case (it costs ~60 ms to load).
 */
import type { IO } from "./io.js";
import { stripAnsi } from "./io.js";
import { truncateText } from "./table.js";

export interface Progress {
  /** Shows a spinner with `text()` (re-read every frame, e.g. for an elapsed time). Replaces the current one. */
  spin(text: () => string): void;
  /** A permanent line; a running spinner is cleared first and drawn again after it. */
  line(text: string): void;
  /** Stops and clears the spinner. Safe to call more than once. */
  stop(): void;
  /** True when a spinner is shown (a terminal); false when only lines are written. */
  readonly live: boolean;
}

interface Spinner {
  start(): unknown;
  stop(): unknown;
  text: string;
}

export function spinnersEnabled(io: IO, env: Record<string, string | undefined>, json: boolean): boolean {
  if (json || !io.stderr.isTTY) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return env.TERM !== "dumb";
}

export function createProgress(io: IO, env: Record<string, string | undefined>, opts: { json: boolean }): Progress {
  const live = spinnersEnabled(io, env, opts.json);
  if (!live) {
    return { live, spin: () => undefined, line: (text) => io.stderr.write(`${text}\n`), stop: () => undefined };
  }
  let current: (() => string) | null = null;
  let spinner: Spinner | null = null;
  let ticker: ReturnType<typeof setInterval> | undefined;
  // Loaded on the first spin only (a dry run never pays for it); the spinner appears once it is there.
  let loaded: Promise<typeof import("ora").default | null> | undefined;
  const frameText = () => {
    // One row only: a wrapped spinner line could not be cleared cleanly.
    const width = Math.max(10, (io.stderr.columns ?? 80) - 3);
    return truncateText(stripAnsi(current?.() ?? ""), width);
  };
  const show = async () => {
    loaded ??= import("ora").then(
      (m) => m.default,
      () => null,
    );
    const ora = await loaded;
    if (!ora || !current || spinner) return;
    spinner = ora({
      text: frameText(),
      // ora wants a tty.WriteStream; the adapter has every member it uses.
      stream: terminalAdapter(io) as unknown as NodeJS.WritableStream,
      isEnabled: true,
      // Prompts read stdin; ora must not take it over.
      discardStdin: false,
      color: "cyan",
    }) as Spinner;
    spinner.start();
    ticker = setInterval(() => {
      if (spinner) spinner.text = frameText();
    }, 100);
    ticker.unref?.();
  };
  const hide = () => {
    if (ticker) clearInterval(ticker);
    ticker = undefined;
    spinner?.stop();
    spinner = null;
  };
  return {
    live,
    spin(text) {
      current = text;
      if (spinner) spinner.text = frameText();
      else void show();
    },
    line(text) {
      const resume = spinner !== null;
      hide();
      io.stderr.write(`${text}\n`);
      if (resume && current) void show();
    },
    stop() {
      current = null;
      hide();
    },
  };
}

/**
 * ora draws through a TTY WriteStream (write, cursorTo, moveCursor, clearLine, columns). This adapter
 * gives it wp's stderr Stream with the escape sequences those methods write, so every byte goes
 * through IO (and tests capture it).
 */
function terminalAdapter(io: IO) {
  const write = (s: string) => {
    io.stderr.write(s);
    return true;
  };
  return {
    isTTY: true,
    get columns() {
      return io.stderr.columns ?? 80;
    },
    write,
    cursorTo: (x: number) => write(`\u001b[${x + 1}G`),
    moveCursor: (dx: number, dy: number) =>
      write(
        (dx < 0 ? `\u001b[${-dx}D` : dx > 0 ? `\u001b[${dx}C` : "") +
          (dy < 0 ? `\u001b[${-dy}A` : dy > 0 ? `\u001b[${dy}B` : ""),
      ),
    clearLine: (dir: number) => write(dir < 0 ? "\u001b[1K" : dir > 0 ? "\u001b[0K" : "\u001b[2K"),
    once: () => undefined,
    removeListener: () => undefined,
  };
}

/** An elapsed time as wp prints it: 0.4s, 12.3s, 2m05s. */
export function formatElapsed(ms: number): string {
  if (ms < 60_000) return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}
