/**
 * Issue 14 on ECS, against moto: the pool's record is the source of its names and region; a block
 * another pool references is kept; a kept repository keeps the record and the pool until
 * `deprovision --force`; the last deprovision forgets the Docker login and the build namespace; a
 * re-run on a healthy pool makes no mutating AWS request.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { resolveAws } from "../../src/clouds/aws/sdk.js";
import { connect } from "../../src/prefect/client.js";
import { KEY_ALIASES, loadSettings } from "../../src/prefect/settings.js";
import { awsWpEnv, requireMoto, useMoto } from "../helpers/moto.js";
import { runCli } from "../helpers/run-cli.js";

const hasMoto = requireMoto("test/lifecycle/ecs-inventory.test.ts (records, sharing, kept resources against moto)");

interface StatusDoc {
  healthy: boolean;
  resources: Array<{ resource: string; name: string; state: string; detail?: string; fix?: string; id?: string }>;
}

describe.skipIf(!hasMoto)("one ECS pool, one inventory", () => {
  const sim = useMoto();
  let env: Record<string, string>;

  beforeEach(async () => {
    const t = awsWpEnv(sim.proxy.url);
    env = t.env;
    return t.cleanup;
  });

  const wp = (argv: string[]) => runCli(argv, { env });
  const aws = (region = "us-east-1") => resolveAws({ env: process.env, endpoint: sim.moto.url, region });
  const status = async (pool: string) => {
    const r = await wp(["status", pool, "-o", "json"]);
    return { code: r.code, doc: JSON.parse(r.stdout) as StatusDoc };
  };
  const create = async (pool: string, ...flags: string[]) => {
    const r = await wp(["create", pool, "--type", "ecs:push", "--provision-infra", "--yes", ...flags]);
    expect(r.code, r.stderr).toBe(0);
  };
  const names = async (pool: string) =>
    JSON.parse((await wp(["ls", "-o", "json"])).stdout)
      .map((p: { name: string }) => p.name)
      .includes(pool);

  it("provision-infra and status use the record's region and names; a re-run makes no mutating request", async () => {
    await create(
      "eu",
      "--region",
      "eu-west-1",
      "--iam-user-name",
      "u-eu",
      "--iam-policy-name",
      "pol-eu",
      "--cluster-name",
      "c-eu",
      "--repository-name",
      "repo-eu",
    );
    sim.proxy.clear();
    const again = await wp(["provision-infra", "eu", "--yes"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("region eu-west-1");
    const provisionRequests = sim.proxy.requests.length;
    const st = await status("eu");
    expect(
      st.doc.resources.filter((i) => i.state !== "ok"),
      JSON.stringify(st.doc),
    ).toEqual([]);
    expect(st.code).toBe(0);
    expect(sim.proxy.mutations()).toEqual([]);
    const statusRequests = sim.proxy.requests.length - provisionRequests;
    console.log(
      `ECS healthy pool: provision-infra ${provisionRequests}, status ${statusRequests} AWS requests, 0 mutating`,
    );
    // No second set under the defaults or in the environment's region.
    const iam = await (await aws()).iam();
    expect(await iam.getUser("prefect-ecs-user")).toBeNull();
    expect((await iam.listLocalPolicies()).map((p) => p.PolicyName)).toEqual(["pol-eu"]);
    const active = async (region: string, name: string) =>
      (await (await (await aws(region)).ecs()).describeClusters([name])).filter((c) => c.status === "ACTIVE").length;
    expect(await active("eu-west-1", "c-eu")).toBe(1);
    expect(await active("us-east-1", "c-eu")).toBe(0);
    expect(await active("us-east-1", "prefect-ecs-cluster")).toBe(0);
    expect(await (await (await aws("eu-west-1")).ecr()).describeRepository("repo-eu")).not.toBeNull();

    // A flag contradicting the record is exit 2 naming both; --overwrite allows it.
    const contra = await wp(["provision-infra", "eu", "--region", "us-west-2", "--yes"]);
    expect(contra.code).toBe(2);
    expect(contra.stderr).toContain("'us-west-2'");
    expect(contra.stderr).toContain("'eu-west-1'");
    const user = await wp(["provision-infra", "eu", "--iam-user-name", "other", "--yes"]);
    expect(user.code).toBe(2);
    expect(user.stderr).toContain("'u-eu'");
    expect((await wp(["status", "eu", "--region", "us-west-2"])).code).toBe(2);
    const over = await wp(["provision-infra", "eu", "--region", "us-west-2", "--overwrite", "--yes"]);
    expect(over.code, over.stderr).toBe(0);
    expect(over.stderr).toContain("region us-west-2");
  });

  it("a credentials block another pool's template references is kept (and its key) on deprovision", async () => {
    await create("ga");
    await create("gb", "--credentials-block-name", "ga-aws-credentials");
    const dry = await wp(["deprovision", "ga", "--dry-run"]);
    expect(dry.stdout).toMatch(/keep\s+Credentials block ga-aws-credentials .*still used by 'gb'/);
    const d = await wp(["deprovision", "ga", "--yes"]);
    expect(d.code, d.stderr).toBe(0);
    const api = await connect(await loadSettings(env), { env });
    try {
      const block = await api.readBlockDocument("aws-credentials", "ga-aws-credentials", true);
      const key = (block?.data as Record<string, string> | undefined)?.aws_access_key_id;
      expect(key).toBeTruthy();
      const iam = await (await aws()).iam();
      expect((await iam.listAccessKeys("prefect-ecs-user")).map((k) => k.AccessKeyId)).toEqual([key]);
    } finally {
      api.close();
    }
    const st = await status("gb");
    expect(st.doc.resources.filter((i) => i.state !== "ok")).toEqual([]);
    expect(st.code).toBe(0);
  });

  it("a derived block name that is another pool's block is refused before anything is written", async () => {
    await create("My Pool");
    const iam = await (await aws()).iam();
    const keys = (await iam.listAccessKeys("prefect-ecs-user")).length;
    sim.proxy.clear();
    const r = await wp(["create", "my-pool", "--type", "ecs:push", "--provision-infra", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Block 'my-pool-aws-credentials' already exists and belongs to work pool 'My Pool'.");
    expect(sim.proxy.mutations()).toEqual([]);
    expect((await iam.listAccessKeys("prefect-ecs-user")).length).toBe(keys);
    expect(await names("my-pool")).toBe(false);
  });

  it("a repository kept for its images keeps the record and pool; deprovision --force later finishes; the Docker login and build namespace go last", async () => {
    await create("img");
    const dockerConfig = join(env.DOCKER_CONFIG ?? "", "config.json");
    const registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    const auths = () => Object.keys(JSON.parse(readFileSync(dockerConfig, "utf8")).auths ?? {});
    const namespace = async () => {
      const s = await loadSettings(env);
      return KEY_ALIASES.dockerNamespace.map((k) => s.get(k)).find(Boolean);
    };
    expect(auths().some((a) => a.includes(registry))).toBe(true);
    expect(await namespace()).toBe(registry);
    const { ECRClient, PutImageCommand } = await import("@aws-sdk/client-ecr");
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: {},
      layers: [],
    });
    await new ECRClient({ region: "us-east-1", endpoint: sim.moto.url }).send(
      new PutImageCommand({ repositoryName: "prefect-flows", imageManifest: manifest, imageTag: "latest" }),
    );
    const first = await wp(["deprovision", "img", "--yes"]);
    expect(first.code, first.stderr).toBe(0);
    expect(await names("img")).toBe(true);
    expect(await (await (await aws()).ecr()).describeRepository("prefect-flows")).not.toBeNull();
    // The login stays with the repository.
    expect(auths().some((a) => a.includes(registry))).toBe(true);
    const dry = await wp(["deprovision", "img", "--dry-run"]);
    expect(dry.stdout).toMatch(/keep\s+ECR repository prefect-flows .*holds 1 image/);
    expect(dry.stdout).toMatch(/keep\s+Provisioning record .*run deprovision again/);

    const forced = await wp(["deprovision", "img", "--force", "--yes", "-o", "json"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout).results.map((r: { resource: string }) => r.resource)).toEqual([
      "Docker login",
      "ECR repository",
      "Provisioning record",
      "Work pool",
    ]);
    expect(await (await (await aws()).ecr()).describeRepository("prefect-flows")).toBeNull();
    expect(await names("img")).toBe(false);
    expect(auths().some((a) => a.includes(registry))).toBe(false);
    expect(await namespace()).toBeUndefined();
    expect((await wp(["deprovision", "img", "--yes"])).stderr).toContain("Work pool 'img' not found.");
  });
});
