/** Docker login as `docker login` stores it: config.json or a credential helper; verified by an engine when one answers. */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dockerLogin, registryFromUri, storedLogin } from "../../src/clouds/docker.js";
import { CloudError } from "../../src/errors.js";

const REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const SECRET = "s3cr3t-token-value";
const login = { registry: REGISTRY, username: "AWS", password: SECRET, serverUrl: `https://${REGISTRY}` };

let dir: string;
let servers: Server[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "wp-docker-test-"));
});
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
  rmSync(dir, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? "",
  DOCKER_CONFIG: join(dir, "docker"),
  DOCKER_HOST: `unix://${join(dir, "none.sock")}`,
  ...extra,
});
const configFile = () => join(dir, "docker", "config.json");
const writeConfig = (config: unknown) => {
  mkdirSync(join(dir, "docker"), { recursive: true });
  writeFileSync(configFile(), JSON.stringify(config));
};

/** A fake `docker-credential-fake` that records argv and stdin, and lists what it stored. */
function fakeHelper(name = "fake"): { env: Record<string, string>; argv: () => string; stdin: () => string } {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  const script = join(bin, `docker-credential-${name}`);
  writeFileSync(
    script,
    `#!/bin/sh
echo "$@" >> "${dir}/argv"
cat > "${dir}/stdin-$1"
if [ "$1" = list ]; then
  if [ -f "${dir}/stdin-store" ]; then echo '{"${REGISTRY}":"AWS"}'; else echo '{}'; fi
fi
`,
  );
  chmodSync(script, 0o755);
  return {
    env: { PATH: `${bin}:${process.env.PATH ?? ""}` },
    argv: () => readFileSync(join(dir, "argv"), "utf8"),
    stdin: () => readFileSync(join(dir, "stdin-store"), "utf8"),
  };
}

/** A fake Docker engine answering POST /auth with `status`. */
async function fakeEngine(status: number, listen: string | number): Promise<{ bodies: unknown[]; server: Server }> {
  const bodies: unknown[] = [];
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (d: Buffer) => {
      text += d.toString();
    });
    req.on("end", () => {
      bodies.push({ method: req.method, url: req.url, body: JSON.parse(text) });
      res.writeHead(status, { "content-type": "application/json" });
      res.end(status === 200 ? '{"Status":"Login Succeeded"}' : '{"message":"unauthorized: bad credentials"}');
    });
  });
  servers.push(server);
  await new Promise<void>((r) =>
    typeof listen === "string" ? server.listen(listen, r) : server.listen(listen, "127.0.0.1", r),
  );
  return { bodies, server };
}

describe("registryFromUri", () => {
  it("takes the host of repository URIs and endpoints", () => {
    expect(registryFromUri(`${REGISTRY}/prefect-flows`)).toBe(REGISTRY);
    expect(registryFromUri(`https://${REGISTRY}`)).toBe(REGISTRY);
    expect(registryFromUri(`${REGISTRY}/a/b:latest`)).toBe(REGISTRY);
    expect(() => registryFromUri("")).toThrow();
  });
});

describe("dockerLogin", () => {
  it("writes auths[registry].auth to $DOCKER_CONFIG/config.json (0600), keeping other settings", async () => {
    writeConfig({ auths: { "other.io": { auth: "eA==" } }, experimental: "enabled" });
    expect((await storedLogin(REGISTRY, { env: env() })).found).toBe(false);
    const result = await dockerLogin(login, { env: env() });
    const config = JSON.parse(readFileSync(configFile(), "utf8"));
    expect(config.experimental).toBe("enabled");
    expect(config.auths["other.io"]).toEqual({ auth: "eA==" });
    expect(Buffer.from(config.auths[REGISTRY].auth, "base64").toString()).toBe(`AWS:${SECRET}`);
    expect(statSync(configFile()).mode & 0o777).toBe(0o600);
    expect(result.verified).toBe(false);
    expect(result.note).toMatch(/not verified: no Docker engine answered at .*none\.sock/);
    expect(result.note).not.toContain(SECRET);
    expect((await storedLogin(REGISTRY, { env: env() })).found).toBe(true);
  });

  it("creates the config directory when there is none", async () => {
    await dockerLogin(login, { env: env() });
    expect(JSON.parse(readFileSync(configFile(), "utf8")).auths[REGISTRY].auth).toBeTruthy();
  });

  it("uses the credsStore helper: secret on stdin, never in argv", async () => {
    writeConfig({ credsStore: "fake" });
    const helper = fakeHelper();
    const result = await dockerLogin(login, { env: env(helper.env) });
    expect(result.storedIn).toBe("credential helper fake");
    expect(helper.argv().trim()).toBe("store");
    expect(helper.argv()).not.toContain(SECRET);
    expect(JSON.parse(helper.stdin())).toEqual({ ServerURL: REGISTRY, Username: "AWS", Secret: SECRET });
    expect(JSON.parse(readFileSync(configFile(), "utf8")).auths).toBeUndefined();
    expect((await storedLogin(REGISTRY, { env: env(helper.env) })).found).toBe(true);
  });

  it("a per-registry credHelpers entry beats credsStore; ecr-login needs no login", async () => {
    writeConfig({ credsStore: "desktop", credHelpers: { [REGISTRY]: "fake" } });
    const helper = fakeHelper();
    await dockerLogin(login, { env: env(helper.env) });
    expect(helper.argv().trim()).toBe("store");
    writeConfig({ credHelpers: { [REGISTRY]: "ecr-login" } });
    expect(await storedLogin(REGISTRY, { env: env() })).toEqual({
      found: true,
      detail: "amazon-ecr-credential-helper",
    });
  });

  it("a failing helper is a CloudError without the secret", async () => {
    writeConfig({ credsStore: "missing-helper" });
    const err = await dockerLogin(login, { env: env() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CloudError);
    expect(String((err as Error).message)).not.toContain(SECRET);
  });

  it("verifies with the engine on the unix socket first", async () => {
    const sock = join(dir, "docker.sock");
    const engine = await fakeEngine(200, sock);
    const result = await dockerLogin(login, { env: env({ DOCKER_HOST: `unix://${sock}` }) });
    expect(result.verified).toBe(true);
    expect(engine.bodies).toEqual([
      {
        method: "POST",
        url: "/auth",
        body: { username: "AWS", password: SECRET, serveraddress: `https://${REGISTRY}` },
      },
    ]);
  });

  it("an engine on tcp:// that rejects the login stops it before anything is stored", async () => {
    const engine = await fakeEngine(401, 0);
    const port = (engine.server.address() as AddressInfo).port;
    const err = await dockerLogin(login, { env: env({ DOCKER_HOST: `tcp://127.0.0.1:${port}` }) }).catch((e) => e);
    expect(err).toBeInstanceOf(CloudError);
    expect((err as CloudError).message).toContain("unauthorized: bad credentials");
    expect(() => readFileSync(configFile())).toThrow();
  });

  it("an expired ECR token in config.json does not count as logged in", async () => {
    const password = Buffer.from(JSON.stringify({ payload: "x", expiration: 1_000_000 })).toString("base64");
    writeConfig({ auths: { [REGISTRY]: { auth: Buffer.from(`AWS:${password}`).toString("base64") } } });
    expect(await storedLogin(REGISTRY, { env: env() })).toEqual({ found: false, detail: "stored login expired" });
  });
});
