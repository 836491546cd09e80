/**
 * The whole life of a Cloud Run push pool (create → status → verify → rotate → deprovision) against
 * the simulator in realistic mode: new service accounts, keys and IAM bindings become usable only
 * after a while, one poll of every operation answers 503, every list pages (test/sim/gcp/realism.ts).
 */
import { describe, expect, it } from "vitest";
import { PROJECT, useGcpSim } from "../helpers/gcp-sim.js";
import { runCli } from "../helpers/run-cli.js";

const SA = `prefect-cloud-run@${PROJECT}.iam.gserviceaccount.com`;

describe("a Cloud Run pool's life against the realistic simulator", () => {
  // The longest of the short lags (about 1.5 s, ±25 %), so what wp does right after a create still meets them on a busy machine.
  const fx = useGcpSim({
    operationPolls: 1,
    realistic: true,
    lags: { serviceAccount: 1200, key: 1500, binding: 1500 },
  });
  const wp = (argv: string[]) => runCli(argv, { env: { ...fx.env, WP_VERIFY_POLL_MS: "20" } });

  it("create waits for what Google makes usable later; status, verify, rotate and deprovision then just work", async () => {
    const created = await wp([
      "create",
      "life",
      "--type",
      "cloud-run-v2:push",
      "--provision-infra",
      "--yes",
      "--project",
      PROJECT,
    ]);
    expect(created.code, created.stderr).toBe(0);
    // The waits said what they waited for and why.
    expect(created.stderr).toMatch(/Waiting for .*service account .*(visible|usable)/i);
    expect(created.stderr).toMatch(/Waiting for the new key .* to (work|be accepted)/i);

    const status = await wp(["status", "life", "-o", "json"]);
    expect(status.code, status.stdout).toBe(0);
    expect(JSON.parse(status.stdout).healthy).toBe(true);

    // Right after create the roles may be granted but not in effect yet: verify waits for them (when they
    // still lag; test/cloud-run/faults.test.ts makes sure they do) instead of reporting "restore the role".
    const verified = await wp(["verify", "life"]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain("Work pool 'life' can run work.");
    expect(verified.stderr).not.toContain("restore");

    const rotated = await wp(["rotate-credentials", "life", "--yes"]);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stderr).toMatch(/Waiting for the new key .* to (work|be accepted)/i);
    expect(fx.sim.project(PROJECT).keys.get(SA)).toHaveLength(1);

    const gone = await wp(["deprovision", "life", "--yes"]);
    expect(gone.code, gone.stderr).toBe(0);
    expect(fx.sim.project(PROJECT).serviceAccounts.has(SA)).toBe(false);
    expect(fx.sim.project(PROJECT).repositories.size).toBe(0);
    // Every operation was polled through a 503.
    expect(fx.sim.log.some((r) => r.status === 503)).toBe(true);
  });
});
