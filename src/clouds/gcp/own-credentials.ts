/**
 * `wp block create gcp-credentials`: a service account's JSON key from `--key-file FILE` (or `-` for stdin), checked
 * by getting an access token with it (a JWT assertion signed by the key, as google-auth-library does).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { AuthError, UsageError } from "../../errors.js";
import type { Env } from "../../prefect/settings.js";
import { safeText } from "../../ui/io.js";
import type { OwnCredential } from "../own-credentials.js";
import { serviceAccountToken } from "./run-api.js";

const MAX = 64 * 1024;

function readKey(path: string, cwd: string): string {
  const shown = path === "-" ? "stdin" : safeText(path);
  let text: string;
  try {
    text = path === "-" ? readFileSync(0, "utf8") : readFileSync(resolve(cwd, path), "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
    throw new UsageError(
      `Cannot read --key-file ${shown} (${code}).`,
      "Pass the path of the service account's JSON key.",
    );
  }
  if (text.length > MAX) throw new UsageError(`--key-file ${shown} is larger than 64 KiB: not a service account key.`);
  return text;
}

export async function gcpOwnCredential(flags: Record<string, unknown>, env: Env, cwd: string): Promise<OwnCredential> {
  const path = typeof flags.keyFile === "string" ? flags.keyFile : undefined;
  if (!path) {
    throw new UsageError(
      "Missing --key-file: gcp-credentials needs a service account's JSON key.",
      "Pass --key-file FILE, or --key-file - to read it from stdin.",
    );
  }
  const shown = path === "-" ? "stdin" : safeText(path);
  let info: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(readKey(path, cwd));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
    info = parsed as Record<string, unknown>;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // Never quote the content: it holds a private key.
    throw new UsageError(`--key-file ${shown} is not JSON.`, "Pass the JSON key file Google gave you.");
  }
  const missing = ["client_email", "private_key"].filter((k) => typeof info[k] !== "string" || !info[k]);
  if (info.type !== "service_account" || missing.length > 0) {
    throw new UsageError(
      `--key-file ${shown} is not a service account key${missing.length ? ` (no ${missing.join(", ")})` : ""}.`,
      "Create one with `gcloud iam service-accounts keys create` or in the console (IAM → Service accounts → Keys).",
    );
  }
  const email = String(info.client_email);
  const project = typeof info.project_id === "string" ? info.project_id : undefined;
  return {
    data: { service_account_info: info, ...(project ? { project } : {}) },
    source: `the key of ${email}`,
    async verify() {
      return `Google access token issued for ${await gcpKeyIdentity(info, env)}`;
    },
  };
}

/** The service account a key signs in as, once Google issues a token for it; AuthError when it does not. */
export async function gcpKeyIdentity(info: Record<string, unknown>, env: Env): Promise<string> {
  try {
    await serviceAccountToken(info, env);
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).replace(/ held by the block/, "");
    throw new AuthError(why, "Check the key (it may be deleted or disabled), or pass --no-verify.");
  }
  return String(info.client_email);
}
