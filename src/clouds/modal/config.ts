/**
 * Modal token discovery as Modal's Python client does it: MODAL_TOKEN_ID / MODAL_TOKEN_SECRET
 * (each overriding its field), else the profile in ~/.modal.toml (or MODAL_CONFIG_PATH) chosen by
 * --modal-profile, MODAL_PROFILE, the table marked `active = true`, else `default`.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { readConfigFile } from "../../config-file.js";
import { UsageError } from "../../errors.js";
import type { Env } from "../../prefect/settings.js";

export interface ModalToken {
  tokenId: string;
  tokenSecret: string;
  /** Where it came from, for the plan (never the secret). */
  source: string;
}

export function modalConfigPath(env: Env): string {
  return env.MODAL_CONFIG_PATH || join(env.HOME || homedir(), ".modal.toml");
}

/** The token, or null when none is configured. A malformed file or unknown profile is a usage error. */
export async function findModalToken(env: Env, profileFlag?: string): Promise<ModalToken | null> {
  const path = modalConfigPath(env);
  const doc = ((await readConfigFile(
    path,
    "toml",
    "the Modal config",
    "Fix the file or set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET.",
  )) ?? {}) as Record<string, unknown>;
  const profiles: Record<string, Record<string, unknown>> = {};
  for (const [name, value] of Object.entries(doc)) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new UsageError(
        `Cannot read the Modal config ${path}: '${name}' is not a profile table.`,
        "Each profile must be a [table].",
      );
    }
    profiles[name] = value as Record<string, unknown>;
  }
  const explicit = profileFlag ?? env.MODAL_PROFILE;
  if (profileFlag !== undefined && !profiles[profileFlag]) {
    const known = Object.keys(profiles).join(", ") || "none";
    throw new UsageError(`Modal profile '${profileFlag}' is not in ${path}.`, `Profiles there: ${known}.`);
  }
  const profile = explicit ?? Object.entries(profiles).find(([, v]) => v.active === true)?.[0] ?? "default";
  const table = profiles[profile] ?? {};
  const str = (v: unknown) => (typeof v === "string" && v ? v : undefined);
  const fileId = str(table.token_id);
  const fileSecret = str(table.token_secret);
  const tokenId = env.MODAL_TOKEN_ID || fileId;
  const tokenSecret = env.MODAL_TOKEN_SECRET || fileSecret;
  if (!tokenId || !tokenSecret) return null;
  const fromEnv = [
    env.MODAL_TOKEN_ID ? "MODAL_TOKEN_ID" : null,
    env.MODAL_TOKEN_SECRET ? "MODAL_TOKEN_SECRET" : null,
  ].filter(Boolean);
  const fromFile = (!env.MODAL_TOKEN_ID && fileId) || (!env.MODAL_TOKEN_SECRET && fileSecret);
  const parts = [...fromEnv, ...(fromFile ? [`Modal profile '${profile}' in ${path}`] : [])];
  return { tokenId, tokenSecret, source: parts.join(" and ") };
}
