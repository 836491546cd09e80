/**
 * `wp block create aws-credentials --aws-profile NAME` (the built CLI, so the AWS SDK reads the profile files named in
 * its environment): static keys from a temporary credentials file, AWS_PROFILE without the flag, an unknown profile,
 * and an IAM Identity Center (SSO) profile — its cached token, GetRoleCredentials and the check all answered by a
 * local endpoint (AWS_ENDPOINT_URL), so nothing leaves 127.0.0.1. The SSO token cache file is named by the SHA-1 of
 * the sso-session name, as the AWS CLI's `aws sso login` writes it
 * (https://docs.aws.amazon.com/cli/latest/userguide/sso-configure-profile-token.html).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { makeHome } from "../helpers/run-cli.js";
import { requireBuilt } from "../helpers/wp-process.js";

const PROFILE_KEY = { id: "AKIAPROFILEDEV000001", secret: "profile-secret-0123456789abcdefghijklmn" };
const ENV_KEY = { id: "AKIAFROMENVIRONMENT1", secret: "env-secret-0123456789abcdefghijklmnopq" };
const SSO_KEY = {
  id: "ASIASSOROLECREDS0001",
  secret: "sso-secret-0123456789abcdefghijklmnopq",
  token: "sso-session-tok",
};
const SSO_BEARER = "sso-bearer-token-from-aws-sso-login";

interface Seen {
  method: string;
  url: string;
  keyId?: string;
  bearer?: string;
}

/** STS GetCallerIdentity (awsQuery XML) and SSO GetRoleCredentials (JSON), recording who asked. */
function fakeAws(seen: Seen[]): Server {
  return createServer((req: IncomingMessage, res) => {
    req.resume();
    req.on("end", () => {
      const keyId = /Credential=([A-Z0-9]+)\//.exec(String(req.headers.authorization ?? ""))?.[1];
      const bearer = req.headers["x-amz-sso_bearer_token"];
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        ...(keyId ? { keyId } : {}),
        ...(typeof bearer === "string" ? { bearer } : {}),
      });
      if (req.url?.startsWith("/federation/credentials")) {
        // https://docs.aws.amazon.com/singlesignon/latest/PortalAPIReference/API_GetRoleCredentials.html
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            roleCredentials: {
              accessKeyId: SSO_KEY.id,
              secretAccessKey: SSO_KEY.secret,
              sessionToken: SSO_KEY.token,
              expiration: Date.now() + 3_600_000,
            },
          }),
        );
        return;
      }
      // https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
      const user = keyId === SSO_KEY.id ? "assumed-role/Deployer/dev" : "user/dev";
      res.writeHead(200, { "content-type": "text/xml" });
      res.end(
        `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
          `<Arn>arn:aws:iam::123456789012:${user}</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account>` +
          `</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>` +
          `</GetCallerIdentityResponse>`,
      );
    });
  });
}

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [join(process.cwd(), "bin", "wp.js"), ...args], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, out, err })));
}

describe("aws-credentials blocks from an AWS profile (built CLI, local endpoint)", () => {
  const seen: Seen[] = [];
  let server: Server;
  let endpoint = "";
  let home: ReturnType<typeof makeHome>;
  let env: Record<string, string>;

  beforeAll(async () => {
    requireBuilt();
    server = fakeAws(seen);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  beforeEach(() => {
    seen.length = 0;
    home = makeHome();
    const aws = join(home.dir, ".aws");
    mkdirSync(join(aws, "sso", "cache"), { recursive: true });
    writeFileSync(
      join(aws, "credentials"),
      `[dev]\naws_access_key_id = ${PROFILE_KEY.id}\naws_secret_access_key = ${PROFILE_KEY.secret}\n`,
    );
    writeFileSync(
      join(aws, "config"),
      [
        "[profile dev]",
        "region = eu-west-1",
        "",
        "[profile sso-dev]",
        "sso_session = corp",
        "sso_account_id = 123456789012",
        "sso_role_name = Deployer",
        "",
        "[sso-session corp]",
        "sso_start_url = https://corp.awsapps.example/start",
        // Not a real region: were the endpoint override ignored, the SDK could reach no AWS host.
        "sso_region = xx-nowhere-1",
        "sso_registration_scopes = sso:account:access",
        "",
      ].join("\n"),
    );
    env = {
      ...home.env,
      PATH: process.env.PATH ?? "",
      AWS_CONFIG_FILE: join(aws, "config"),
      AWS_SHARED_CREDENTIALS_FILE: join(aws, "credentials"),
      AWS_ENDPOINT_URL: endpoint,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
  });
  afterEach(() => home.cleanup());

  const inspect = async (slug: string) => JSON.parse((await run(["block", "inspect", slug, "-o", "json"], env)).out);

  it("--aws-profile takes the profile's keys (not the environment's), checks them and masks the secret", async () => {
    const r = await run(
      ["block", "create", "aws-credentials", "from-profile", "--aws-profile", "dev", "--region", "eu-west-1", "--yes"],
      { ...env, AWS_ACCESS_KEY_ID: ENV_KEY.id, AWS_SECRET_ACCESS_KEY: ENV_KEY.secret },
    );
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain("AWS profile dev");
    expect(r.err).toContain("Checked: AWS account 123456789012 as arn:aws:iam::123456789012:user/dev");
    expect(seen.filter((s) => s.method === "POST").map((s) => s.keyId)).toEqual([PROFILE_KEY.id]);
    const block = await inspect("aws-credentials/from-profile");
    expect(block.data).toEqual({
      aws_access_key_id: PROFILE_KEY.id,
      aws_secret_access_key: "********",
      region_name: "eu-west-1",
    });
    expect(r.out + r.err).not.toContain(PROFILE_KEY.secret);
  });

  it("AWS_PROFILE without the flag names the same profile", async () => {
    const r = await run(["block", "create", "aws-credentials", "via-env", "--yes"], { ...env, AWS_PROFILE: "dev" });
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain("AWS profile dev");
    expect((await inspect("aws-credentials/via-env")).data.aws_access_key_id).toBe(PROFILE_KEY.id);
  });

  it("an unknown profile is one line, exit 2, naming the defined ones; nothing is asked of AWS", async () => {
    const r = await run(["block", "create", "aws-credentials", "x", "--aws-profile", "nope", "--yes"], env);
    expect(r.code).toBe(2);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toContain("AWS profile 'nope' (from --aws-profile) is not defined");
    expect(r.err).toContain("Defined profiles: dev, sso-dev.");
    expect(seen).toEqual([]);
    expect(JSON.parse((await run(["block", "ls", "-o", "json"], env)).out)).toEqual([]);
  });

  it("an SSO profile before `aws sso login` says to log in (exit 2) and writes nothing", async () => {
    const r = await run(["block", "create", "aws-credentials", "sso", "--aws-profile", "sso-dev", "--yes"], env);
    expect(r.code).toBe(2);
    expect(r.err).toContain("No AWS credentials found for profile sso-dev");
    expect(r.err).toContain("aws sso login");
    expect(seen).toEqual([]);
    expect(JSON.parse((await run(["block", "ls", "-o", "json"], env)).out)).toEqual([]);
  });

  it("an SSO profile after `aws sso login`: the role's temporary key, checked, stored with its session token", async () => {
    const cache = join(home.dir, ".aws", "sso", "cache", `${createHash("sha1").update("corp").digest("hex")}.json`);
    writeFileSync(
      cache,
      JSON.stringify({
        accessToken: SSO_BEARER,
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        region: "xx-nowhere-1",
        startUrl: "https://corp.awsapps.example/start",
      }),
    );
    const r = await run(["block", "create", "aws-credentials", "sso", "--aws-profile", "sso-dev", "--yes"], env);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain("temporary credentials");
    expect(r.err).toContain("assumed-role/Deployer/dev");
    expect(seen[0]).toMatchObject({
      method: "GET",
      url: "/federation/credentials?account_id=123456789012&role_name=Deployer",
      bearer: SSO_BEARER,
    });
    expect(seen.filter((s) => s.method === "POST").map((s) => s.keyId)).toEqual([SSO_KEY.id]);
    const block = await inspect("aws-credentials/sso");
    // aws_session_token is not a secret field of Prefect's AwsCredentials schema: the server shows it.
    expect(block.data).toEqual({
      aws_access_key_id: SSO_KEY.id,
      aws_secret_access_key: "********",
      aws_session_token: SSO_KEY.token,
    });
    expect(r.out + r.err).not.toContain(SSO_KEY.secret);
    expect(r.out + r.err).not.toContain(SSO_BEARER);
  });
});
