/**
 * Google Cloud configuration that needs no SDK and no request: the known Cloud Run regions, and
 * the project and region defaults gcloud users already have (environment, the Application Default
 * Credentials file, gcloud's configuration files), read without running gcloud.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../../errors.js";
import { pyRepr } from "../../ui/io.js";
import { nearest } from "../../ui/nearest.js";

export type Env = Record<string, string | undefined>;

/** Regions where Cloud Run (jobs) and Artifact Registry are offered. */
export const CLOUD_RUN_REGIONS = [
  "africa-south1",
  "asia-east1",
  "asia-east2",
  "asia-northeast1",
  "asia-northeast2",
  "asia-northeast3",
  "asia-south1",
  "asia-south2",
  "asia-southeast1",
  "asia-southeast2",
  "australia-southeast1",
  "australia-southeast2",
  "europe-central2",
  "europe-north1",
  "europe-north2",
  "europe-southwest1",
  "europe-west1",
  "europe-west2",
  "europe-west3",
  "europe-west4",
  "europe-west6",
  "europe-west8",
  "europe-west9",
  "europe-west10",
  "europe-west12",
  "me-central1",
  "me-central2",
  "me-west1",
  "northamerica-northeast1",
  "northamerica-northeast2",
  "northamerica-south1",
  "southamerica-east1",
  "southamerica-west1",
  "us-central1",
  "us-east1",
  "us-east4",
  "us-east5",
  "us-south1",
  "us-west1",
  "us-west2",
  "us-west3",
  "us-west4",
];

export const DEFAULT_REGION = "us-central1";

/** gcloud's configuration folder: CLOUDSDK_CONFIG, else ~/.config/gcloud (%APPDATA%\gcloud on Windows). */
export function gcloudConfigDir(env: Env): string {
  if (env.CLOUDSDK_CONFIG) return env.CLOUDSDK_CONFIG;
  if (process.platform === "win32" && env.APPDATA) return join(env.APPDATA, "gcloud");
  return join(env.HOME || homedir(), ".config", "gcloud");
}

/** The ADC file google-auth-library would read: GOOGLE_APPLICATION_CREDENTIALS, else gcloud's. */
export function adcPath(env: Env): { path: string; explicit: boolean } {
  if (env.GOOGLE_APPLICATION_CREDENTIALS) return { path: env.GOOGLE_APPLICATION_CREDENTIALS, explicit: true };
  return { path: join(gcloudConfigDir(env), "application_default_credentials.json"), explicit: false };
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** `[section] key = value` of a gcloud INI file. */
export function iniValue(text: string, section: string, key: string): string | undefined {
  let current = "";
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const s = /^\[(.+)]$/.exec(line);
    if (s) {
      current = (s[1] ?? "").trim();
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (current === section && kv && kv[1] === key) return kv[2]?.trim() || undefined;
  }
  return undefined;
}

/** gcloud's active configuration file (`configurations/config_<name>`), or null. */
function gcloudConfig(env: Env): { text: string; file: string } | null {
  const dir = gcloudConfigDir(env);
  const name = env.CLOUDSDK_ACTIVE_CONFIG_NAME || readText(join(dir, "active_config"))?.trim() || "default";
  const file = join(dir, "configurations", `config_${name}`);
  const text = readText(file);
  return text === null ? null : { text, file };
}

/** The project of the ADC file: a key's `project_id`, a user login's `quota_project_id`. */
function adcProject(env: Env): { value: string; source: string } | undefined {
  const { path } = adcPath(env);
  const text = readText(path);
  if (!text) return undefined;
  try {
    const doc = JSON.parse(text) as { project_id?: unknown; quota_project_id?: unknown };
    const value = typeof doc.project_id === "string" ? doc.project_id : doc.quota_project_id;
    if (typeof value === "string" && value) return { value, source: `the project of ${path}` };
  } catch {
    // google-auth-library reports a broken file when it reads it
  }
  return undefined;
}

export interface Resolved {
  value: string;
  /** Where it came from, for errors: "--project", "GOOGLE_CLOUD_PROJECT", a file. */
  source: string;
}

/** --project, else GOOGLE_CLOUD_PROJECT / CLOUDSDK_CORE_PROJECT, the ADC file's project, gcloud's `core/project`. */
export function resolveProject(flag: string | undefined, env: Env): Resolved | undefined {
  if (flag) return { value: flag, source: "--project" };
  for (const name of ["GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"]) {
    const v = env[name];
    if (v) return { value: v, source: name };
  }
  const adc = adcProject(env);
  if (adc) return adc;
  const config = gcloudConfig(env);
  const v = config && iniValue(config.text, "core", "project");
  return v && config ? { value: v, source: `core/project in ${config.file}` } : undefined;
}

/** --region, else CLOUDSDK_RUN_REGION, gcloud's `run/region`, else us-central1 (Prefect's default). */
export function resolveRegion(flag: string | undefined, env: Env): Resolved {
  if (flag) return { value: flag, source: "--region" };
  if (env.CLOUDSDK_RUN_REGION) return { value: env.CLOUDSDK_RUN_REGION, source: "CLOUDSDK_RUN_REGION" };
  const config = gcloudConfig(env);
  const v = config && iniValue(config.text, "run", "region");
  if (v && config) return { value: v, source: `run/region in ${config.file}` };
  return { value: DEFAULT_REGION, source: "the default" };
}

/** Throws a one-line UsageError unless `region` is a Cloud Run region. */
export function checkGcpRegion(region: string, source: string): void {
  if (CLOUD_RUN_REGIONS.includes(region)) return;
  const near = nearest(region, CLOUD_RUN_REGIONS);
  throw new UsageError(
    `Google Cloud region ${pyRepr(region)} (from ${source}) is not a Cloud Run region.`,
    near.length
      ? `Did you mean ${near.join(" or ")}?`
      : `Use a region such as us-central1 or europe-west1 (Cloud Run regions: ${CLOUD_RUN_REGIONS.join(", ")}).`,
  );
}
