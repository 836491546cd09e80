/**
 * Prompts. Commands only see the Prompter interface; the terminal implementation draws on stderr
 * and reads keys from stdin in raw mode. Tests inject a scripted Prompter.
 */
import { emitKeypressEvents } from "node:readline";
import { safeText, stripAnsi } from "./io.js";
import { displayWidth, truncateText } from "./table.js";

export interface Choice<T> {
  label: string;
  hint?: string;
  value: T;
}

export interface Prompter {
  select<T>(message: string, choices: Choice<T>[]): Promise<T>;
  confirm(message: string, defaultValue: boolean): Promise<boolean>;
  text(message: string, defaultValue?: string): Promise<string>;
  /** Hidden input; the answer is never echoed. */
  secret(message: string): Promise<string>;
}

/** Raised when the user presses Ctrl-C in a prompt. */
export class PromptCancelled extends Error {
  override name = "PromptCancelled";
}

interface Key {
  name?: string;
  ctrl?: boolean;
  sequence?: string;
}

type KeyHandler = (str: string | undefined, key: Key) => "done" | undefined;

/** Draws `render()` (redrawn over its previous rows after every key) until `onKey` says done; Ctrl-C cancels. */
function keySession(
  input: NodeJS.ReadStream,
  out: NodeJS.WriteStream,
  render: () => string,
  onKey: KeyHandler,
): Promise<void> {
  const columns = () => (out.columns > 0 ? out.columns : 80);
  return new Promise((resolve, reject) => {
    emitKeypressEvents(input);
    const wasRaw = input.isRaw;
    input.setRawMode?.(true);
    input.resume();
    let previous: string | null = null;
    const draw = () => {
      // Back to the first row of the last drawing: a line longer than the terminal took several rows.
      const up = previous === null ? 0 : rowsOf(previous, columns());
      out.write(up > 0 ? `\r\u001b[${up}A\u001b[0J` : "\u001b[0J");
      const text = render();
      out.write(`${text}\n`);
      previous = text;
    };
    const finish = (err?: Error) => {
      input.off("keypress", handler);
      out.off?.("resize", draw);
      input.setRawMode?.(wasRaw);
      input.pause();
      if (err) reject(err);
      else resolve();
    };
    const handler = (str: string | undefined, key: Key) => {
      if (key?.ctrl && key.name === "c") return finish(new PromptCancelled("cancelled"));
      if (onKey(str, key ?? {}) === "done") {
        draw();
        return finish();
      }
      draw();
    };
    input.on("keypress", handler);
    out.on?.("resize", draw);
    draw();
  });
}

/** The picker's rows: the question, then up to `visible` choices around the cursor, each cut to one terminal row. */
function pickerText<T>(message: string, choices: Choice<T>[], index: number, columns: number): string {
  const visible = 10;
  const start = Math.max(0, Math.min(index - visible + 1, choices.length - visible));
  const width = Math.max(10, columns - 1);
  const rows = choices.slice(start, start + visible).map((c, i) => {
    const head = truncateText(`${start + i === index ? ">" : " "} ${safeText(c.label)}`, width);
    const room = width - displayWidth(head) - 2;
    const hint = c.hint && room > 3 ? truncateText(safeText(c.hint), room) : "";
    return hint ? `${head}  \u001b[2m${hint}\u001b[22m` : head;
  });
  return [`? ${safeText(message)} [Use arrows to move; enter to select]`, ...rows].join("\n");
}

export function terminalPrompter(
  input: NodeJS.ReadStream = process.stdin,
  out: NodeJS.WriteStream = process.stderr,
): Prompter {
  const session = (render: () => string, onKey: KeyHandler) => keySession(input, out, render, onKey);
  const columns = () => (out.columns > 0 ? out.columns : 80);

  async function readLine(promptText: string, hidden: boolean): Promise<string> {
    let value = "";
    let done = false;
    await session(
      () => promptText + (hidden ? "*".repeat(done ? Math.min(value.length, 8) : value.length) : safeText(value)),
      (s, key) => {
        if (key.name === "return" || key.name === "enter") {
          done = true;
          return "done";
        }
        if (key.name === "backspace") value = value.slice(0, -1);
        else if (s && !key.ctrl && s >= " ") value += s;
        return undefined;
      },
    );
    return value.trim();
  }

  return {
    async select<T>(message: string, choices: Choice<T>[]): Promise<T> {
      let index = 0;
      let chosen = false;
      await session(
        () =>
          chosen
            ? `? ${safeText(message)} ${safeText(choices[index]?.label ?? "")}`
            : pickerText(message, choices, index, columns()),
        (_s, key) => {
          if (key.name === "up") index = (index - 1 + choices.length) % choices.length;
          else if (key.name === "down") index = (index + 1) % choices.length;
          else if (key.name === "return" || key.name === "enter") {
            chosen = true;
            return "done";
          }
          return undefined;
        },
      );
      const picked = choices[index];
      if (!picked) throw new PromptCancelled("nothing to choose");
      return picked.value;
    },

    async confirm(message: string, defaultValue: boolean): Promise<boolean> {
      let answer: boolean | null = null;
      await session(
        () =>
          `? ${safeText(message)} ${defaultValue ? "[Y/n]" : "[y/N]"}${answer === null ? "" : answer ? " yes" : " no"}`,
        (s, key) => {
          if (key.name === "return" || key.name === "enter") answer = defaultValue;
          else if (s === "y" || s === "Y") answer = true;
          else if (s === "n" || s === "N") answer = false;
          return answer === null ? undefined : "done";
        },
      );
      return answer ?? defaultValue;
    },

    text(message: string, defaultValue?: string): Promise<string> {
      return readLine(`? ${safeText(message)}${defaultValue ? ` (${safeText(defaultValue)})` : ""}: `, false).then(
        (v) => v || (defaultValue ?? ""),
      );
    },

    secret(message: string): Promise<string> {
      return readLine(`? ${safeText(message)}: `, true);
    },
  };
}

/**
 * Terminal rows `text` takes on a terminal `columns` wide: each line wraps onto
 * ceil(width / columns) rows (an empty line is one row; a line of exactly `columns` is one row,
 * the cursor waiting at its end until the newline).
 */
export function rowsOf(text: string, columns: number): number {
  return text.split("\n").reduce((n, line) => n + Math.max(1, Math.ceil(displayWidth(stripAnsi(line)) / columns)), 0);
}
