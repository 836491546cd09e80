/**
 * Every command, in help order, each loaded only when the command line names it: `wp ls` compiles and runs
 * the ls module, not thirty (help, `wp help X` and a mistyped name load them all). A name here is checked
 * against the module's own name and aliases by a test.
 */
import type { CommandSpec } from "./spec.js";

/** A command with subcommands (`wp block create`, `wp storage configure s3`). */
export interface CommandGroup {
  name: string;
  aliases?: string[];
  summary: string;
  commands: Array<CommandSpec | CommandGroup>;
}

export type CommandNode = CommandSpec | CommandGroup;

/** A top-level word of the command line and the module behind it. */
export interface Entry {
  names: string[];
  load(): Promise<CommandNode>;
}

const entry = (names: string[], load: () => Promise<CommandNode>): Entry => ({ names, load });

/** The work-pool commands (also under `wp work-pool`, as `prefect work-pool` names them). */
const poolCommands: Entry[] = [
  entry(["create"], async () => (await import("./create.js")).default),
  entry(["ls", "list"], async () => (await import("./ls.js")).default),
  entry(["inspect"], async () => (await import("./inspect.js")).default),
  entry(["update"], async () => (await import("./update.js")).default),
  entry(["pause"], async () => (await import("./pause.js")).pause),
  entry(["resume"], async () => (await import("./pause.js")).resume),
  entry(["delete", "rm"], async () => (await import("./delete.js")).default),
  entry(["set-concurrency-limit"], async () => (await import("./concurrency-limit.js")).setConcurrencyLimit),
  entry(["clear-concurrency-limit"], async () => (await import("./concurrency-limit.js")).clearConcurrencyLimit),
  entry(["get-default-base-job-template"], async () => (await import("./get-default-base-job-template.js")).default),
  entry(["preview"], async () => (await import("./preview.js")).default),
  entry(["slots"], async () => (await import("./slots.js")).default),
  entry(["provision-infra", "provision-infrastructure"], async () => (await import("./provision-infra.js")).default),
  entry(["status"], async () => (await import("./status.js")).default),
  entry(["verify"], async () => (await import("./verify.js")).default),
  entry(["deprovision"], async () => (await import("./deprovision.js")).default),
  entry(["rotate-credentials"], async () => (await import("./rotate-credentials.js")).default),
];

const storage = entry(["storage"], async () => (await import("./groups.js")).storageGroup);

export const entries: Entry[] = [
  entry(["work-pool", "work-pools"], async () => ({
    name: "work-pool",
    aliases: ["work-pools"],
    summary: "the same commands, for scripts written for `prefect work-pool`",
    commands: await Promise.all([...poolCommands, storage].map((e) => e.load())),
  })),
  ...poolCommands,
  entry(["block"], async () => (await import("./groups.js")).blockGroup),
  storage,
  entry(["export"], async () => (await import("./groups.js")).exportGroup),
  entry(["server"], async () => (await import("./groups.js")).serverGroup),
];

/** Every top-level command and group, loaded (help, and the tests that walk them all). */
export const loadAll = (): Promise<CommandNode[]> => Promise.all(entries.map((e) => e.load()));
