/**
 * Issue 14's case 5 for Cloud Run: a `wp verify` killed with SIGKILL while its job runs (the built
 * CLI, `node bin/wp.js`) leaves the job journaled: `wp status` reports it, and the next `wp verify`
 * or `wp deprovision` deletes it.
 */
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PROJECT, useGcpSim } from "../helpers/gcp-sim.js";
import { runCli } from "../helpers/run-cli.js";
import { requireBuilt, wpProcess } from "../helpers/wp-process.js";

interface StatusDoc {
  healthy: boolean;
  resources: Array<{ resource: string; name: string; state: string; detail?: string; fix?: string; id?: string }>;
}

describe("Cloud Run: a verify killed mid-wait", () => {
  // Operations finish at once, so the job exists as soon as verify created it.
  const fx = useGcpSim({ operationPolls: 0 });
  beforeAll(() => {
    requireBuilt();
  });
  const env = (extra: Record<string, string> = {}) => {
    const tmp = join(fx.home.dir, "tmp");
    mkdirSync(tmp, { recursive: true });
    return { ...fx.env, TMPDIR: tmp, METADATA_SERVER_DETECTION: "none", ...extra };
  };
  const wp = (argv: string[]) => runCli(argv, { env: env({ WP_VERIFY_POLL_MS: "5" }) });
  const pending = () => {
    const dir = join(fx.env.WP_HOME ?? "", "pending");
    return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith("verify-")) : [];
  };

  async function killedVerify(pool: string): Promise<string> {
    const created = await wp([
      "create",
      pool,
      "--type",
      "cloud-run-v2:push",
      "--provision-infra",
      "--yes",
      "--project",
      PROJECT,
    ]);
    expect(created.code, created.stderr).toBe(0);
    // Polls an hour apart: the run waits on its execution until killed.
    const run = wpProcess(["verify", pool], env({ WP_VERIFY_POLL_MS: "3600000" }));
    await run.waitFor(": RUNNING");
    run.child.kill("SIGKILL");
    expect((await run.exit).signal).toBe("SIGKILL");
    const jobs = [...fx.sim.runJobs.keys()];
    expect(jobs).toHaveLength(1);
    expect(pending()).toHaveLength(1);

    const st = await wp(["status", pool, "-o", "json"]);
    expect(st.code).toBe(1);
    const left = (JSON.parse(st.stdout) as StatusDoc).resources.filter((i) => i.resource === "Cloud Run job");
    expect(left).toHaveLength(1);
    expect(left[0]).toMatchObject({ state: "drift", fix: `wp verify ${pool}`, id: jobs[0] });
    expect(left[0]?.detail).toContain("left by a wp verify interrupted");
    return jobs[0] ?? "";
  }

  it("status reports the job; the next verify deletes it first", async () => {
    const job = await killedVerify("s");
    const again = await wp(["verify", "s"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`Deleting Cloud Run job ${job.split("/").pop()}, left by an interrupted wp verify`);
    expect(fx.sim.runJobs.size).toBe(0);
    expect(pending()).toEqual([]);
    const st = await wp(["status", "s", "-o", "json"]);
    expect(st.code, st.stdout).toBe(0);
  });

  it("deprovision deletes the job the killed verify left, then the pool's resources", async () => {
    const job = await killedVerify("t");
    const d = await wp(["deprovision", "t", "--yes", "-o", "json"]);
    expect(d.code, d.stderr).toBe(0);
    const results = JSON.parse(d.stdout).results as Array<{ resource: string; name: string; status: string }>;
    expect(results[0]).toMatchObject({ resource: "Cloud Run job", name: job.split("/").pop(), status: "deleted" });
    expect(fx.sim.runJobs.size).toBe(0);
    expect(pending()).toEqual([]);
    expect(fx.sim.project(PROJECT).serviceAccounts.size).toBe(0);
  });
});
