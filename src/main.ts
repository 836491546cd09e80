/**
 * Builds the command line from the registry, runs one command and returns its exit code.
 * Nothing below bin.ts sets the process exit code.
 */
import { type Argument, Command, CommanderError, Help, Option } from "commander";
import { type CommandGroup, entries } from "./commands/registry.js";
import type { CommandSpec } from "./commands/spec.js";
import type { Ctx, GlobalOptions } from "./context.js";
import { AbortError, ApiError, AuthError, CloudError, errorLine, UsageError, WpError } from "./errors.js";
import type { PrefectApi } from "./prefect/api.js";
// Static: nearly every command reads the settings and connects (each module loaded apart cost ~0.5 ms);
// the transports behind `connect` (HTTP, the embedded API and SQLite, zod) still load on first use.
import { connect } from "./prefect/client.js";
import { type Env, loadSettings, type Settings } from "./prefect/settings.js";
import { colorEnabled, type IO, jsonText, palette, safeText } from "./ui/io.js";
import type { Prompter } from "./ui/prompts.js";
import { WP_VERSION } from "./version.js";

export interface Deps {
  io: IO;
  env: Env;
  cwd: string;
  /** Injected in tests; the terminal prompter is loaded on first use otherwise. */
  prompter?: Prompter;
}

const EXIT_CODES = `
Exit codes:
  0    success (including nothing to do)
  1    failure (Prefect API or cloud error), or a declined confirmation
  2    bad input, or a value or --yes missing without a terminal
  4    not authenticated or not authorised
  130  interrupted`;

export async function main(argv: string[], deps: Deps): Promise<number> {
  const { io, env } = deps;
  let ctx: Ctx | undefined;
  const program = new Command("wp")
    .description("Manage Prefect work pools and provision push work pool infrastructure.")
    .version(WP_VERSION, "-V, --version", "print the version (also `wp -v`)")
    .option("--profile <name>", "Prefect profile to use (default: PREFECT_PROFILE, then the active profile)")
    .option("-y, --yes", "answer yes to confirmations (required for writes without a terminal)")
    .option("--no-prompt", "never prompt; a missing value is an error naming its flag")
    .option("--debug", "log API requests (never credentials) and show stack traces")
    .addHelpText("after", EXIT_CODES)
    .showSuggestionAfterError(true);
  configure(program, io, env);

  const run = (spec: CommandSpec) =>
    async function (this: Command, ...positional: unknown[]) {
      const opts = this.optsWithGlobals() as Record<string, unknown>;
      ctx = createContext(deps, {
        ...(typeof opts.profile === "string" ? { profile: opts.profile } : {}),
        yes: opts.yes === true,
        noPrompt: opts.prompt === false,
        debug: opts.debug === true,
      });
      // A variadic argument (`<names...>`) arrives as one list: its items are the arguments.
      const args = positional
        .slice(0, spec.args?.length ?? 0)
        .flatMap((a) => (a === undefined ? [undefined] : Array.isArray(a) ? a.map(String) : [String(a)]));
      await spec.run(ctx, args as string[], opts);
    };

  // Only the command the line names is loaded and built (building all thirty took ~10 ms of `wp ls`, and
  // loading their modules more). Help, `wp help X` and a typo (whose suggestion needs every name) take them all.
  const word = commandWord(argv);
  const named = entries.filter((e) => word !== undefined && e.names.includes(word));
  const versionOnly =
    word === undefined && argv.some((a) => VERSION_FLAGS.has(a)) && !argv.some((a) => HELP_FLAGS.has(a));
  const wanted = named.length > 0 ? named : versionOnly ? [] : entries;
  for (const node of await Promise.all(wanted.map((e) => e.load()))) {
    if ("run" in node) addCommand(program, node, run);
    else addGroup(program, node, run);
  }

  // `wp -v` prints the version as Prefect's CLI does; `-v` after a command is that command's (`ls -v`).
  const args = argv.length === 1 && argv[0] === "-v" ? ["--version"] : argv;
  try {
    rejectUnknownCommand(program, args);
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (err) {
    const code = report(err, io, env, ctx?.global.debug ?? argv.includes("--debug"));
    // Scripts asked for one JSON document: when the command failed before printing one, the error is it.
    if (code !== 0 && jsonAsked(args) && !ctx?.printedJson) io.stdout.write(`${jsonText(errorDocument(err, code))}\n`);
    return code;
  } finally {
    ctx?.close();
  }
}

const VERSION_FLAGS = new Set(["-V", "--version", "-v"]);
const HELP_FLAGS = new Set(["-h", "--help"]);

/** The command a line names: its first word that is not a global option or `--profile`'s value. */
function commandWord(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--") return undefined;
    if (a === "--profile") i += 1;
    else if (!a.startsWith("-")) return a;
  }
  return undefined;
}

const USAGE_POINTER = "Run 'wp --help' or 'wp <command> --help' for usage.";

/** Set on the program before any subcommand is added, so every subcommand inherits it. */
function configure(cmd: Command, io: IO, env: Env): void {
  cmd
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // Commander's errors quote what was typed (`unknown command 'x'`): no raw control characters.
      // One line, as every other error (its "(Did you mean …?)" joined on), with the pointer to the help.
      outputError: (s, write) => {
        const text = s
          .trim()
          .replace(/^error: /, "")
          .split("\n")
          .map(safeText)
          .join(" ");
        write(`${palette(colorEnabled(io.stderr, env)).red("Error:")} ${text}. ${USAGE_POINTER}\n`);
      },
      // 80 columns when piped (commander would not wrap at all), the terminal's width up to 100 on one (as
      // clap does: long lines read badly); `wp --help` at 80 and 100 is pre-rendered (bin/wp.js).
      getOutHelpWidth: () => helpWidth(io.stdout.columns),
      getErrHelpWidth: () => helpWidth(io.stderr.columns),
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    // --profile, --yes, --no-prompt and --debug work after any command: say so in its help.
    // A command's list shows names and arguments only ("provision-infra <name>"): an alias and "[options]"
    // widened the name column so far that descriptions could not wrap within 80 columns.
    .configureHelp({
      showGlobalOptions: true,
      subcommandTerm: (c) => [c.name(), ...c.registeredArguments.map(argTerm)].join(" "),
      formatItem: cappedItem,
    });
}

/**
 * Commander aligns every description after the widest flag, and does not wrap at all when that leaves less than
 * `minWidthToWrap` (40) columns, so one long flag (`--azure-blob-storage-credentials-block-name <name>`) pushed every
 * line of its help past 80 columns. The flag column is capped to leave 40 columns: a longer flag stands on its own
 * line with its description below, in the column.
 */
function cappedItem(this: Help, term: string, termWidth: number, description: string, helper: Help): string {
  const plain = Help.prototype.formatItem;
  const cap = (helper.helpWidth ?? 80) - 4 - helper.minWidthToWrap;
  if (termWidth <= cap || cap < 16 || !description) return plain.call(this, term, termWidth, description, helper);
  if (helper.displayWidth(term) <= cap) return plain.call(this, term, cap, description, helper);
  return `  ${term}\n${plain.call(this, "", cap, description, helper)}`;
}

const argTerm = (a: Argument) => {
  const name = `${a.name()}${a.variadic ? "..." : ""}`;
  return a.required ? `<${name}>` : `[${name}]`;
};

export const helpWidth = (columns: number | undefined) => (columns === undefined ? 80 : Math.min(columns, 100));

/**
 * Commander answers `wp nope --help` with the top-level help (exit 0), as if `nope` were fine.
 * An unknown command is an unknown command, with or without --help: checked before parsing.
 */
function rejectUnknownCommand(program: Command, args: string[]): void {
  if (!args.some((a) => a === "--help" || a === "-h")) return;
  let cmd = program;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    if (a === "--") return;
    if (a.startsWith("-")) {
      // The only global option that takes a separate value.
      if (a === "--profile") i += 1;
      continue;
    }
    if (cmd.commands.length === 0) return;
    if (a === "help") return;
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!sub) {
      // Commander's own wording, so scripts see one message for `wp nope` and `wp nope --help`.
      cmd.error(`error: unknown command '${a}'`, { code: "commander.unknownCommand", exitCode: 1 });
    }
    cmd = sub as Command;
  }
}

function addCommand(
  parent: Command,
  spec: CommandSpec,
  run: (spec: CommandSpec) => (...a: unknown[]) => Promise<void>,
) {
  const cmd = parent.command(spec.name).description(spec.summary);
  for (const alias of spec.aliases ?? []) cmd.alias(alias);
  for (const a of spec.args ?? []) cmd.argument(a);
  for (const o of spec.options ?? []) {
    const option = new Option(o.flags, o.description);
    if (o.hidden) option.hideHelp();
    if (o.repeatable) option.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    cmd.addOption(option);
  }
  if (spec.json) {
    cmd.option("-o, --output <format>", "output format: json, or text (the default)");
    cmd.option("--json", "same as -o json");
  }
  if (spec.longHelpOnly) cmd.helpOption("--help", "display help for command");
  if (spec.examples?.length)
    cmd.addHelpText("after", `\nExamples:\n${spec.examples.map((e) => `  $ ${e}`).join("\n")}`);
  cmd.action(run(spec));
}

/** `--json`, `-o json`, `-ojson`, `--output json` or `--output=json` among the arguments, and no other format. */
export function jsonAsked(args: string[]): boolean {
  const formats = args.flatMap((a, i) => {
    if (a === "--json") return ["json"];
    const inline = /^(?:-o=?|--output=)(.+)$/.exec(a);
    if (inline?.[1]) return [inline[1].trim().toLowerCase()];
    return a === "-o" || a === "--output" ? [args[i + 1]?.trim().toLowerCase() ?? ""] : [];
  });
  // `--json -o text` asks two things: no document then.
  return formats.length > 0 && formats.every((f) => f === "json");
}

/** The JSON document of a failed command: what went wrong, how to fix it, and the exit code. */
function errorDocument(err: unknown, exitCode: number) {
  if (err instanceof WpError) {
    const type =
      err instanceof UsageError
        ? "usage"
        : err instanceof AuthError
          ? "auth"
          : err instanceof AbortError
            ? "aborted"
            : err instanceof ApiError
              ? "api"
              : err instanceof CloudError
                ? "cloud"
                : "error";
    return { error: { type, message: err.message, ...(err.hint ? { hint: err.hint } : {}), exitCode } };
  }
  if (err instanceof CommanderError)
    return { error: { type: "usage", message: err.message.replace(/^error: /, ""), exitCode } };
  return { error: { type: "error", message: err instanceof Error ? err.message : String(err), exitCode } };
}

function addGroup(
  parent: Command,
  g: CommandGroup,
  run: (spec: CommandSpec) => (...a: unknown[]) => Promise<void>,
): void {
  const cmd = parent.command(g.name).description(g.summary);
  for (const alias of g.aliases ?? []) cmd.alias(alias);
  for (const c of g.commands) {
    if ("run" in c) addCommand(cmd, c, run);
    else addGroup(cmd, c, run);
  }
}

function report(err: unknown, io: IO, env: Env, debug: boolean): number {
  const red = palette(colorEnabled(io.stderr, env)).red;
  if (err instanceof CommanderError) {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help")
      return 0;
    // Commander has already printed the error line, with the pointer to the help.
    return 2;
  }
  if (err instanceof WpError) {
    // Messages quote names, paths and server answers: one line, control characters escaped.
    io.stderr.write(`${red("Error:")} ${safeText(errorLine(err))}\n`);
    if (debug && err.stack) io.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  if (err instanceof Error && err.name === "PromptCancelled") {
    io.stderr.write("Cancelled.\n");
    return 130;
  }
  const e = err as Error;
  io.stderr.write(`${red("Error:")} unexpected failure: ${safeText(e?.message ?? String(err))}\n`);
  if (debug && e?.stack) io.stderr.write(`${e.stack}\n`);
  else io.stderr.write("Run again with --debug for details.\n");
  return 1;
}

function createContext(deps: Deps, global: GlobalOptions): Ctx {
  const { io, env } = deps;
  const out = palette(colorEnabled(io.stdout, env));
  const err = palette(colorEnabled(io.stderr, env));
  const ci = env.CI !== undefined && env.CI !== "" && env.CI !== "false" && env.CI !== "0";
  const promptSetting = env.PREFECT_CLI_PROMPT?.toLowerCase();
  const interactive =
    !ci && !global.noPrompt && promptSetting !== "false" && promptSetting !== "0" && io.stderr.isTTY && io.stdinIsTTY;
  let settings: Promise<Settings> | undefined;
  let api: Promise<PrefectApi & { close(): void }> | undefined;
  let prompter: Promise<Prompter> | undefined = deps.prompter ? Promise.resolve(deps.prompter) : undefined;
  // The terminal prompter is loaded on the first prompt only.
  const real = () => {
    prompter ??= import("./ui/prompts.js").then((m) => m.terminalPrompter());
    return prompter;
  };
  const prompts: Prompter = {
    select: async (m, c) => (await real()).select(m, c),
    confirm: async (m, d) => (await real()).confirm(m, d),
    text: async (m, d) => (await real()).text(m, d),
    secret: async (m) => (await real()).secret(m),
  };
  const ctx: Ctx = {
    io,
    env,
    cwd: deps.cwd,
    global,
    interactive,
    color: { out, err },
    prompts,
    print: (text) => io.stdout.write(`${text}\n`),
    printJson: (value) => {
      ctx.printedJson = true;
      io.stdout.write(`${jsonText(value)}\n`);
    },
    printedJson: false,
    info: (text) => io.stderr.write(`${text}\n`),
    warn: (text) => io.stderr.write(`${err.yellow("Warning:")} ${text}\n`),
    debug: (text) => {
      if (global.debug) io.stderr.write(`${err.dim(`[debug] ${safeText(text)}`)}\n`);
    },
    settings: () => {
      settings ??= Promise.resolve().then(() => loadSettings(env, global.profile));
      return settings;
    },
    prefect: () => {
      api ??= (async () => connect(await ctx.settings(), { env, debug: ctx.debug }))();
      return api;
    },
    close: () => {
      void api?.then((a) => a.close()).catch(() => undefined);
    },
  };
  return ctx;
}
