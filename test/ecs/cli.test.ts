/**
 * `wp create … --type ecs:push --provision-infra` end to end through the CLI: embedded Prefect API,
 * the real AWS SDK against moto behind a recording proxy, a temp Docker config.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { resolveAws } from "../../src/clouds/aws/sdk.js";
import { connect } from "../../src/prefect/client.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { awsWpEnv, removeDefaultVpc, requireMoto, useMoto } from "../helpers/moto.js";
import { type RunResult, runCli, scriptedPrompter } from "../helpers/run-cli.js";

const hasMoto = requireMoto("test/ecs/cli.test.ts (wp create --provision-infra against moto)");

describe.skipIf(!hasMoto)("wp create --type ecs:push --provision-infra against moto", () => {
  const sim = useMoto();
  let env: Record<string, string>;

  beforeEach(async () => {
    await removeDefaultVpc(sim.moto.url);
    const t = awsWpEnv(sim.proxy.url);
    env = t.env;
    return t.cleanup;
  });

  async function aws() {
    return resolveAws({ env: process.env, endpoint: sim.moto.url });
  }

  const wp = (argv: string[], opts: Parameters<typeof runCli>[1] = {}) =>
    runCli(argv, { ...opts, env: { ...env, ...opts.env } });

  async function prefect() {
    return connect(await loadSettings(env), { env });
  }

  async function secretOf(pool: string): Promise<{ id: string; key: string; secret: string }> {
    const api = await prefect();
    try {
      const block = await api.readBlockDocument("aws-credentials", `${pool}-aws-credentials`, true);
      const data = (block?.data ?? {}) as Record<string, string>;
      return { id: block?.id ?? "", key: data.aws_access_key_id ?? "", secret: data.aws_secret_access_key ?? "" };
    } finally {
      api.close();
    }
  }

  function expectNoSecret(r: RunResult, secret: string) {
    expect(secret.length).toBeGreaterThan(10);
    expect(r.stdout).not.toContain(secret);
    expect(r.stderr).not.toContain(secret);
  }

  it("creates everything, writes the four template values and a working key; a re-run changes nothing", async () => {
    const r = await wp(["create", "p", "--type", "ecs:push", "--provision-infra", "--yes", "--debug"]);
    expect(r.stderr).not.toContain("Failed");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("AWS account 123456789012, region us-east-1");
    expect(r.stdout).toContain("Created work pool 'p'!");
    expect(r.stdout).toContain("prefect-flows:latest");

    const { id, key, secret } = await secretOf("p");
    expectNoSecret(r, secret);
    const session = await aws();
    const iam = await session.iam();
    const keys = await iam.listAccessKeys("prefect-ecs-user");
    expect(keys.map((k) => k.AccessKeyId)).toEqual([key]);

    const pool = JSON.parse((await wp(["inspect", "p", "-o", "json"])).stdout);
    const props = pool.base_job_template.variables.properties;
    expect(props.aws_credentials.default).toEqual({ $ref: { block_document_id: id } });
    expect(props.cluster.default).toBe("prefect-ecs-cluster");
    expect(props.vpc_id.default).toMatch(/^vpc-/);
    expect(props.execution_role_arn.default).toBe("arn:aws:iam::123456789012:role/PrefectEcsTaskExecutionRole");

    const profiles = readFileSync(join(env.PREFECT_HOME ?? "", "profiles.toml"), "utf8");
    expect(profiles).toContain(
      'PREFECT_DEPLOYMENTS_DEFAULT_DOCKER_BUILD_NAMESPACE = "123456789012.dkr.ecr.us-east-1.amazonaws.com"',
    );
    const dockerConfig = JSON.parse(readFileSync(join(env.DOCKER_CONFIG ?? "", "config.json"), "utf8"));
    expect(Object.keys(dockerConfig.auths)).toContain("123456789012.dkr.ecr.us-east-1.amazonaws.com");

    sim.proxy.clear();
    const again = await wp(["create", "p", "--type", "ecs:push", "--provision-infra", "--yes", "-o", "json"]);
    expect(again.code).toBe(0);
    const doc = JSON.parse(again.stdout);
    expect(doc.plan.filter((s: { action: string }) => s.action !== "exists")).toEqual([]);
    expect(sim.proxy.mutations()).toEqual([]);
    expect((await iam.listAccessKeys("prefect-ecs-user")).length).toBe(1);
    expect(doc.pool.id).toBe(pool.id);
    expectNoSecret(again, secret);
  });

  it("-o json emits one document with plan, results and pool", async () => {
    const r = await wp(["create", "j", "--type", "ecs:push", "--provision-infra", "--yes", "-o", "json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.workPool).toBe("j");
    expect(doc.targets.map((t: { key: string }) => t.key)).toEqual(["aws", "docker", "prefect"]);
    expect(doc.plan.map((s: { id: string }) => s.id)).toContain("aws.vpc");
    expect(doc.results.every((s: { status: string }) => s.status === "created" || s.status === "exists")).toBe(true);
    expect(doc.pool.name).toBe("j");
    expect(doc.nextSteps.join("\n")).toContain("linux/amd64");
  });

  it("decline, --dry-run and no terminal without --yes create nothing, not even the pool", async () => {
    const dry = await wp(["create", "d", "--type", "ecs:push", "--provision-infra", "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("+ create  IAM user");
    expect(dry.stdout).toContain("Dry run: nothing was changed.");
    const declined = await wp(["create", "d", "--type", "ecs:push", "--provision-infra"], {
      tty: true,
      prompter: scriptedPrompter([false, false]),
    });
    expect(declined.code).toBe(1);
    expect(declined.stderr).toContain("Provisioning cancelled; nothing was created.");
    const piped = await wp(["create", "d", "--type", "ecs:push", "--provision-infra"]);
    expect(piped.code).toBe(2);
    expect(piped.stderr).toContain("Pass --yes to apply it");
    expect(sim.proxy.mutations()).toEqual([]);
    expect(JSON.parse((await wp(["ls", "-o", "json"])).stdout)).toEqual([]);
  });

  it("custom names on a terminal, as Prefect's prompts offer", async () => {
    const answers = [true, "my-user", "", "my-cluster", "", "", "my-repo", "", true];
    const r = await wp(["create", "c", "--type", "ecs:push", "--provision-infra"], {
      tty: true,
      prompter: scriptedPrompter(answers),
    });
    expect(r.code).toBe(0);
    const pool = JSON.parse((await wp(["inspect", "c", "-o", "json"])).stdout);
    expect(pool.base_job_template.variables.properties.cluster.default).toBe("my-cluster");
    const iam = await (await aws()).iam();
    expect((await iam.listAccessKeys("my-user")).length).toBe(1);
  });

  it("a failure mid-way exits 1 with the cause; the same command again converges", async () => {
    sim.proxy.failWhen = (req) => req.action === "CreateCluster";
    const r = await wp(["create", "f", "--type", "ecs:push", "--provision-infra", "--yes"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Failed to provision infrastructure");
    expect(r.stderr).toContain("run the same command again");
    expect(JSON.parse((await wp(["ls", "-o", "json"])).stdout)).toEqual([]);
    sim.proxy.failWhen = undefined;
    const again = await wp(["create", "f", "--type", "ecs:push", "--provision-infra", "--yes"]);
    expect(again.code).toBe(0);
    const iam = await (await aws()).iam();
    expect((await iam.listAccessKeys("prefect-ecs-user")).length).toBe(1);
  });

  it("provision-infra on an existing ecs:push pool fills in its template", async () => {
    expect((await wp(["create", "later", "--type", "ecs:push"])).code).toBe(0);
    const r = await wp(["provision-infra", "later", "--yes"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Provisioned infrastructure for work pool 'later'.");
    const pool = JSON.parse((await wp(["inspect", "later", "-o", "json"])).stdout);
    expect(pool.base_job_template.variables.properties.cluster.default).toBe("prefect-ecs-cluster");
    const { secret } = await secretOf("later");
    expectNoSecret(r, secret);
  });

  it("--provision-infra works for the ecs pull type too", async () => {
    const r = await wp(["create", "pull", "--type", "ecs", "--provision-infra", "--yes"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("prefect worker start --pool pull");
  });
});
