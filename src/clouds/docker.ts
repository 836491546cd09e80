/**
 * Docker registry login without the docker CLI, stored exactly where `docker login` stores it:
 * the configured credential helper (`credHelpers[registry]`, else `credsStore`), else
 * `auths[registry].auth` in `$DOCKER_CONFIG/config.json`. The secret travels on a helper's stdin
 * or into a 0600 file, never in argv. When a Docker engine answers, the login is verified first
 * (`POST /auth`), as `docker login` does.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { CloudError, UsageError } from "../errors.js";

export type Env = Record<string, string | undefined>;

export interface DockerOptions {
  env: Env;
  /** Engine probe timeout; the engine is optional, so keep this short. */
  timeoutMs?: number;
}

export interface RegistryLogin {
  /** Registry host, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com */
  registry: string;
  username: string;
  password: string;
  /** What the engine is told, e.g. https://<registry>. */
  serverUrl: string;
}

export interface LoginResult {
  /** Where the login went: "credential helper ecr-login" or the config.json path. */
  storedIn: string;
  verified: boolean;
  /** A line for the user (never contains the secret). */
  note: string;
}

export interface DockerConfig {
  auths?: Record<string, { auth?: string } & Record<string, unknown>>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

/** Registry host of an image/repository URI or endpoint: "https://h/x" and "h/x:tag" give "h". */
export function registryFromUri(uri: string): string {
  const host = uri.replace(/^[a-z]+:\/\//i, "").split("/")[0] ?? "";
  if (!host) throw new UsageError(`Cannot tell the registry of ${JSON.stringify(uri)}.`);
  return host;
}

/** `$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`. */
export function dockerConfigPath(env: Env): string {
  return join(env.DOCKER_CONFIG || join(env.HOME || homedir(), ".docker"), "config.json");
}

/** Writes the Docker config file whole (a private temp file renamed over it, so a reader never sees half). */
export async function writeDockerConfig(path: string, config: DockerConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(config, null, "\t")}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/** The Docker config file at `path` ({} when missing); a one-line UsageError when it is not a JSON object. */
export async function readDockerConfig(path: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw err;
  }
  try {
    const parsed: unknown = JSON.parse(text || "{}");
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return parsed as DockerConfig;
  } catch {
    // fall through to the error below
  }
  throw new UsageError(`${path} is not valid JSON.`, "Fix or remove it, then run again.");
}

function helperFor(config: DockerConfig, registry: string): string | undefined {
  return config.credHelpers?.[registry] ?? config.credHelpers?.[`https://${registry}`] ?? config.credsStore;
}

/** ECR passwords are base64 JSON carrying `expiration` (epoch seconds); other passwords give undefined. */
function ecrExpiry(password: string): number | undefined {
  try {
    const doc: unknown = JSON.parse(Buffer.from(password, "base64").toString("utf8"));
    const exp = (doc as { expiration?: unknown }).expiration;
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Forgets the stored login for a registry wp deleted: its `auths` entry in config.json, or, in a
 * credential helper or store, `erase` (the registry on stdin; Amazon's ecr-login helper stores
 * nothing and is left alone). Idempotent: a registry with no login is already forgotten.
 */
export async function forgetLogin(registry: string, o: DockerOptions): Promise<void> {
  const path = dockerConfigPath(o.env);
  const config = await readDockerConfig(path);
  const helper = helperFor(config, registry);
  if (helper === "ecr-login") return;
  if (helper) {
    await runHelper(helper, "erase", registry, o.env).catch(() => undefined);
    return;
  }
  const keys = [registry, `https://${registry}`].filter((k) => config.auths?.[k]);
  if (!keys.length || !config.auths) return;
  for (const k of keys) delete config.auths[k];
  await writeDockerConfig(path, config);
}

/**
 * Read-only: is a usable login for `registry` already stored? "ecr-login" (Amazon's credential
 * helper) fetches tokens itself, so it always counts. Expired ECR tokens in config.json do not.
 */
export async function storedLogin(registry: string, o: DockerOptions): Promise<{ found: boolean; detail: string }> {
  const path = dockerConfigPath(o.env);
  const config = await readDockerConfig(path);
  const helper = helperFor(config, registry);
  if (helper === "ecr-login") return { found: true, detail: "amazon-ecr-credential-helper" };
  if (helper) {
    const listed = await runHelper(helper, "list", "", o.env).catch(() => null);
    if (listed === null) return { found: false, detail: `credential helper ${helper}` };
    const servers = Object.keys(JSON.parse(listed || "{}") as Record<string, string>);
    const found = servers.some((s) => s === registry || registryFromUri(s) === registry);
    return { found, detail: `credential helper ${helper}` };
  }
  const entry = config.auths?.[registry] ?? config.auths?.[`https://${registry}`];
  if (!entry?.auth) return { found: false, detail: path };
  const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
  const expiry = ecrExpiry(decoded.slice(decoded.indexOf(":") + 1));
  if (expiry !== undefined && expiry < Date.now() + 5 * 60_000) return { found: false, detail: "stored login expired" };
  return { found: true, detail: path };
}

/** Verifies (when an engine answers) and stores a registry login. */
export async function dockerLogin(login: RegistryLogin, o: DockerOptions): Promise<LoginResult> {
  const engine = await verifyWithEngine(login, o);
  if (engine.status === "rejected") {
    throw new CloudError(
      `The Docker engine rejected the login to ${login.registry}: ${redact(engine.message, login.password)}`,
      "DockerLoginRejected",
    );
  }
  const path = dockerConfigPath(o.env);
  const config = await readDockerConfig(path);
  const helper = helperFor(config, login.registry);
  let storedIn: string;
  if (helper === "ecr-login") {
    storedIn = "amazon-ecr-credential-helper";
  } else if (helper) {
    const payload = JSON.stringify({ ServerURL: login.registry, Username: login.username, Secret: login.password });
    await runHelper(helper, "store", payload, o.env).catch((err: unknown) => {
      const msg = err instanceof Error ? err.message : String(err);
      throw new CloudError(`Storing the Docker login failed: ${redact(msg, login.password)}`, "DockerCredentialHelper");
    });
    storedIn = `credential helper ${helper}`;
  } else {
    const auth = Buffer.from(`${login.username}:${login.password}`).toString("base64");
    config.auths = { ...config.auths, [login.registry]: { ...config.auths?.[login.registry], auth } };
    await writeDockerConfig(path, config);
    storedIn = path;
  }
  const note =
    engine.status === "ok"
      ? `Docker logged in to ${login.registry} (verified by the Docker engine; stored in ${storedIn}).`
      : `Docker login for ${login.registry} stored in ${storedIn}; not verified: ${engine.message}.`;
  return { storedIn, verified: engine.status === "ok", note };
}

function redact(text: string, secret: string): string {
  return secret ? text.split(secret).join("***") : text;
}

/** Runs `docker-credential-<helper> <verb>` with `input` on stdin; resolves with stdout. */
function runHelper(helper: string, verb: string, input: string, env: Env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${helper}`, [verb], { env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", (e) => reject(new Error(`docker-credential-${helper}: ${e.message}`)));
    child.on("close", (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`docker-credential-${helper} ${verb} exited with ${code}: ${(err || out).trim()}`));
    });
    child.stdin.end(input);
  });
}

type EngineAnswer = { status: "ok" } | { status: "rejected" | "absent"; message: string };

/** Asks the engine at DOCKER_HOST (tcp:// or unix://) or /var/run/docker.sock to check the login. */
function verifyWithEngine(login: RegistryLogin, o: DockerOptions): Promise<EngineAnswer> {
  const host = o.env.DOCKER_HOST || "unix:///var/run/docker.sock";
  let target: { socketPath: string } | { host: string; port: number };
  if (host.startsWith("unix://")) target = { socketPath: host.slice("unix://".length) };
  else if (host.startsWith("tcp://") && !o.env.DOCKER_TLS_VERIFY) {
    const url = new URL(host.replace(/^tcp:/, "http:"));
    target = { host: url.hostname, port: Number(url.port || 2375) };
  } else {
    return Promise.resolve({ status: "absent", message: `DOCKER_HOST ${host} is not supported for verification` });
  }
  const where = "socketPath" in target ? target.socketPath : host;
  const body = JSON.stringify({ username: login.username, password: login.password, serveraddress: login.serverUrl });
  return new Promise((resolve) => {
    const req = request(
      {
        ...target,
        method: "POST",
        path: "/auth",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        timeout: o.timeoutMs ?? 2000,
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => {
          text += d.toString();
        });
        res.on("end", () => {
          if (res.statusCode === 200) return resolve({ status: "ok" });
          let message = text.trim() || `HTTP ${res.statusCode}`;
          try {
            message = (JSON.parse(text) as { message?: string }).message ?? message;
          } catch {
            // keep the raw text
          }
          resolve({ status: "rejected", message });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (e) =>
      resolve({ status: "absent", message: `no Docker engine answered at ${where} (${e.message})` }),
    );
    req.end(body);
  });
}
