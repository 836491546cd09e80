/**
 * What every command gets: streams, environment, prompts, output helpers and a lazily opened
 * Prefect connection. Nothing here is global, so tests run commands in-process.
 */
import { UsageError } from "./errors.js";
import type { PrefectApi } from "./prefect/api.js";
import type { Env, Settings } from "./prefect/settings.js";
import { type IO, type Palette, pyRepr } from "./ui/io.js";
import type { Prompter } from "./ui/prompts.js";

export interface GlobalOptions {
  profile?: string;
  yes: boolean;
  noPrompt: boolean;
  debug: boolean;
}

export interface Ctx {
  io: IO;
  env: Env;
  cwd: string;
  global: GlobalOptions;
  /** True when prompting is allowed: stdin and stderr are terminals, not CI, no --no-prompt. */
  interactive: boolean;
  prompts: Prompter;
  /** Colours for stdout and stderr (each off unless that stream is a colour terminal). */
  color: { out: Palette; err: Palette };
  /** A result line on stdout. */
  print(text: string): void;
  /** One JSON document on stdout. */
  printJson(value: unknown): void;
  /** A JSON document was printed (a failure after it adds none: stdout holds exactly one). */
  printedJson: boolean;
  /** A message on stderr (progress, notes). */
  info(text: string): void;
  warn(text: string): void;
  debug(text: string): void;
  settings(): Promise<Settings>;
  prefect(): Promise<PrefectApi>;
  /** Called by main when the command ends. */
  close(): void;
}

/**
 * Parses `-o/--output` and `--json`: true for JSON, false for text; anything else is a usage error,
 * and so is `--json` with `-o table`/`-o text` (two answers to one question).
 */
export function wantsJson(opts: { output?: string; json?: boolean }): boolean {
  if (opts.output === undefined) return opts.json === true;
  const f = opts.output.trim().toLowerCase();
  if (f !== "json" && f !== "text" && f !== "table") {
    throw new UsageError(
      `Unknown output format ${pyRepr(opts.output)}.`,
      "Use -o json (or --json), or leave it out for text.",
    );
  }
  if (opts.json && f !== "json") {
    throw new UsageError(`--json and -o ${f} contradict each other.`, "Pass one of them.");
  }
  return f === "json";
}
