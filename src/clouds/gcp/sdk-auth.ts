/**
 * Where wp's Google calls go and as whom: each API's endpoint (WP_GCP_ENDPOINT or
 * WP_GCP_{IAM,CRM,SERVICEUSAGE,ARTIFACTREGISTRY}_ENDPOINT for tests, else Google's), and
 * Application Default Credentials found the way google-auth-library finds them — the ADC file, else
 * gcloud's login when gcloud is installed, else the metadata server.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { AuthError } from "../../errors.js";
import { adcPath, type Env } from "./config.js";
import { AUTH_HINT, SCOPE } from "./sdk-errors.js";

/** What wp needs of an auth client: authorised requests and an access token. */
export interface AuthLike {
  request<T>(opts: { url: string; method?: string; params?: Record<string, unknown>; data?: unknown }): Promise<{
    data: T;
  }>;
  getAccessToken(): Promise<string | null | undefined | { token?: string | null }>;
}

/** The base URL of one API: its WP_GCP_<API>_ENDPOINT, else WP_GCP_ENDPOINT, else Google's. */
export function endpointFor(api: "IAM" | "CRM" | "SERVICEUSAGE" | "ARTIFACTREGISTRY" | "ORGPOLICY", env: Env): string {
  const hosts = {
    ORGPOLICY: "https://orgpolicy.googleapis.com/",
    IAM: "https://iam.googleapis.com/",
    CRM: "https://cloudresourcemanager.googleapis.com/",
    SERVICEUSAGE: "https://serviceusage.googleapis.com/",
    ARTIFACTREGISTRY: "https://artifactregistry.googleapis.com/",
  };
  const v = env[`WP_GCP_${api}_ENDPOINT`] || env.WP_GCP_ENDPOINT;
  if (!v) return hosts[api];
  return v.endsWith("/") ? v : `${v}/`;
}

function tokenUrl(env: Env): string | undefined {
  if (env.WP_GCP_TOKEN_URL) return env.WP_GCP_TOKEN_URL;
  return env.WP_GCP_ENDPOINT ? `${endpointFor("IAM", env)}token` : undefined;
}

/** The path of an executable on PATH, or null. */
export function onPath(name: string, env: Env): string | null {
  const exts = process.platform === "win32" ? [".cmd", ".exe", ""] : [""];
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) if (existsSync(join(dir, name + ext))) return join(dir, name + ext);
  }
  return null;
}

/** Runs a command without a shell; resolves with stdout (the token stays out of argv and logs). */
function run(file: string, args: string[], env: Env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`${args.join(" ")} exited with ${code}: ${err.trim()}`)),
    );
  });
}

export type Modules = {
  iam: typeof import("@googleapis/iam");
  crm: typeof import("@googleapis/cloudresourcemanager");
  su: typeof import("@googleapis/serviceusage");
};

/** Finds credentials the way ADC does, from `env` (not process.env, so in-process callers can differ). */
export async function resolveAuth(m: Modules, env: Env): Promise<{ auth: AuthLike; source: string }> {
  const endpoints = tokenUrl(env) ? { oauth2TokenUrl: tokenUrl(env) as string } : undefined;
  const clientOptions = endpoints ? { endpoints } : {};
  const adc = adcPath(env);
  if (existsSync(adc.path)) {
    const auth = new m.iam.auth.GoogleAuth({ keyFilename: adc.path, scopes: [SCOPE], clientOptions });
    return { auth: auth as unknown as AuthLike, source: `Application Default Credentials ${adc.path}` };
  }
  if (adc.explicit) {
    throw new AuthError(`GOOGLE_APPLICATION_CREDENTIALS names ${adc.path}, which does not exist.`, AUTH_HINT);
  }
  const gcloud = onPath("gcloud", env);
  if (gcloud) {
    const token = await run(gcloud, ["auth", "print-access-token"], env).catch((err: unknown) => {
      throw new AuthError(`gcloud has no usable login: ${err instanceof Error ? err.message : String(err)}`, AUTH_HINT);
    });
    const client = new m.iam.auth.OAuth2({ ...clientOptions });
    client.setCredentials({ access_token: token, expiry_date: Date.now() + 30 * 60_000 });
    return { auth: client as unknown as AuthLike, source: "gcloud's login" };
  }
  // The metadata server (GCE, Cloud Run, GKE workload identity) or external account config.
  const auth = new m.iam.auth.GoogleAuth({ scopes: [SCOPE], clientOptions });
  return { auth: auth as unknown as AuthLike, source: "the metadata server" };
}
