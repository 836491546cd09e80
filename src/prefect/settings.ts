/**
 * Prefect settings as Prefect resolves them: flags, then environment variables, then the active
 * profile in `$PREFECT_HOME/profiles.toml` (or PREFECT_PROFILES_PATH), then built-in defaults.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { readConfigFile } from "../config-file.js";
import { UsageError } from "../errors.js";

export type Env = Record<string, string | undefined>;

/** Profiles Prefect ships; the user's file is merged over them. */
const BUILTIN_PROFILES: Record<string, Record<string, string>> = {
  ephemeral: { PREFECT_SERVER_EPHEMERAL_ENABLED: "true" },
  local: { PREFECT_API_URL: "http://127.0.0.1:4200/api" },
  test: {
    PREFECT_SERVER_ALLOW_EPHEMERAL_MODE: "true",
    PREFECT_API_DATABASE_CONNECTION_URL: "sqlite+aiosqlite:///:memory:",
  },
  cloud: { PREFECT_API_URL: "https://api.prefect.cloud/api" },
};

/** Canonical key first; readers accept every alias (older Prefect 3 releases wrote the legacy names). */
export const KEY_ALIASES = {
  defaultWorkPool: ["PREFECT_DEPLOYMENTS_DEFAULT_WORK_POOL_NAME", "PREFECT_DEFAULT_WORK_POOL_NAME"],
  dockerNamespace: ["PREFECT_DEPLOYMENTS_DEFAULT_DOCKER_BUILD_NAMESPACE", "PREFECT_DEFAULT_DOCKER_BUILD_NAMESPACE"],
} as const;

export interface ProfilesFile {
  active?: string;
  profiles: Record<string, Record<string, string>>;
}

export interface Settings {
  profile: string;
  profilesPath: string;
  apiUrl: string | null;
  apiKey: string | null;
  authString: string | null;
  uiUrl: string | null;
  cloudApiUrl: string;
  timeoutMs: number;
  maxRetries: number;
  csrf: boolean;
  /** Look up any setting: env first, then the active profile. */
  get(key: string): string | undefined;
}

export function prefectHome(env: Env): string {
  return expandHome(env.PREFECT_HOME ?? join(homedir(), ".prefect"));
}

export function profilesPath(env: Env): string {
  const home = prefectHome(env);
  const configured = env.PREFECT_PROFILES_PATH;
  if (!configured) return join(home, "profiles.toml");
  return expandHome(configured.replace(/\$\{?PREFECT_HOME\}?/g, home));
}

function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? join(homedir(), p.slice(1)) : p;
}

/** Reads the profiles file merged over the built-in profiles. A malformed file is a usage error naming it. */
export async function readProfiles(path: string): Promise<ProfilesFile> {
  const merged: ProfilesFile = { profiles: structuredClone(BUILTIN_PROFILES) };
  const doc = ((await readConfigFile(
    path,
    "toml",
    "the Prefect profiles file",
    "Fix or remove it, or point PREFECT_PROFILES_PATH at the profiles file.",
  )) ?? {}) as Record<string, unknown>;
  if (typeof doc.active === "string") merged.active = doc.active;
  const profiles = (doc.profiles ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, values] of Object.entries(profiles)) {
    const target = merged.profiles[name] ?? {};
    merged.profiles[name] = target;
    for (const [k, v] of Object.entries(values ?? {})) target[k] = String(v);
  }
  return merged;
}

/** Resolves the active profile and every setting wp uses. */
export async function loadSettings(env: Env, profileFlag?: string): Promise<Settings> {
  const path = profilesPath(env);
  const file = await readProfiles(path);
  const explicit = profileFlag ?? env.PREFECT_PROFILE;
  const profile = explicit ?? file.active ?? "ephemeral";
  const values = file.profiles[profile];
  if (!values) {
    const known = Object.keys(file.profiles).sort().join(", ");
    throw new UsageError(`Unknown profile '${profile}'.`, `Choose one of: ${known} (profiles live in ${path}).`);
  }
  const get = (key: string): string | undefined => {
    const v = env[key] ?? values[key];
    return v === undefined || v === "" ? undefined : v;
  };
  const apiUrl = get("PREFECT_API_URL") ?? null;
  if (apiUrl !== null) checkUrl(apiUrl, "PREFECT_API_URL");
  const uiUrl = get("PREFECT_UI_URL") ?? null;
  return {
    profile,
    profilesPath: path,
    apiUrl: apiUrl?.replace(/\/+$/, "") ?? null,
    apiKey: get("PREFECT_API_KEY") ?? null,
    authString: get("PREFECT_API_AUTH_STRING") ?? null,
    uiUrl,
    cloudApiUrl: (get("PREFECT_CLOUD_API_URL") ?? "https://api.prefect.cloud/api").replace(/\/+$/, ""),
    timeoutMs: Math.round(positiveNumber(get("PREFECT_API_REQUEST_TIMEOUT"), 60, "PREFECT_API_REQUEST_TIMEOUT") * 1000),
    maxRetries: Math.floor(positiveNumber(get("PREFECT_CLIENT_MAX_RETRIES"), 5, "PREFECT_CLIENT_MAX_RETRIES")),
    csrf: !/^(false|0|no|off)$/i.test(get("PREFECT_CLIENT_CSRF_SUPPORT_ENABLED") ?? "true"),
    get,
  };
}

function checkUrl(url: string, name: string): void {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:") || !parsed.hostname) {
    throw new UsageError(
      `${name} '${url}' is not a valid http(s) URL.`,
      "Set it to the API address, e.g. http://127.0.0.1:4200/api or your Prefect Cloud workspace URL.",
    );
  }
}

function positiveNumber(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${name} must be a non-negative number, not '${raw}'.`);
  return n;
}

/** First value found for any alias of a setting. */
export function readAlias(settings: Settings, aliases: readonly string[]): string | undefined {
  for (const key of aliases) {
    const v = settings.get(key);
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * Sets keys in the active profile the way current Prefect does: the whole file is rewritten,
 * every other profile and key kept, the canonical key written and its legacy aliases removed,
 * file mode 0600. The write is atomic (temp file + rename).
 */
/** Sets (or, with `undefined`, removes) a setting in the active profile. */
export async function updateProfile(
  settings: Settings,
  aliases: readonly string[],
  value: string | undefined,
): Promise<void> {
  const { parse, stringify } = await import("smol-toml");
  const path = settings.profilesPath;
  const doc: { active?: string; profiles?: Record<string, Record<string, unknown>> } = existsSync(path)
    ? (parse(readFileSync(path, "utf8")) as typeof doc)
    : {};
  doc.profiles ??= {};
  const current = doc.profiles[settings.profile] ?? { ...(BUILTIN_PROFILES[settings.profile] ?? {}) };
  doc.profiles[settings.profile] = current;
  for (const alias of aliases) delete current[alias];
  const [canonical] = aliases;
  if (canonical && value !== undefined) current[canonical] = value;
  doc.active ??= settings.profile;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${stringify(doc)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
