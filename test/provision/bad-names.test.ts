/**
 * Names a cloud would reject, unknown regions and profiles: one line, exit 2, before any cloud
 * request and before anything is written in Prefect. AWS is a local server that counts requests.
 */
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeHome, runCli, scriptedPrompter } from "../helpers/run-cli.js";

let home: ReturnType<typeof makeHome>;
let aws: Server;
let requests = 0;
let env: Record<string, string>;

beforeAll(async () => {
  home = makeHome();
  aws = createServer((_req, res) => {
    requests += 1;
    res.writeHead(500).end();
  });
  await new Promise<void>((r) => aws.listen(0, "127.0.0.1", r));
  const config = join(home.dir, "aws-config");
  writeFileSync(config, "[default]\nregion = us-east-1\n[profile work]\nregion = eu-west-1\n");
  env = {
    ...home.env,
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_ENDPOINT_URL: `http://127.0.0.1:${(aws.address() as AddressInfo).port}`,
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: join(home.dir, "no-credentials"),
  };
});

afterAll(() => {
  aws.close();
  home.cleanup();
});

const base = ["create", "pool-a", "--type", "ecs:push", "--provision-infra", "--yes", "--region", "us-east-1"];
const long = (n: number, c = "a") => c.repeat(n);

const cases: Array<{ name: string; argv: string[]; env?: Record<string, string>; message: string }> = [
  {
    name: "IAM user with a space and !",
    argv: [...base, "--iam-user-name", "my user!"],
    message:
      "IAM user name 'my user!' is not valid: it may contain only letters, digits and + = , . @ _ -. Pass a valid --iam-user-name.",
  },
  {
    name: "IAM user over 64 characters",
    argv: [...base, "--iam-user-name", long(65)],
    message: "it must be 1–64 characters long (it has 65)",
  },
  { name: "IAM policy over 128", argv: [...base, "--iam-policy-name", long(129)], message: "IAM policy name" },
  { name: "IAM policy with /", argv: [...base, "--iam-policy-name", "a/b"], message: "--iam-policy-name" },
  {
    name: "ECR repository in upper case",
    argv: [...base, "--repository-name", "Prefect-Flows"],
    message: "ECR repository name 'Prefect-Flows' is not valid: it may contain only lowercase letters",
  },
  { name: "ECR repository of one character", argv: [...base, "--repository-name", "a"], message: "2–256" },
  { name: "ECR repository ending in -", argv: [...base, "--repository-name", "flows-"], message: "ECR repository" },
  { name: "cluster with a dot", argv: [...base, "--cluster-name", "my.cluster"], message: "ECS cluster name" },
  { name: "cluster over 255", argv: [...base, "--cluster-name", long(256)], message: "1–255" },
  {
    name: "security group starting with sg-",
    argv: [...base, "--security-group-name", "sg-mine"],
    message: "it must not start with 'sg-'",
  },
  { name: "security group with ~", argv: [...base, "--security-group-name", "a~b"], message: "Security group name" },
  { name: "VPC name with a control character", argv: [...base, "--vpc-name", "a\u0007b"], message: "'a\\x07b'" },
  {
    name: "block name in upper case",
    argv: [...base, "--credentials-block-name", "My-Block"],
    message: "Block name 'My-Block' is not valid: it may contain only lowercase letters, digits and dashes.",
  },
  { name: "empty name flag", argv: [...base, "--cluster-name", " "], message: "--cluster-name cannot be empty." },
  {
    name: "unknown region",
    argv: [...base.slice(0, -2), "--region", "us-east-7"],
    message: "AWS region 'us-east-7' (from --region) does not exist. Did you mean us-east-1 or us-east-2?",
  },
  {
    name: "unknown region from AWS_REGION",
    argv: base.slice(0, -2),
    env: { AWS_REGION: "eu-wst-1" },
    message: "(from AWS_REGION) does not exist. Did you mean eu-west-1?",
  },
  {
    name: "unknown profile",
    argv: [...base, "--aws-profile", "prod"],
    message: "AWS profile 'prod' (from --aws-profile) is not defined in",
  },
  {
    name: "unknown AWS_PROFILE",
    argv: base,
    env: { AWS_PROFILE: "staging" },
    message: "Defined profiles: default, work.",
  },
];

describe("bad provisioning input: exit 2, one line, no request, nothing written", () => {
  for (const c of cases) {
    it(c.name, async () => {
      requests = 0;
      const r = await runCli(c.argv, { env: { ...env, ...c.env } });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(c.message);
      // The error is one line (after the embedded API's note that push pools run on Prefect Cloud).
      expect(
        r.stderr
          .trim()
          .split("\n")
          .filter((l) => !l.startsWith("Warning: Only Prefect Cloud")),
      ).toHaveLength(1);
      expect(r.stdout).toBe("");
      expect(requests).toBe(0);
      const ls = await runCli(["ls", "-o", "json"], { env });
      expect(JSON.parse(ls.stdout)).toEqual([]);
    });
  }

  it("a name typed at the prompt is checked the same way", async () => {
    requests = 0;
    const argv = ["create", "pool-a", "--type", "ecs:push", "--provision-infra", "--region", "us-east-1"];
    const prompter = scriptedPrompter([true, "ok-user", "ok-policy", "ok-cluster", "ok-vpc", "ok-sg", "Bad Repo", "b"]);
    const r = await runCli(argv, { env, tty: true, prompter });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("ECR repository name 'Bad Repo' is not valid");
    expect(requests).toBe(0);
  });

  it("the region is checked before any prompt", async () => {
    const prompter = scriptedPrompter([]);
    const argv = ["create", "pool-a", "--type", "ecs:push", "--provision-infra", "--region", "nowhere-1"];
    const r = await runCli(argv, { env, tty: true, prompter });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("AWS region 'nowhere-1'");
    expect(prompter.asked).toEqual([]);
  });
});
