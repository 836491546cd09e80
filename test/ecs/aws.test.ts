/** AWS configuration as the AWS CLI reads it: region chain, endpoint overrides, error codes. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { endpointFromEnv, resolveAws, toCloudError } from "../../src/clouds/aws/sdk.js";
import { AuthError, CloudError, UsageError } from "../../src/errors.js";
import { isolateAwsEnv } from "../helpers/moto.js";

let restore: () => void;
let dir: string;
let server: Server;
let url: string;
const hits: string[] = [];
let answer: { status: number; code?: string } = { status: 200 };

beforeAll(async () => {
  restore = isolateAwsEnv();
  delete process.env.AWS_REGION;
  dir = mkdtempSync(join(tmpdir(), "wp-aws-"));
  // A one-call STS fake: enough to see where requests go and how errors map.
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      hits.push(String(req.headers.host));
      res.writeHead(answer.status, { "content-type": "text/xml" });
      res.end(
        answer.code
          ? `<ErrorResponse><Error><Type>Sender</Type><Code>${answer.code}</Code><Message>nope</Message></Error></ErrorResponse>`
          : "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/me</Arn>" +
              "<UserId>X</UserId><Account>111122223333</Account></GetCallerIdentityResult></GetCallerIdentityResponse>",
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
  restore();
});

describe("region", () => {
  it("flag, then AWS_REGION, then AWS_DEFAULT_REGION", async () => {
    const env = { AWS_REGION: "eu-west-1", AWS_DEFAULT_REGION: "eu-west-2" };
    expect((await resolveAws({ region: "ap-south-1", env })).region).toBe("ap-south-1");
    expect((await resolveAws({ env })).region).toBe("eu-west-1");
    expect((await resolveAws({ env: { AWS_DEFAULT_REGION: "eu-west-2" } })).region).toBe("eu-west-2");
  });

  it("then the profile's region from the shared config (--aws-profile or AWS_PROFILE)", async () => {
    const config = join(dir, "config");
    writeFileSync(config, "[default]\nregion = us-west-1\n[profile work]\nregion = ca-central-1\n");
    process.env.AWS_CONFIG_FILE = config;
    try {
      expect((await resolveAws({ env: {} })).region).toBe("us-west-1");
      const s = await resolveAws({ profile: "work", env: { AWS_CONFIG_FILE: config } });
      expect(s.region).toBe("ca-central-1");
      expect(s.profile).toBe("work");
    } finally {
      process.env.AWS_CONFIG_FILE = "/nonexistent/aws-config";
    }
  });

  it("a profile defined in neither shared file is named, with the ones that exist", async () => {
    const config = join(dir, "config-named");
    const credentials = join(dir, "credentials-named");
    writeFileSync(config, "[default]\nregion = us-west-1\n[profile work]\nregion = ca-central-1\n");
    writeFileSync(credentials, "[ci]\naws_access_key_id = x\n");
    const env = { AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: credentials };
    for (const o of [{ profile: "nope", env }, { env: { ...env, AWS_PROFILE: "nope", AWS_REGION: "us-east-1" } }]) {
      const err = await resolveAws(o).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).message).toContain("AWS profile 'nope'");
      expect((err as UsageError).message).toContain(config);
      expect((err as UsageError).hint).toBe("Defined profiles: ci, default, work.");
    }
    // A profile of the credentials file alone is fine.
    expect((await resolveAws({ profile: "ci", region: "us-east-1", env })).profile).toBe("ci");
  });

  it("a region that exists in no partition is refused, with a near one suggested", async () => {
    for (const [region, hint] of [
      ["us-est-1", /Did you mean us-east-1/],
      ["eu-west-9", /Did you mean eu-west-1 or eu-west-2 or eu-west-3/],
      ["mars-1", /Use a region such as us-east-1/],
    ] as const) {
      const err = await resolveAws({ region, env: {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).message).toBe(`AWS region '${region}' (from --region) does not exist.`);
      expect((err as UsageError).hint).toMatch(hint);
    }
    // Other partitions' regions are real regions.
    for (const region of ["cn-north-1", "us-gov-west-1", "eusc-de-east-1"])
      expect((await resolveAws({ region, env: {} })).region).toBe(region);
    const err = await resolveAws({ env: { AWS_REGION: "moon" } }).catch((e: unknown) => e);
    expect((err as UsageError).message).toContain("(from AWS_REGION)");
  });

  it("the region table matches the installed AWS SDK's partitions", async () => {
    const { AWS_REGIONS } = await import("../../src/clouds/aws/config.js");
    const file = "../../node_modules/@aws-sdk/core/dist-es/submodules/client/util-endpoints/lib/aws/partitions.js";
    const data = Object.values(await import(file))[0] as { partitions: Array<{ id: string; regions: object }> };
    const sdk = Object.fromEntries(
      data.partitions.map((p) => [p.id, Object.keys(p.regions).filter((r) => !r.endsWith("-global"))]),
    );
    expect(AWS_REGIONS).toEqual(sdk);
  });

  it("none: a usage error naming --region and AWS_REGION", async () => {
    const err = await resolveAws({ env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(`${(err as UsageError).message} ${(err as UsageError).hint}`).toMatch(/--region.*AWS_REGION/);
  });
});

describe("SDK log output", () => {
  it("warnings become one line each through wp; error records only with --debug; debug and info are dropped", async () => {
    const { sdkLogger } = await import("../../src/clouds/aws/sdk.js");
    const lines: string[] = [];
    const debugged: string[] = [];
    const logger = sdkLogger(
      (l) => lines.push(l),
      (l) => debugged.push(l),
    );
    logger.debug("request", { secret: "x" });
    logger.info("retrying");
    logger.warn("NodeDeprecationWarning: the AWS SDK for JavaScript (v3) will\nno longer support Node.js 20", {
      more: 1,
    });
    logger.error(new Error("boom\nstack line"));
    logger.error({ clientName: "STSClient", commandName: "GetCallerIdentityCommand" });
    expect(lines).toEqual(["AWS SDK: NodeDeprecationWarning: the AWS SDK for JavaScript (v3) will"]);
    expect(debugged).toEqual([
      "AWS SDK: boom",
      'AWS SDK: {"clientName":"STSClient","commandName":"GetCallerIdentityCommand"}',
    ]);
    const quiet = sdkLogger(() => {});
    expect(() => quiet.error(new Error("x"))).not.toThrow();
  });
});

describe("endpoints", () => {
  it("AWS_ENDPOINT_URL_<SERVICE> beats AWS_ENDPOINT_URL; the ignore switch turns both off", () => {
    const env = { AWS_ENDPOINT_URL: "http://all", AWS_ENDPOINT_URL_IAM: "http://iam" };
    expect(endpointFromEnv(env, "iam")).toBe("http://iam");
    expect(endpointFromEnv(env, "ec2")).toBe("http://all");
    expect(endpointFromEnv({ ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" }, "iam")).toBeUndefined();
  });

  it("the identity call goes to AWS_ENDPOINT_URL_STS from the given env", async () => {
    hits.length = 0;
    answer = { status: 200 };
    const s = await resolveAws({
      region: "us-east-1",
      env: { AWS_ENDPOINT_URL: "http://127.0.0.1:9", AWS_ENDPOINT_URL_STS: url },
    });
    expect(await s.identity()).toEqual({ accountId: "111122223333", arn: "arn:aws:iam::111122223333:user/me" });
    expect(hits).toHaveLength(1);
  });
});

describe("errors", () => {
  it("bad credentials are an AuthError (exit 4)", async () => {
    answer = { status: 403, code: "InvalidClientTokenId" };
    const s = await resolveAws({ region: "us-east-1", env: {}, endpoint: url });
    const err = await s.identity().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).exitCode).toBe(4);
  });

  it("other failures keep the AWS code", async () => {
    answer = { status: 403, code: "AccessDenied" };
    const s = await resolveAws({ region: "us-east-1", env: {}, endpoint: url });
    const err = await s.identity().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CloudError);
    expect((err as CloudError).code).toBe("AccessDenied");
    const net = toCloudError(
      "ecs:CreateCluster",
      Object.assign(new Error("connect refused"), { code: "ECONNREFUSED" }),
    );
    expect((net as CloudError).code).toBe("ECONNREFUSED");
  });
});

describe("AWS out of reach", () => {
  it("is one line of error; the SDK's own records of the failed call appear only with --debug", async () => {
    const { makeHome, runCli } = await import("../helpers/run-cli.js");
    const home = makeHome();
    try {
      const env = {
        ...home.env,
        AWS_ENDPOINT_URL: "http://127.0.0.1:1",
        AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY: "not-a-secret",
        AWS_EC2_METADATA_DISABLED: "true",
      };
      const argv = ["provision-infra", "e", "--region", "us-east-1", "--dry-run"];
      expect((await runCli(["create", "e", "-t", "ecs:push"], { env })).code).toBe(0);
      const r = await runCli(argv, { env });
      expect(r.code).toBe(1);
      expect(r.stderr).not.toContain("AWS SDK:");
      // A refused connection never reached AWS: not retried (it used to be, for 15 s).
      expect(r.stderr).not.toContain("trying again");
      expect(
        r.stderr
          .trim()
          .split("\n")
          .filter((l) => l.startsWith("Error:")),
      ).toEqual([expect.stringContaining("sts:GetCallerIdentity failed")]);
      const debug = await runCli([...argv, "--debug"], { env });
      expect(debug.stderr).toContain("AWS SDK:");
    } finally {
      home.cleanup();
    }
  });
});
