/**
 * The service-account key's critical section under signals, with the built CLI (`node bin/wp.js`,
 * so bin.ts's signal handling is what runs) against the GCP simulator and the embedded API. After
 * every interruption a plain re-run must leave exactly one key, held by the block.
 */
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { blockKind, createBlock } from "../../src/prefect/blocks.js";
import { connect } from "../../src/prefect/client.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { filesContaining, PROJECT, useGcpSim } from "../helpers/gcp-sim.js";
import { requireBuilt, wpProcess } from "../helpers/wp-process.js";

const SA = `prefect-cloud-run@${PROJECT}.iam.gserviceaccount.com`;

describe("the service-account key survives interruption", () => {
  const fx = useGcpSim();
  beforeAll(() => {
    requireBuilt();
  });

  const env = (extra: Record<string, string> = {}) => {
    const tmp = join(fx.home.dir, "tmp");
    mkdirSync(tmp, { recursive: true });
    return { ...fx.env, TMPDIR: tmp, METADATA_SERVER_DETECTION: "none", ...extra };
  };
  const create = (pool: string, extra: Record<string, string> = {}) =>
    wpProcess(
      ["create", pool, "--type", "cloud-run-v2:push", "--provision-infra", "--yes", "--project", PROJECT],
      env(extra),
    );
  const keyIds = () => (fx.sim.project(PROJECT).keys.get(SA) ?? []).map((k) => k.name?.split("/").pop());

  async function held(pool: string): Promise<string | undefined> {
    const api = await connect(await loadSettings(fx.env), { env: fx.env });
    try {
      const doc = await api.readBlockDocument("gcp-credentials", `${pool}-push-pool-credentials`, true);
      return (doc?.data as { service_account_info?: { private_key_id?: string } } | undefined)?.service_account_info
        ?.private_key_id;
    } finally {
      api.close();
    }
  }

  async function rerunConverges(pool: string) {
    const again = create(pool);
    const { code } = await again.exit;
    expect(code, again.stderr()).toBe(0);
    expect(keyIds()).toHaveLength(1);
    expect(await held(pool)).toBe(keyIds()[0]);
    const pending = join(fx.env.WP_HOME ?? "", "pending");
    expect(existsSync(pending) ? readdirSync(pending) : []).toEqual([]);
    // No private key in any file but Prefect's store (temp files included: TMPDIR is inside the home).
    for (const pem of fx.sim.issuedPrivateKeys) {
      const body = pem.split("\n")[1] ?? "";
      expect(filesContaining(fx.home.dir, body, (p) => p.startsWith(join(fx.env.WP_HOME ?? "", "wp.db")))).toEqual([]);
    }
    return again;
  }

  const POINTS = ["before-mint", "after-mint", "after-journal", "after-block"] as const;
  for (const point of POINTS) {
    it(`SIGINT at ${point}: the run finishes the key and its block, exits 130`, async () => {
      const run = create("p1", { WP_TEST_PAUSE_AT: point });
      await run.waitFor(`wp-test: paused at ${point}`);
      run.child.kill("SIGINT");
      const { code } = await run.exit;
      expect(code, run.stderr()).toBe(130);
      expect(run.stderr()).toContain("finishing the credential step first");
      expect(keyIds()).toHaveLength(1);
      expect(await held("p1")).toBe(keyIds()[0]);
      await rerunConverges("p1");
    });

    it(`SIGKILL at ${point}: the next run deletes the orphan and leaves one key, held by the block`, async () => {
      const run = create("p1", { WP_TEST_PAUSE_AT: point });
      await run.waitFor(`wp-test: paused at ${point}`);
      run.child.kill("SIGKILL");
      expect((await run.exit).signal).toBe("SIGKILL");
      const before = keyIds();
      expect(before).toHaveLength(point === "before-mint" ? 0 : 1);
      const again = await rerunConverges("p1");
      if (point === "after-mint" || point === "after-journal") {
        expect(again.stderr()).toContain(`Deleted service-account key ${before[0]} of service account ${SA}`);
        expect(keyIds()).not.toContain(before[0]);
      } else {
        expect(again.stderr()).not.toContain("Deleted service-account key");
      }
    });
  }

  it("a key that another pool's block holds is never taken for an orphan", async () => {
    const run = create("p1", { WP_TEST_PAUSE_AT: "before-mint" });
    await run.waitFor("wp-test: paused at before-mint");
    run.child.kill("SIGKILL");
    await run.exit;
    // Meanwhile another run made a key on the shared service account and stored it in pool p2's block.
    fx.sim.acceptToken("other-run");
    const made = await fetch(`${fx.sim.url}v1/projects/${PROJECT}/serviceAccounts/${SA}/keys`, {
      method: "POST",
      headers: { authorization: "Bearer other-run", "content-type": "application/json" },
      body: "{}",
    });
    const key = (await made.json()) as { privateKeyData: string };
    const info = JSON.parse(Buffer.from(key.privateKeyData, "base64").toString()) as { private_key_id: string };
    const api = await connect(await loadSettings(fx.env), { env: fx.env });
    try {
      await createBlock(api, await blockKind(api, "gcp-credentials"), "p2-push-pool-credentials", {
        service_account_info: info,
        project: PROJECT,
      });
    } finally {
      api.close();
    }
    const again = create("p1");
    expect((await again.exit).code, again.stderr()).toBe(0);
    expect(keyIds()).toContain(info.private_key_id);
    expect(keyIds()).toHaveLength(2);
    expect(await held("p1")).not.toBe(info.private_key_id);
    expect(again.stderr()).not.toContain("Deleted service-account key");
  });

  it("two runs for pools sharing the project at once end with one of everything and a key per block", async () => {
    const [a, b] = [create("p1"), create("p2")];
    const [ra, rb] = await Promise.all([a.exit, b.exit]);
    expect(ra.code, a.stderr()).toBe(0);
    expect(rb.code, b.stderr()).toBe(0);
    const p = fx.sim.project(PROJECT);
    expect([...p.serviceAccounts.keys()]).toEqual([SA]);
    expect([...p.repositories.keys()]).toEqual(["us-central1/prefect-images"]);
    expect(keyIds()).toHaveLength(2);
    expect(new Set([await held("p1"), await held("p2")])).toEqual(new Set(keyIds()));
    expect(fx.sim.log.filter((r) => r.path.endsWith(":setIamPolicy") && r.status === 200)).toHaveLength(1);
  });
});
