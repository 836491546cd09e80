/**
 * The client secret's critical section under signals, with the built CLI (`node bin/wp.js`, so bin.ts's
 * signal handling runs) against the Azure simulator and the embedded API. After every interruption a
 * plain re-run must leave exactly one secret on the app, held by the block, and nothing pending.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { connect } from "../../src/prefect/client.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { makeHome } from "../helpers/run-cli.js";
import { requireBuilt, wpProcess } from "../helpers/wp-process.js";
import { type AzureSim, startAzureSim } from "../sim/azure/server.mjs";

describe("the client secret survives interruption", () => {
  let sim: AzureSim;
  let home: ReturnType<typeof makeHome>;
  let env: Record<string, string> & { WP_HOME: string };
  beforeAll(async () => {
    requireBuilt();
    sim = await startAzureSim();
  });
  afterAll(async () => {
    await sim.close();
    rmSync(sim.cert.dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await sim.close({ keepCertificate: true });
    sim = await startAzureSim({ cert: sim.cert, port: sim.port });
    home = makeHome();
    const docker = mkdtempSync(join(tmpdir(), "wp-docker-"));
    env = {
      PATH: process.env.PATH ?? "",
      ...home.env,
      ...sim.env,
      DOCKER_CONFIG: docker,
      DOCKER_HOST: `unix://${docker}/no-engine.sock`,
      WP_AZURE_RETRY_BASE_MS: "20",
    };
    return () => {
      home.cleanup();
      rmSync(docker, { recursive: true, force: true });
    };
  });

  const create = (pool: string, extra: Record<string, string> = {}) =>
    wpProcess(["create", pool, "--type", "azure-container-instance:push", "--provision-infra", "--yes"], {
      ...env,
      ...extra,
    });

  async function secretsAndBlock(pool: string) {
    const secrets = sim.state.applications[0]?.secrets ?? [];
    const api = await connect(await loadSettings(env), { env });
    try {
      const block = await api.readBlockDocument(
        "azure-container-instance-credentials",
        `${pool}-push-pool-credentials`,
        true,
      );
      const held = (block?.data as { client_secret?: string } | undefined)?.client_secret;
      return { keys: secrets.map((s) => s.keyId), texts: secrets.map((s) => s.secretText), held };
    } finally {
      api.close();
    }
  }

  async function rerunConverges(pool: string) {
    const again = create(pool);
    const { code } = await again.exit;
    expect(code, again.stderr()).toBe(0);
    const { keys, texts, held } = await secretsAndBlock(pool);
    expect(keys).toHaveLength(1);
    expect(texts).toEqual([held]);
    expect(existsSync(join(env.WP_HOME, "pending")) ? readdirSync(join(env.WP_HOME, "pending")) : []).toEqual([]);
    return again;
  }

  const POINTS = ["before-mint", "after-mint", "after-journal", "after-block"] as const;

  for (const point of POINTS) {
    it(`SIGINT at ${point}: the run finishes the credential step and exits 130`, async () => {
      const run = create("p1", { WP_TEST_PAUSE_AT: point });
      await run.waitFor(`wp-test: paused at ${point}`);
      run.child.kill("SIGINT");
      const { code } = await run.exit;
      expect(code, run.stderr()).toBe(130);
      expect(run.stderr()).toContain("finishing the credential step first");
      const { keys, texts, held } = await secretsAndBlock("p1");
      expect(keys).toHaveLength(1);
      expect(texts).toEqual([held]);
      await rerunConverges("p1");
    });

    it(`SIGKILL at ${point}: the next run deletes the orphan secret and leaves one, held by the block`, async () => {
      const run = create("p1", { WP_TEST_PAUSE_AT: point });
      await run.waitFor(`wp-test: paused at ${point}`);
      run.child.kill("SIGKILL");
      expect((await run.exit).signal).toBe("SIGKILL");
      const before = await secretsAndBlock("p1");
      expect(before.keys).toHaveLength(point === "before-mint" ? 0 : 1);
      // The journal names ids and times only, never the secret.
      const pending = existsSync(join(env.WP_HOME, "pending")) ? readdirSync(join(env.WP_HOME, "pending")) : [];
      for (const f of pending) {
        const text = readFileSync(join(env.WP_HOME, "pending", f), "utf8");
        for (const t of before.texts) expect(text).not.toContain(t);
      }
      const again = await rerunConverges("p1");
      if (point === "after-mint" || point === "after-journal") {
        expect(again.stderr()).toContain(`Deleted client secret ${before.keys[0]} of app registration`);
        expect((await secretsAndBlock("p1")).keys).not.toContain(before.keys[0]);
      } else {
        expect(again.stderr()).not.toContain("Deleted client secret");
      }
    });
  }

  describe("a rotation stopped before the old secret is deleted (after the block holds the new one)", () => {
    const rotate = () => wpProcess(["rotate-credentials", "r", "--yes"], { ...env, WP_TEST_PAUSE_AT: "before-retire" });

    it("SIGINT: the run finishes the rotation (the old secret is deleted), exits 130", async () => {
      expect((await create("r").exit).code).toBe(0);
      const [old] = (await secretsAndBlock("r")).keys;
      const run = rotate();
      await run.waitFor("wp-test: paused at before-retire");
      run.child.kill("SIGINT");
      expect((await run.exit).code, run.stderr()).toBe(130);
      const after = await secretsAndBlock("r");
      expect(after.keys).toHaveLength(1);
      expect(after.keys).not.toContain(old);
      expect(after.texts).toEqual([after.held]);
    });

    it("SIGKILL: status names the old secret as drift; the next wp verify deletes it", async () => {
      expect((await create("r").exit).code).toBe(0);
      const [old] = (await secretsAndBlock("r")).keys;
      const run = rotate();
      await run.waitFor("wp-test: paused at before-retire");
      run.child.kill("SIGKILL");
      expect((await run.exit).signal).toBe("SIGKILL");
      const left = await secretsAndBlock("r");
      expect(left.keys).toHaveLength(2);
      expect(left.keys).toContain(old);
      expect(left.texts).toContain(left.held);

      const status = wpProcess(["status", "r", "-o", "json"], env);
      expect((await status.exit).code).toBe(1);
      const item = JSON.parse(status.stdout()).resources.find(
        (i: { resource: string }) => i.resource === "Credentials block",
      );
      expect(item.state).toBe("drift");
      expect(item.detail).toContain(old);

      const verify = wpProcess(["verify", "r"], { ...env, WP_VERIFY_POLL_MS: "10" });
      expect((await verify.exit).code, verify.stderr()).toBe(0);
      expect(verify.stderr()).toContain(`Deleted client secret ${old}`);
      const done = await secretsAndBlock("r");
      expect(done.keys).toHaveLength(1);
      expect(done.texts).toEqual([done.held]);
      expect((await wpProcess(["status", "r"], env).exit).code).toBe(0);
    });
  });
});
