/**
 * What a provider folder declares (types, flags, resource names with their cloud's naming rules,
 * prompts) and the name-rule mechanism every cloud uses. Cheap to import: no SDK, no provisioner
 * code (each provider's `load` imports that when it runs).
 */
import type { OptionSpec } from "../commands/spec.js";
import { UsageError } from "../errors.js";
import type { PrefectApi } from "../prefect/api.js";
import type { Env } from "../prefect/settings.js";
import type { WorkPool } from "../prefect/types.js";
import { pyRepr } from "../ui/io.js";
import type { Prompter } from "../ui/prompts.js";
import type { CredentialGuard } from "./credential.js";
import type { Lifecycle, LifecycleInput } from "./lifecycle-types.js";
import type { PermissionsDocument } from "./permissions.js";
import type { Provisioner } from "./types.js";
import type { VerifyOptions, VerifyReport } from "./verify-run.js";

/** A cloud's rule for one kind of resource name. */
export interface NameRule {
  min: number;
  max: number;
  /** The whole name must match. */
  pattern: RegExp;
  /** The rule in words, for the error: "letters, digits and + = , . @ _ -". */
  allowed: string;
  /** Extra refusals, e.g. a reserved prefix; returns the reason or null. */
  refuse?(value: string): string | null;
}

/** Throws a one-line UsageError when `value` breaks `rule`; `what` names the resource ("IAM user name"). */
export function checkName(what: string, flag: string, value: string, rule: NameRule): void {
  const length = [...value].length;
  let reason: string | null = null;
  if (length < rule.min || length > rule.max) {
    reason = rule.min === rule.max ? `must be ${rule.min} characters` : `must be ${rule.min}–${rule.max} characters`;
    reason += ` long (it has ${length})`;
  } else if (!rule.pattern.test(value)) reason = `may contain only ${rule.allowed}`;
  else reason = rule.refuse?.(value) ?? null;
  if (reason) throw new UsageError(`${what} ${pyRepr(value)} is not valid: it ${reason}.`, `Pass a valid ${flag}.`);
}

/** Prefect's block document names: lowercase letters, digits and dashes. */
export const BLOCK_NAME_RULE: NameRule = {
  min: 1,
  max: 255,
  pattern: /^[a-z0-9-]+$/,
  allowed: "lowercase letters, digits and dashes",
};

export interface NameOption {
  /** Key in the provider's names object, e.g. "iamUser". */
  key: string;
  /** CLI flag, e.g. "--iam-user-name <name>". */
  flag: string;
  /** Commander's camelCase property for the flag. */
  prop: string;
  /** Prefect's prompt text on a terminal. */
  prompt: string;
  /** What the name is, for errors: "IAM user name". */
  what: string;
  rule: NameRule;
  defaultFor(pool: string): string;
}

export interface ProviderInput {
  /** provision: plan and apply; read: status, deprovision, rotation and verify read the same resources (no limit refusals, no prompts). */
  mode: "provision" | "read";
  poolName: string;
  names: Record<string, string>;
  flags: Record<string, unknown>;
  env: Env;
  prefect: PrefectApi;
  interactive: boolean;
  prompts: Prompter;
  note(message: string): void;
  /** With --debug: where a cloud SDK's own diagnostic records go (never secrets). */
  debug?: (line: string) => void;
  /** Mints credentials safely (see credential.ts). */
  guard: CredentialGuard;
}

export interface PermissionsInput {
  poolName: string;
  names: Record<string, string>;
  flags: Record<string, unknown>;
  env: Env;
}

export interface Provider {
  id: string;
  /** Human name of the cloud, e.g. "AWS ECS". */
  title: string;
  types: string[];
  /** Credentials block type the provisioner writes. */
  blockType: string;
  /** Provider-wide flags (region, profiles). */
  options: OptionSpec[];
  names: NameOption[];
  /** The prompt asking whether to customise names (Prefect's wording). */
  customizePrompt?: string;
  /**
   * Checks and resolves the provider's own flags (region, profile) before any prompt or request;
   * throws a UsageError for bad input. May return flag values it resolved (e.g. the region).
   */
  prepare?(flags: Record<string, unknown>, env: Env): Promise<Record<string, unknown>>;
  /**
   * On a terminal only, after `prepare` and before the names prompt: choices that need the cloud,
   * asked first as Prefect does (the project, the subscription). Returns the flag values chosen.
   */
  choose?(
    flags: Record<string, unknown>,
    ui: { env: Env; prompts: Prompter; note(message: string): void },
  ): Promise<Record<string, unknown>>;
  load(input: ProviderInput): Promise<Provisioner>;
  /**
   * Provider flags kept in the pool's record, by the record context key holding the resolved value
   * (e.g. { region: "region" }): later commands use the record's value, and a flag that contradicts it is an error.
   */
  recorded?: Record<string, string>;
  /** For a pool with no record: the names its template shows (e.g. the cluster), over the defaults. */
  namesFromTemplate?(pool: WorkPool): Record<string, string>;
  /** The job template variable that references the credentials block. */
  blockVariable: string;
  /**
   * Who a credentials block's data signs in as (as `wp block create` checks it); throws an AuthError when it does
   * not authenticate. Absent: the cloud's credential cannot be checked.
   */
  blockIdentity?(data: Record<string, unknown>, env: Env): Promise<string>;
  /** The pool's life after provisioning (status, teardown, rotation); loaded when used. */
  lifecycle(input: LifecycleInput): Promise<Lifecycle>;
  /**
   * `wp create … --print-permissions`: the least-privilege grant for these names and flags (after
   * `prepare`), built without writing anything; reads only what it cannot know otherwise (an account id).
   */
  permissions?(input: PermissionsInput): Promise<PermissionsDocument>;
  /** `wp verify`: runs a minimal task with the block's credentials; absent where nothing can be run. */
  verify?(input: LifecycleInput, o: VerifyOptions): Promise<VerifyReport>;
}

/** `--some-flag` → `someFlag`, as commander names the property. */
const propOf = (flag: string) => flag.replace(/^--/, "").replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/**
 * A provider flag given an empty value (`--region ''`, as an unset CI variable gives) is an error,
 * never the default: a run must not land in the default region, project or location unasked.
 */
export function refuseEmptyFlags(provider: Provider, flags: Record<string, unknown>): void {
  for (const o of provider.options) {
    const flag = o.flags.split(/[ ,]/)[0] ?? o.flags;
    const value = flags[propOf(flag)];
    if (typeof value === "string" && value.trim() === "")
      throw new UsageError(`${flag} is empty.`, `Pass a value, or leave ${flag} out to use the default.`);
  }
}

/** A provider flag or name given on the command line that contradicts the pool's record (exit 2). */
export function contradiction(flag: string, given: string, recorded: string, what: string, hint: string): UsageError {
  return new UsageError(
    `${flag} ${pyRepr(given)} contradicts the pool's provisioning record, which has ${what} ${pyRepr(recorded)}.`,
    hint,
  );
}

/**
 * The provider's flags with the record's values where the command line gives none (a later command
 * lands where the first run did); a given value that differs is a contradiction, unless `overwrite`.
 * `hint(flag, given)` says what to do about one.
 */
export function withRecordedFlags(
  provider: Provider,
  context: Record<string, string> | undefined,
  flags: Record<string, unknown>,
  o: { overwrite: boolean; hint(flag: string, given: string): string },
): Record<string, unknown> {
  refuseEmptyFlags(provider, flags);
  const out: Record<string, unknown> = { ...flags };
  for (const [prop, key] of Object.entries(provider.recorded ?? {})) {
    const recorded = context?.[key];
    if (!recorded) continue;
    const given = flags[prop];
    if (typeof given !== "string") out[prop] = recorded;
    else if (given !== recorded && !o.overwrite) {
      const flag = `--${prop.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw contradiction(flag, given, recorded, key, o.hint(flag, given));
    }
  }
  return out;
}

/** A fixed-default resource name option. */
export function nameOption(
  key: string,
  flag: string,
  o: { prompt: string; what: string; rule: NameRule; fixed: string },
): NameOption {
  return {
    key,
    flag: `${flag} <name>`,
    prop: propOf(flag),
    prompt: o.prompt,
    what: o.what,
    rule: o.rule,
    defaultFor: () => o.fixed,
  };
}

/** `<pool>-<suffix>` made a valid block name: lowercase letters, digits and single dashes. */
export function blockName(pool: string, suffix: string): string {
  const base = pool
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  return base ? `${base}-${suffix}` : suffix;
}

/** The credentials block name option, default `<pool>-<suffix>`. */
export function blockNameOption(suffix: string, prompt: string): NameOption {
  return {
    key: "block",
    flag: "--credentials-block-name <name>",
    prop: "credentialsBlockName",
    prompt,
    what: "Block name",
    rule: BLOCK_NAME_RULE,
    defaultFor: (pool) => blockName(pool, suffix),
  };
}

/** Names from the flags, else the defaults for the pool, each checked against its cloud's rules (no record, no prompt). */
export function namesFromFlags(
  provider: Provider,
  poolName: string,
  flags: Record<string, unknown>,
): Record<string, string> {
  const names: Record<string, string> = {};
  for (const n of provider.names) {
    const flag = flags[n.prop];
    const flagText = n.flag.split(" ")[0] ?? n.flag;
    if (typeof flag === "string" && !flag.trim()) throw new UsageError(`${flagText} cannot be empty.`);
    names[n.key] = typeof flag === "string" ? flag.trim() : n.defaultFor(poolName);
    checkName(n.what, flagText, names[n.key] ?? "", n.rule);
  }
  return names;
}
