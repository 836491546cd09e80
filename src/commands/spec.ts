import type { Ctx } from "../context.js";

export interface OptionSpec {
  /** Commander flags, e.g. "-t, --type <type>". */
  flags: string;
  description: string;
  /** Hidden from help (aliases kept for compatibility). */
  hidden?: boolean;
  /** May be given several times; the values arrive as a list. */
  repeatable?: boolean;
}

/** One subcommand: parse (by main), validate, call, render. No HTTP or cloud code here. */
export interface CommandSpec {
  name: string;
  aliases?: string[];
  /** Positional arguments in commander syntax: "<name>", "[name]". */
  args?: string[];
  summary: string;
  options?: OptionSpec[];
  /** Adds `-o, --output <format>` and `--json`. */
  json?: boolean;
  examples?: string[];
  /** Frees `-h` for an option (Prefect's `preview -h HOURS`); help stays on `--help`. */
  longHelpOnly?: boolean;
  run(ctx: Ctx, args: string[], opts: Record<string, unknown>): Promise<void>;
}

export function defineCommand(spec: CommandSpec): CommandSpec {
  return spec;
}
