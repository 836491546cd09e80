/** `wp block create aws-credentials` with a user's own IAM keys, against moto; an ecs:push pool bound in two commands. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { awsWpEnv, requireMoto, useMoto } from "../helpers/moto.js";
import { runCli } from "../helpers/run-cli.js";

const run = requireMoto("wp block create aws-credentials");

/** An STS endpoint that refuses every key, as AWS does for a deleted or mistyped one. */
async function refusingSts(): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(403, { "content-type": "text/xml" });
    res.end(
      '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>' +
        "<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message>" +
        "</Error><RequestId>1</RequestId></ErrorResponse>",
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe.runIf(run)("aws-credentials from the user's own keys (moto)", () => {
  const sim = useMoto();
  let fx: ReturnType<typeof awsWpEnv>;
  let key: { id: string; secret: string };
  let sts: { url: string; server: Server };
  beforeAll(async () => {
    sts = await refusingSts();
  });
  afterAll(() => new Promise<void>((r) => sts.server.close(() => r())));
  beforeEach(async () => {
    fx = awsWpEnv(sim.moto.url);
    // The user's own IAM user and access key, made "in the console".
    const iam = await import("@aws-sdk/client-iam");
    const c = new iam.IAMClient({ region: "us-east-1", endpoint: sim.moto.url });
    await c.send(new iam.CreateUserCommand({ UserName: "alice" }));
    const k = await c.send(new iam.CreateAccessKeyCommand({ UserName: "alice" }));
    key = { id: k.AccessKey?.AccessKeyId ?? "", secret: k.AccessKey?.SecretAccessKey ?? "" };
    return () => fx.cleanup();
  });
  const wp = (argv: string[], env: Record<string, string> = {}) =>
    runCli(argv, { env: { ...fx.env, AWS_ACCESS_KEY_ID: key.id, AWS_SECRET_ACCESS_KEY: key.secret, ...env } });

  it("checks the key with sts:GetCallerIdentity, writes the block, and binds an ecs:push pool", async () => {
    const a = await wp([
      "block",
      "create",
      "aws-credentials",
      "alice-keys",
      "--region",
      "us-east-2",
      "--yes",
      "--debug",
    ]);
    expect(a.code).toBe(0);
    expect(a.stderr).toContain("Checked: AWS account");
    expect(a.stderr).toContain("user/alice");
    const b = await wp([
      "create",
      "ecs-pool",
      "--type",
      "ecs:push",
      "--credentials-block",
      "alice-keys",
      "--set",
      "cluster=my-cluster",
      "--set",
      "cpu=1024",
      "-o",
      "json",
    ]);
    expect(b.code).toBe(0);
    const vars = JSON.parse(b.stdout).base_job_template.variables.properties;
    expect(vars.aws_credentials.default.$ref.block_document_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(vars.cluster.default).toBe("my-cluster");
    expect(vars.cpu.default).toBe(1024);
    const block = JSON.parse((await wp(["block", "inspect", "aws-credentials/alice-keys", "-o", "json"])).stdout);
    expect(block.data.aws_access_key_id).toBe(key.id);
    expect(block.data.region_name).toBe("us-east-2");
    expect(block.data.aws_secret_access_key).toBe("********");
    for (const out of [a.stdout, a.stderr, b.stdout, b.stderr]) expect(out).not.toContain(key.secret);
    // wp made nothing for this pool: status checks the key (not wp's default user, role or cluster).
    const status = await wp(["status", "ecs-pool", "-o", "json"]);
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report.source).toBe("own-credentials");
    expect(report.resources).toHaveLength(2);
    expect(report.resources[1].detail).toContain("user/alice");
  });

  it("a key that does not authenticate writes nothing (exit 4)", async () => {
    const r = await wp(["block", "create", "aws-credentials", "bad", "--yes"], { AWS_ENDPOINT_URL: sts.url });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("does not authenticate");
    expect(r.stderr).not.toContain(key.secret);
    const ls = await wp(["block", "ls", "-o", "json"]);
    expect(JSON.parse(ls.stdout)).toEqual([]);
    // --no-verify stores it unchecked, saying so.
    const unchecked = await wp(["block", "create", "aws-credentials", "bad", "--yes", "--no-verify"], {
      AWS_ENDPOINT_URL: sts.url,
    });
    expect(unchecked.code).toBe(0);
    expect(unchecked.stderr).toContain("--no-verify");
  });

  it("refuses the key as a flag and a pool bound to a missing or wrong-type block", async () => {
    const r = await wp(["block", "create", "aws-credentials", "k", "--aws-secret-access-key", key.secret, "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("AWS_SECRET_ACCESS_KEY");
    expect(r.stderr).not.toContain(key.secret);
    const missing = await wp(["create", "p", "--type", "ecs:push", "--credentials-block", "k"]);
    expect(missing.code).toBe(2);
    expect(JSON.parse((await wp(["ls", "-o", "json"])).stdout)).toEqual([]);
  });
});
