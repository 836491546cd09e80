/**
 * Docker's access to `<region>-docker.pkg.dev`, the way `gcloud auth configure-docker` leaves it:
 * with gcloud installed, its credential helper (`credHelpers[registry] = "gcloud"`); without it, a
 * short-lived OAuth access token stored as `docker login -u oauth2accesstoken` would store it (in
 * the configured credential store, else config.json), never passed in argv.
 */
import { stat } from "node:fs/promises";
import {
  type DockerOptions,
  dockerConfigPath,
  dockerLogin,
  forgetLogin,
  readDockerConfig,
  storedLogin,
  writeDockerConfig,
} from "../docker.js";
import { onPath } from "./sdk.js";

const GOOGLE_HELPERS = ["gcloud", "gcr"];

/** gcloud and its Docker credential helper are both installed. */
function gcloudHelper(o: DockerOptions): boolean {
  return onPath("gcloud", o.env) !== null && onPath("docker-credential-gcloud", o.env) !== null;
}

/** Read-only: can Docker already push to `registry`? */
export async function dockerAuthState(registry: string, o: DockerOptions): Promise<{ found: boolean; detail: string }> {
  const path = dockerConfigPath(o.env);
  const helper = (await readDockerConfig(path)).credHelpers?.[registry];
  if (helper && GOOGLE_HELPERS.includes(helper)) return { found: true, detail: `credential helper ${helper}` };
  const stored = await storedLogin(registry, o);
  if (stored.found && !(await staleToken(registry, path))) return stored;
  return {
    found: false,
    detail: gcloudHelper(o)
      ? `gcloud's credential helper for ${registry} in ${path}`
      : `an access token for ${registry} (valid about 1 hour) in ${stored.detail}`,
  };
}

/**
 * An access token wp stored in config.json expires after an hour; config.json's age bounds the
 * token's (a later write makes it look younger, never older), so an old file means renew it.
 */
async function staleToken(registry: string, path: string): Promise<boolean> {
  const config = (await readDockerConfig(path)) as { auths?: Record<string, { auth?: string }> };
  const auth = config.auths?.[registry]?.auth ?? config.auths?.[`https://${registry}`]?.auth;
  if (!auth || !Buffer.from(auth, "base64").toString("utf8").startsWith("oauth2accesstoken:")) return false;
  const age = Date.now() - (await stat(path)).mtimeMs;
  return age > 50 * 60_000;
}

/** Configures the helper, or stores an access token; returns a line for the user (no secret). */
export async function storeDockerAuth(
  registry: string,
  o: DockerOptions,
  accessToken: () => Promise<string>,
): Promise<string> {
  if (gcloudHelper(o)) {
    const path = dockerConfigPath(o.env);
    const config = await readDockerConfig(path);
    config.credHelpers = { ...config.credHelpers, [registry]: "gcloud" };
    await writeDockerConfig(path, config);
    return `Docker uses gcloud's credential helper for ${registry} (${path}).`;
  }
  const token = await accessToken();
  const result = await dockerLogin(
    { registry, username: "oauth2accesstoken", password: token, serverUrl: `https://${registry}` },
    o,
  );
  return `${result.note} The access token lasts about an hour; run the same command again to renew it.`;
}

/**
 * Forgets Docker's access to `registry` for a repository wp deleted: the gcloud helper entry wp
 * wrote (the helper stores nothing to erase), else the stored login.
 */
export async function forgetDockerAuth(registry: string, o: DockerOptions): Promise<void> {
  const path = dockerConfigPath(o.env);
  const config = await readDockerConfig(path);
  const helper = config.credHelpers?.[registry];
  if (!helper || !GOOGLE_HELPERS.includes(helper)) return forgetLogin(registry, o);
  const { [registry]: _gone, ...rest } = config.credHelpers ?? {};
  if (Object.keys(rest).length) config.credHelpers = rest;
  else delete config.credHelpers;
  await writeDockerConfig(path, config);
}
