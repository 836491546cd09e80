/**
 * `wp create … --type cloud-run*:push --provision-infra` end to end through the CLI: the embedded
 * Prefect API, the real Google client libraries (google-auth-library ADC with an authorized_user
 * file, @googleapis/*) against the stateful GCP simulator, a temp Docker config, no gcloud on PATH.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connect } from "../../src/prefect/client.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { fakeExecutable, filesContaining, PROJECT, useGcpSim } from "../helpers/gcp-sim.js";
import { type RunResult, runCli, scriptedPrompter } from "../helpers/run-cli.js";

const SA = `prefect-cloud-run@${PROJECT}.iam.gserviceaccount.com`;
const MEMBER = `serviceAccount:${SA}`;

describe("wp create --type cloud-run*:push --provision-infra against the GCP simulator", () => {
  const fx = useGcpSim();

  const wp = (argv: string[], opts: Parameters<typeof runCli>[1] = {}) =>
    runCli(argv, { ...opts, env: { ...fx.env, ...opts.env } });
  const create = (pool: string, type = "cloud-run-v2:push", extra: string[] = []) =>
    wp(["create", pool, "--type", type, "--provision-infra", "--yes", "--project", PROJECT, ...extra]);

  async function block(pool: string) {
    const api = await connect(await loadSettings(fx.env), { env: fx.env });
    try {
      return await api.readBlockDocument("gcp-credentials", `${pool}-push-pool-credentials`, true);
    } finally {
      api.close();
    }
  }
  const keys = () => fx.sim.project(PROJECT).keys.get(SA) ?? [];
  const keyIds = () => keys().map((k) => k.name?.split("/").pop());
  const pools = async () => JSON.parse((await wp(["ls", "-o", "json"])).stdout) as Array<{ name: string }>;
  const template = async (pool: string) =>
    JSON.parse((await wp(["inspect", pool, "-o", "json"])).stdout).base_job_template.variables.properties;

  function expectNoSecret(r: RunResult) {
    for (const pem of fx.sim.issuedPrivateKeys) {
      const body = pem.split("\n")[1] ?? "";
      expect(body.length).toBeGreaterThan(50);
      expect(r.stdout).not.toContain(body);
      expect(r.stderr).not.toContain(body);
    }
  }

  it("fresh project, cloud-run-v2:push: enables both APIs, creates repo, SA, bindings, one key, block and pool; a re-run changes nothing", async () => {
    const r = await create("g", "cloud-run-v2:push", ["--debug"]);
    expect(r.stderr).not.toContain("Failed");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`GCP project ${PROJECT}, region us-central1`);
    expect(r.stdout).toContain("Created work pool 'g'!");
    expect(r.stdout).toContain('platform="linux/amd64"');
    expect(r.stdout).toContain("us-central1-docker.pkg.dev/wp-sim-project/prefect-images/my-image:latest");
    expectNoSecret(r);

    const p = fx.sim.project(PROJECT);
    expect([...p.services]).toEqual(expect.arrayContaining(["run.googleapis.com", "artifactregistry.googleapis.com"]));
    const repo = p.repositories.get("us-central1/prefect-images");
    expect(repo?.format).toBe("DOCKER");
    expect(repo?.labels).toEqual({ "prefect-io-work-pool": "g", "managed-by": "wp" });
    expect(p.serviceAccounts.get(SA)?.displayName).toBe("Prefect Cloud Run Service Account");
    for (const role of ["roles/iam.serviceAccountUser", "roles/run.developer"])
      expect(p.policy.bindings?.find((b) => b.role === role)?.members).toEqual([MEMBER]);
    expect(p.policy.bindings?.find((b) => b.role === "roles/owner")?.members).toEqual(["user:owner@example.com"]);
    expect(keys()).toHaveLength(1);

    // Every call carries the explicit project; operations were polled; the token came from the ADC refresh.
    const paths = fx.sim.log.map((x) => x.path).filter((x) => x.startsWith("/v1/"));
    for (const path of paths) if (!path.startsWith("/v1/operations/")) expect(path).toContain(PROJECT);
    expect(fx.sim.log.some((x) => x.path.startsWith("/v1/operations/acf."))).toBe(true);
    expect(fx.sim.log.some((x) => /\/locations\/us-central1\/operations\//.test(x.path))).toBe(true);
    expect(fx.sim.log.find((x) => x.path === "/token")?.body).toMatchObject({ grant_type: "refresh_token" });

    const doc = await block("g");
    const info = (doc?.data as { service_account_info: Record<string, string>; project: string }) ?? {};
    expect(doc?.data).toMatchObject({ project: PROJECT });
    expect(info.service_account_info.client_email).toBe(SA);
    expect(info.service_account_info.private_key).toBe(fx.sim.issuedPrivateKeys[0]);
    expect(info.service_account_info.private_key_id).toBe(keyIds()[0]);

    const props = await template("g");
    expect(props.credentials.default).toEqual({ $ref: { block_document_id: doc?.id } });
    expect(props.region.default).toBe("us-central1");
    expect(props.service_account_name.default).toBe(SA);

    const profiles = readFileSync(join(fx.env.PREFECT_HOME ?? "", "profiles.toml"), "utf8");
    expect(profiles).toContain(
      'PREFECT_DEPLOYMENTS_DEFAULT_DOCKER_BUILD_NAMESPACE = "us-central1-docker.pkg.dev/wp-sim-project/prefect-images"',
    );
    // No gcloud: an access token stored the way `docker login -u oauth2accesstoken` stores it.
    const docker = JSON.parse(readFileSync(join(fx.dockerConfig, "config.json"), "utf8"));
    const auth = Buffer.from(docker.auths["us-central1-docker.pkg.dev"].auth, "base64").toString();
    expect(auth).toMatch(/^oauth2accesstoken:ya29\.sim-/);

    fx.sim.clearLog();
    const before = fx.sim.digest();
    const again = await create("g", "cloud-run-v2:push", ["-o", "json"]);
    expect(again.code, again.stderr).toBe(0);
    const report = JSON.parse(again.stdout);
    expect(report.plan.filter((s: { action: string }) => s.action !== "exists")).toEqual([]);
    expect(fx.sim.mutations()).toEqual([]);
    expect(fx.sim.digest()).toBe(before);
    expect(keys()).toHaveLength(1);
    expectNoSecret(again);
  });

  it("fresh project, cloud-run:push (v1): the v1 template gets credentials, region and the service account", async () => {
    const r = await create("v1", "cloud-run:push", ["--region", "europe-west1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`GCP project ${PROJECT}, region europe-west1`);
    const props = await template("v1");
    expect(props.credentials.default.$ref.block_document_id).toBe((await block("v1"))?.id);
    expect(props.region.default).toBe("europe-west1");
    expect(props.service_account_name.default).toBe(SA);
    expect(fx.sim.project(PROJECT).repositories.has("europe-west1/prefect-images")).toBe(true);
  });

  it("an existing service account and repository are reused, never recreated", async () => {
    const p = fx.sim.project(PROJECT);
    p.services.add("artifactregistry.googleapis.com");
    p.serviceAccounts.set(SA, { name: `projects/${PROJECT}/serviceAccounts/${SA}`, email: SA, displayName: "mine" });
    p.keys.set(SA, []);
    p.repositories.set("us-central1/prefect-images", {
      name: `projects/${PROJECT}/locations/us-central1/repositories/prefect-images`,
      format: "DOCKER",
      labels: { team: "data" },
    });
    const r = await create("reuse");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/= exists\s+Service account\s+prefect-cloud-run/);
    expect(r.stderr).toMatch(/= exists\s+Artifact Registry repository\s+prefect-images/);
    const posts = fx.sim.mutations().map((x) => `${x.method} ${x.path}`);
    expect(posts.some((x) => x.endsWith("/serviceAccounts"))).toBe(false);
    expect(posts.some((x) => x.endsWith("/repositories"))).toBe(false);
    expect(p.serviceAccounts.get(SA)?.displayName).toBe("mine");
    expect(p.repositories.get("us-central1/prefect-images")?.labels).toEqual({ team: "data" });
    expect(keys()).toHaveLength(1);
  });

  it("a concurrent IAM policy change (etag conflict) is retried without losing the other binding", async () => {
    fx.sim.interleave("POST", /:setIamPolicy$/, () =>
      fx.sim.addBinding(PROJECT, "roles/viewer", "user:colleague@example.com"),
    );
    const r = await create("etag");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("etag conflict");
    const sets = fx.sim.log.filter((x) => x.path.endsWith(":setIamPolicy"));
    expect(sets.map((x) => x.status)).toEqual([409, 200]);
    const bindings = fx.sim.project(PROJECT).policy.bindings ?? [];
    expect(bindings.find((b) => b.role === "roles/viewer")?.members).toEqual(["user:colleague@example.com"]);
    expect(bindings.find((b) => b.role === "roles/run.developer")?.members).toEqual([MEMBER]);
    expect(bindings.find((b) => b.role === "roles/owner")?.members).toEqual(["user:owner@example.com"]);
  });

  it("an organisation policy forbidding keys is reported in plain words before anything is created", async () => {
    fx.sim.keysForbidden = true;
    const r = await create("org");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("iam.disableServiceAccountKeyCreation forbids service-account keys in project");
    expect(r.stderr).toContain("Alternatives:");
    expect(r.stderr).toContain("run a worker on Google Cloud as");
    expect(fx.sim.mutations()).toEqual([]);
    expect(await pools()).toEqual([]);
  });

  it("keys forbidden where the policy cannot be read: clear message at the key, and a re-run finishes once allowed", async () => {
    fx.sim.keysForbidden = true;
    fx.sim.orgPolicyReadable = false;
    const r = await create("org2");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("forbids service-account keys");
    expect(r.stderr).toContain("run the same command again");
    expect(keys()).toHaveLength(0);
    expect(await block("org2")).toBeNull();
    expect(await pools()).toEqual([]);
    // The policy is lifted (or the project exempted): the same command finishes the rest.
    fx.sim.keysForbidden = false;
    const again = await create("org2");
    expect(again.code, again.stderr).toBe(0);
    expect(keys()).toHaveLength(1);
    expect((await block("org2"))?.data).toMatchObject({ project: PROJECT });
  });

  const FAULTS: Array<{ name: string; method: string; path: RegExp }> = [
    { name: "enabling the Cloud Run API", method: "POST", path: /run\.googleapis\.com:enable$/ },
    { name: "enabling the Artifact Registry API", method: "POST", path: /artifactregistry\.googleapis\.com:enable$/ },
    { name: "polling an enable operation", method: "GET", path: /^\/v1\/operations\/acf/ },
    { name: "creating the repository", method: "POST", path: /\/repositories$/ },
    { name: "creating the service account", method: "POST", path: /\/serviceAccounts$/ },
    { name: "setting the IAM policy", method: "POST", path: /:setIamPolicy$/ },
    { name: "creating the key", method: "POST", path: /\/keys$/ },
  ];
  for (const f of FAULTS) {
    it(`a failure ${f.name}, then the same command again, converges`, async () => {
      fx.sim.fail({
        match: (q) => q.method === f.method && f.path.test(q.path),
        status: f.method === "GET" ? 400 : 403,
        rpc: f.method === "GET" ? "FAILED_PRECONDITION" : "PERMISSION_DENIED",
        message: "The caller does not have permission",
      });
      const r = await create("f");
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("Failed to provision infrastructure");
      expect(r.stderr).toContain("run the same command again");
      expect(await pools()).toEqual([]);
      const again = await create("f");
      expect(again.code, again.stderr).toBe(0);
      expect(keys()).toHaveLength(1);
      const data = (await block("f"))?.data as { service_account_info?: { private_key_id?: string } } | undefined;
      expect(data?.service_account_info?.private_key_id).toBe(keyIds()[0]);
      fx.sim.clearLog();
      expect((await create("f")).code).toBe(0);
      expect(fx.sim.mutations()).toEqual([]);
    });
  }

  it("decline, --dry-run and no terminal without --yes create nothing, not even the pool", async () => {
    const base = ["create", "d", "--type", "cloud-run-v2:push", "--provision-infra", "--project", PROJECT];
    const dry = await wp([...base, "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/\+ create\s+Service account\s+prefect-cloud-run/);
    expect(dry.stdout).toContain("Dry run: nothing was changed.");
    const declined = await wp(base, { tty: true, prompter: scriptedPrompter([false, false]) });
    expect(declined.code).toBe(1);
    expect(declined.stderr).toContain("Provisioning cancelled; nothing was created.");
    const piped = await wp(base);
    expect(piped.code).toBe(2);
    expect(piped.stderr).toContain("Pass --yes to apply it");
    expect(fx.sim.mutations()).toEqual([]);
    expect(await pools()).toEqual([]);
  });

  it("the private key and the access token never reach stdout, stderr, --debug, argv or files other than the block's store", async () => {
    // A credential store on PATH: the Docker login goes to it on stdin; it records its argv.
    const record = join(fx.home.dir, "helper-argv.txt");
    const stdin = join(fx.home.dir, "helper-stdin.txt");
    fakeExecutable(
      fx.bin,
      "docker-credential-fake",
      `echo "$@" >> ${record}\nif [ "$1" = store ]; then /bin/cat > ${stdin}; else /bin/cat >/dev/null; echo '{}'; fi`,
    );
    const { mkdirSync, writeFileSync } = await import("node:fs");
    mkdirSync(fx.dockerConfig, { recursive: true });
    writeFileSync(join(fx.dockerConfig, "config.json"), JSON.stringify({ credsStore: "fake" }));
    const r = await create("s", "cloud-run-v2:push", ["--debug"]);
    expect(r.code, r.stderr).toBe(0);
    expectNoSecret(r);
    const token = JSON.parse(readFileSync(stdin, "utf8")).Secret as string;
    expect(token).toMatch(/^ya29\.sim-/);
    expect(readFileSync(record, "utf8")).not.toContain(token);
    expect(r.stdout + r.stderr).not.toContain(token);
    const pem = (fx.sim.issuedPrivateKeys[0] ?? "").split("\n")[1] ?? "";
    // Only Prefect's store (the embedded database under WP_HOME) may hold the key.
    const db = join(fx.env.WP_HOME ?? "", "wp.db");
    expect(filesContaining(fx.home.dir, pem, (path) => path.startsWith(db))).toEqual([]);
  });

  it("provision-infra on an existing cloud-run-v2:push pool fills in its template", async () => {
    expect((await wp(["create", "later", "--type", "cloud-run-v2:push"])).code).toBe(0);
    const r = await wp(["provision-infra", "later", "--yes", "--project", PROJECT]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Provisioned infrastructure for work pool 'later'.");
    const props = await template("later");
    expect(props.credentials.default.$ref.block_document_id).toBe((await block("later"))?.id);
    expectNoSecret(r);
  });

  for (const type of ["cloud-run", "cloud-run-v2"]) {
    it(`--provision-infra works for the pull type ${type}`, async () => {
      const r = await create(`pull-${type}`, type);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`prefect worker start --pool pull-${type}`);
      const props = await template(`pull-${type}`);
      expect(props.credentials.default.$ref.block_document_id).toBeTruthy();
      expect(props.region.default).toBe("us-central1");
    });
  }

  it("the project comes from GOOGLE_CLOUD_PROJECT, the ADC file or gcloud's config; the region from gcloud's config", async () => {
    const { mkdirSync, writeFileSync } = await import("node:fs");
    const gcloud = fx.env.CLOUDSDK_CONFIG ?? "";
    mkdirSync(join(gcloud, "configurations"), { recursive: true });
    writeFileSync(join(gcloud, "active_config"), "work\n");
    writeFileSync(
      join(gcloud, "configurations", "config_work"),
      `[core]\naccount = me@example.com\nproject = ${PROJECT}\n\n[run]\nregion = asia-east1\n`,
    );
    const base = ["create", "cfg", "--type", "cloud-run-v2:push", "--provision-infra", "--dry-run"];
    const fromConfig = await wp(base);
    expect(fromConfig.code, fromConfig.stderr).toBe(0);
    expect(fromConfig.stdout).toContain(`GCP project ${PROJECT}, region asia-east1`);
    const fromEnv = await wp(base, { env: { GOOGLE_CLOUD_PROJECT: "other-project", CLOUDSDK_RUN_REGION: "us-east1" } });
    // The env project is not visible to the caller: Google answers 403, wp says so.
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).toContain("GCP project other-project does not exist, or Application Default Credentials");
  });

  it("without a terminal and without a project: exit 2 naming --project, no request", async () => {
    const r = await wp(["create", "np", "--type", "cloud-run-v2:push", "--provision-infra", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--project");
    expect(fx.sim.log).toEqual([]);
  });

  const BAD: Array<{ name: string; argv: string[]; message: string }> = [
    { name: "project id in upper case", argv: ["--project", "My-Project"], message: "GCP project id" },
    { name: "project id too short", argv: ["--project", "abc"], message: "must be 6–30 characters long" },
    {
      name: "service account with _",
      argv: ["--service-account-name", "my_account"],
      message: "--service-account-name",
    },
    {
      name: "service account over 30",
      argv: ["--service-account-name", "a".repeat(31)],
      message: "Service account id",
    },
    {
      name: "repository ending in -",
      argv: ["--repository-name", "images-"],
      message: "Artifact Registry repository id",
    },
    { name: "repository over 63", argv: ["--repository-name", "a".repeat(64)], message: "must be 1–63" },
    { name: "unknown region", argv: ["--region", "us-centrall1"], message: "Did you mean us-central1?" },
    { name: "block name with upper case", argv: ["--credentials-block-name", "Mine"], message: "Block name" },
  ];
  for (const b of BAD) {
    it(`refuses ${b.name} with exit 2 before any request`, async () => {
      const r = await wp([
        "create",
        "bad",
        "--type",
        "cloud-run-v2:push",
        "--provision-infra",
        "--yes",
        "--project",
        PROJECT,
        ...b.argv,
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(b.message);
      expect(fx.sim.log).toEqual([]);
      expect(await pools()).toEqual([]);
    });
  }

  it("on a terminal: Prefect's project picker, then custom names at the prompts", async () => {
    fx.sim.addProject("second-project", "Second");
    const prompter = scriptedPrompter([
      "second-project",
      true,
      "custom-service-account",
      "custom-credentials",
      "custom-repository",
      true,
    ]);
    const r = await wp(["create", "t", "--type", "cloud-run-v2:push", "--provision-infra"], { tty: true, prompter });
    expect(r.code, r.stderr).toBe(0);
    // As Prefect asks: the project first, then whether to customise the names.
    expect(prompter.asked.indexOf("Please select which GCP project to use")).toBe(0);
    expect(prompter.asked).toContain("Please enter a name for the service account");
    const p = fx.sim.project("second-project");
    expect(p.serviceAccounts.has("custom-service-account@second-project.iam.gserviceaccount.com")).toBe(true);
    expect(p.repositories.has("us-central1/custom-repository")).toBe(true);
    const props = await template("t");
    expect(props.service_account_name.default).toBe("custom-service-account@second-project.iam.gserviceaccount.com");
    const api = await connect(await loadSettings(fx.env), { env: fx.env });
    try {
      expect(await api.readBlockDocument("gcp-credentials", "custom-credentials")).not.toBeNull();
    } finally {
      api.close();
    }
    expect(fx.sim.project(PROJECT).serviceAccounts.size).toBe(0);
  });
});
