/** Runs wp in-process with captured streams, a private WP_HOME/PREFECT_HOME and no inherited settings. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/main.js";
import type { Choice, Prompter } from "../../src/ui/prompts.js";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Terminal mode: stdin/stdout/stderr are TTYs, so prompts are allowed. */
  tty?: boolean;
  /** Terminal width reported for stdout and stderr when `tty` (default 80). */
  columns?: number;
  env?: Record<string, string | undefined>;
  prompter?: Prompter;
  cwd?: string;
}

/** A private home for one test: WP_HOME and PREFECT_HOME inside a temp dir. */
export interface TestEnv extends Record<string, string> {
  WP_HOME: string;
  PREFECT_HOME: string;
  HOME: string;
}

export function makeHome(): { dir: string; env: TestEnv; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "wp-test-"));
  return {
    dir,
    env: {
      WP_HOME: join(dir, "wp"),
      PREFECT_HOME: join(dir, "prefect"),
      HOME: dir,
      NO_COLOR: "1",
      AWS_EC2_METADATA_DISABLED: "true",
      METADATA_SERVER_DETECTION: "none",
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export async function runCli(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const tty = opts.tty ?? false;
  const code = await main(argv, {
    io: {
      stdout: {
        write: (t) => {
          stdout += t;
        },
        isTTY: tty,
        columns: tty ? (opts.columns ?? 80) : undefined,
      },
      stderr: {
        write: (t) => {
          stderr += t;
        },
        isTTY: tty,
        columns: tty ? (opts.columns ?? 80) : undefined,
      },
      stdinIsTTY: tty,
    },
    env: { PATH: process.env.PATH, ...opts.env },
    cwd: opts.cwd ?? process.cwd(),
    ...(opts.prompter ? { prompter: opts.prompter } : {}),
  });
  return { code, stdout, stderr };
}

/** A prompter that answers from a script and records every question. */
export function scriptedPrompter(answers: Array<string | boolean | number>): Prompter & { asked: string[] } {
  const queue = [...answers];
  const asked: string[] = [];
  const next = (message: string) => {
    asked.push(message);
    if (queue.length === 0) throw new Error(`unexpected prompt: ${message}`);
    return queue.shift();
  };
  return {
    asked,
    async select<T>(message: string, choices: Choice<T>[]): Promise<T> {
      const a = next(message);
      const choice = typeof a === "number" ? choices[a] : choices.find((c) => c.value === a);
      if (!choice) throw new Error(`no choice ${String(a)} for ${message}`);
      return choice.value;
    },
    async confirm(message: string) {
      return next(message) === true;
    },
    async text(message: string, defaultValue?: string) {
      const a = next(message);
      return a === "" ? (defaultValue ?? "") : String(a);
    },
    async secret(message: string) {
      return String(next(message));
    },
  };
}
