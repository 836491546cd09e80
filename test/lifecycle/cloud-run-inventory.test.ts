/**
 * Issue 14's cases for Cloud Run, through the CLI against the GCP simulator: the pool's record names
 * its resources and region for every command (1); a repository kept for its images keeps the record
 * and pool until `deprovision --force` (4); the last deprovision forgets Docker's login and the
 * profile's build namespace (7); every drift status reports names one command that repairs it.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ProvisioningRecord, readRecord, writeRecord } from "../../src/engine/record.js";
import { connect } from "../../src/prefect/client.js";
import { KEY_ALIASES, loadSettings } from "../../src/prefect/settings.js";
import { PROJECT, useGcpSim } from "../helpers/gcp-sim.js";
import { runCli } from "../helpers/run-cli.js";

const SA = `prefect-cloud-run@${PROJECT}.iam.gserviceaccount.com`;
const MEMBER = `serviceAccount:${SA}`;
const HOST = "us-central1-docker.pkg.dev";

interface StatusDoc {
  healthy: boolean;
  resources: Array<{ resource: string; state: string; detail?: string; fix?: string; id?: string }>;
}

describe("Cloud Run: one pool, one inventory", () => {
  const fx = useGcpSim({ operationPolls: 1 });
  const wp = (argv: string[]) => runCli(argv, { env: fx.env });
  const create = async (pool: string, extra: string[] = []) => {
    const r = await wp([
      "create",
      pool,
      "--type",
      "cloud-run-v2:push",
      "--provision-infra",
      "--yes",
      "--project",
      PROJECT,
      ...extra,
    ]);
    expect(r.code, r.stderr).toBe(0);
  };
  const status = async (pool: string) => {
    const r = await wp(["status", pool, "-o", "json"]);
    return { code: r.code, doc: JSON.parse(r.stdout) as StatusDoc, stderr: r.stderr };
  };
  async function withPrefect<T>(fn: (api: Awaited<ReturnType<typeof connect>>) => Promise<T>): Promise<T> {
    const api = await connect(await loadSettings(fx.env), { env: fx.env });
    try {
      return await fn(api);
    } finally {
      api.close();
    }
  }
  const namespace = async () => {
    const settings = await loadSettings(fx.env);
    return KEY_ALIASES.dockerNamespace.map((k) => settings.get(k)).find(Boolean);
  };
  const dockerAuths = (): Record<string, unknown> => {
    const path = join(fx.dockerConfig, "config.json");
    if (!existsSync(path)) return {};
    return (JSON.parse(readFileSync(path, "utf8")) as { auths?: Record<string, unknown> }).auths ?? {};
  };

  it("(1) provision-infra keeps the pool's own names and region, and on a healthy pool changes nothing", async () => {
    const custom = [
      "--region",
      "europe-west1",
      "--service-account-name",
      "eu-runner",
      "--repository-name",
      "eu-images",
    ];
    await create("eu", custom);
    const p = fx.sim.project(PROJECT);
    const email = `eu-runner@${PROJECT}.iam.gserviceaccount.com`;
    expect([...p.serviceAccounts.keys()]).toEqual([email]);
    expect([...p.repositories.keys()]).toEqual(["europe-west1/eu-images"]);

    fx.sim.clearLog();
    const again = await wp(["provision-infra", "eu", "--yes"]);
    expect(again.code, again.stderr).toBe(0);
    expect([...p.serviceAccounts.keys()]).toEqual([email]);
    expect([...p.repositories.keys()]).toEqual(["europe-west1/eu-images"]);
    expect(fx.sim.mutations()).toEqual([]);
    const pool = await withPrefect((api) => api.readWorkPool("eu"));
    const vars = (pool!.base_job_template as { variables: { properties: Record<string, { default?: unknown }> } })
      .variables.properties;
    expect(vars.region?.default).toBe("europe-west1");
    expect(vars.service_account_name?.default).toBe(email);

    const st = await status("eu");
    expect(st.doc.resources.filter((i) => i.state !== "ok")).toEqual([]);
    expect(st.code).toBe(0);
    expect(fx.sim.mutations()).toEqual([]);

    const contra = await wp(["provision-infra", "eu", "--yes", "--region", "us-central1"]);
    expect(contra.code).toBe(2);
    expect(contra.stderr).toContain("us-central1");
    expect(contra.stderr).toContain("europe-west1");
    const name = await wp(["provision-infra", "eu", "--yes", "--service-account-name", "other-runner"]);
    expect(name.code).toBe(2);
    expect(name.stderr).toContain("eu-runner");
    const over = await wp(["provision-infra", "eu", "--region", "us-central1", "--overwrite", "--dry-run"]);
    expect(over.code, over.stderr).toBe(0);
    expect(over.stdout).toContain("region us-central1");
    expect(fx.sim.mutations()).toEqual([]);
  });

  it("(1) a record written before it kept project and region: provision-infra reads them from the pool", async () => {
    await create("old", ["--region", "europe-west1", "--service-account-name", "eu-runner"]);
    const stored = await withPrefect((api) => readRecord(api, "old"));
    await withPrefect((api) =>
      writeRecord(api, { ...(stored?.record as ProvisioningRecord), context: {} }, stored?.id ?? ""),
    );
    fx.sim.clearLog();
    const again = await wp(["provision-infra", "old", "--yes"]);
    expect(again.code, again.stderr).toBe(0);
    expect(fx.sim.mutations()).toEqual([]);
    expect([...fx.sim.project(PROJECT).repositories.keys()]).toEqual(["europe-west1/prefect-images"]);
    // The run records where the pool is, for every later command.
    const now = await withPrefect((api) => readRecord(api, "old"));
    expect(now?.record.context).toMatchObject({ project: PROJECT, region: "europe-west1" });
  });

  it("a pool without a record: its template names the service account and region, its block the project", async () => {
    await create("bare", ["--region", "europe-west1", "--service-account-name", "eu-runner"]);
    const record = await withPrefect((api) => readRecord(api, "bare"));
    await withPrefect((api) => api.deleteBlockDocument(record?.id ?? ""));
    fx.sim.clearLog();
    const st = await status("bare");
    expect(st.doc.resources.filter((i) => i.state !== "ok")).toEqual([]);
    expect(st.code, st.stderr).toBe(0);
    const sa = st.doc.resources.find((i) => i.resource === "Service account");
    expect(sa?.id).toBe(`eu-runner@${PROJECT}.iam.gserviceaccount.com`);
    const repo = st.doc.resources.find((i) => i.resource === "Artifact Registry repository");
    expect(repo?.id).toBe(`projects/${PROJECT}/locations/europe-west1/repositories/prefect-images`);
    expect(fx.sim.mutations()).toEqual([]);
    // Without a record nothing counts as wp's: the teardown keeps what it cannot know it made.
    const dry = await wp(["deprovision", "bare", "--dry-run"]);
    expect(dry.stdout).toMatch(/keep\s+Service account .*adopted/);
  });

  it("(4, 7) a repository kept for its images keeps the record and pool; deprovision --force finishes, forgetting Docker's login", async () => {
    await create("k");
    expect(Object.keys(dockerAuths())).toContain(HOST);
    expect(await namespace()).toBe(`${HOST}/${PROJECT}/prefect-images`);
    fx.sim.pushImage(PROJECT, "us-central1", "prefect-images", "latest");
    const p = fx.sim.project(PROJECT);

    const first = await wp(["deprovision", "k", "--yes"]);
    expect(first.code, first.stderr).toBe(0);
    expect(p.repositories.has("us-central1/prefect-images")).toBe(true);
    expect(p.serviceAccounts.has(SA)).toBe(false);
    expect(await withPrefect((api) => readRecord(api, "k"))).not.toBeNull();
    expect(await withPrefect((api) => api.readWorkPool("k"))).not.toBeNull();
    // The repository stays, so Docker's login to it and the build namespace stay too.
    expect(Object.keys(dockerAuths())).toContain(HOST);
    expect(await namespace()).toBe(`${HOST}/${PROJECT}/prefect-images`);

    const dry = await wp(["deprovision", "k", "--dry-run"]);
    expect(dry.stdout).toMatch(/keep\s+Artifact Registry repository prefect-images .*holds 1 image \(--force/);
    const forced = await wp(["deprovision", "k", "--yes", "--force", "-o", "json"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout).results.map((r: { resource: string }) => r.resource)).toEqual([
      "Artifact Registry repository",
      "Docker login",
      "Provisioning record",
      "Work pool",
    ]);
    expect(p.repositories.has("us-central1/prefect-images")).toBe(false);
    expect(await withPrefect((api) => readRecord(api, "k"))).toBeNull();
    expect(await withPrefect((api) => api.readWorkPool("k"))).toBeNull();
    expect(Object.keys(dockerAuths())).not.toContain(HOST);
    expect(await namespace()).toBeUndefined();
    expect((await wp(["deprovision", "k", "--yes"])).stderr).toContain("Work pool 'k' not found.");
  });

  it("(7) a login another pool's repository in the same registry host still needs is kept", async () => {
    await create("a");
    await create("b", ["--repository-name", "b-images"]);
    const d = await wp(["deprovision", "a", "--yes"]);
    expect(d.code, d.stderr).toBe(0);
    const p = fx.sim.project(PROJECT);
    expect([...p.repositories.keys()]).toEqual(["us-central1/b-images"]);
    expect(Object.keys(dockerAuths())).toContain(HOST);
    const last = await wp(["deprovision", "b", "--yes"]);
    expect(last.code, last.stderr).toBe(0);
    expect(Object.keys(dockerAuths())).not.toContain(HOST);
  });

  const drifts: Array<{ what: string; fix: string; drift(): void }> = [
    {
      what: "the block's key deleted",
      fix: "rotate-credentials",
      drift: () => fx.sim.project(PROJECT).keys.set(SA, []),
    },
    {
      what: "the block's key disabled",
      fix: "rotate-credentials",
      drift: () => {
        for (const k of fx.sim.project(PROJECT).keys.get(SA) ?? []) k.disabled = true;
      },
    },
    {
      what: "a role binding removed",
      fix: "provision-infra",
      drift: () => {
        const b = fx.sim.project(PROJECT).policy.bindings?.find((x) => x.role === "roles/run.developer");
        if (b) b.members = (b.members ?? []).filter((m) => m !== MEMBER);
      },
    },
    {
      what: "the service account deleted",
      fix: "provision-infra",
      drift: () => {
        const p = fx.sim.project(PROJECT);
        p.serviceAccounts.delete(SA);
        p.keys.delete(SA);
        // Google keeps a deleted account's bindings under a `deleted:` member, which grants nothing.
        for (const b of p.policy.bindings ?? [])
          b.members = (b.members ?? []).map((m) => (m === MEMBER ? `deleted:${m}?uid=1234` : m));
      },
    },
    {
      what: "the service account disabled",
      fix: "provision-infra",
      drift: () => {
        const sa = fx.sim.project(PROJECT).serviceAccounts.get(SA);
        if (sa) sa.disabled = true;
      },
    },
    {
      what: "the repository deleted",
      fix: "provision-infra",
      drift: () => fx.sim.project(PROJECT).repositories.delete("us-central1/prefect-images"),
    },
  ];
  for (const d of drifts) {
    it(`fixes that fix: ${d.what} → status names \`wp ${d.fix}\`, which repairs it`, async () => {
      await create("f");
      d.drift();
      const st = await status("f");
      expect(st.code).toBe(1);
      const bad = st.doc.resources.filter((i) => i.state !== "ok");
      expect(bad.length).toBeGreaterThan(0);
      expect([...new Set(bad.map((i) => i.fix))]).toEqual([`wp ${d.fix} f`]);
      const fixed = await wp([d.fix, "f", "--yes"]);
      expect(fixed.code, fixed.stderr).toBe(0);
      const after = await status("f");
      expect(after.doc.resources.filter((i) => i.state !== "ok")).toEqual([]);
      expect(after.code).toBe(0);
      // One key, held by the block.
      expect(fx.sim.project(PROJECT).keys.get(SA)).toHaveLength(1);
    });
  }
});
