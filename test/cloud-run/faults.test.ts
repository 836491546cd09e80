/**
 * Google's documented failures, each switched on by name in the simulator (test/sim/gcp/realism.ts),
 * and what wp does with them: an operation's `error` stops the wait with its reason, a 503 while
 * polling or a 429/503 answer is tried again, a failed execution is reported with its reason, both
 * key-creation constraints refuse before any write, `gcp.resourceLocations` is one plain line,
 * every list pages.
 */
import { describe, expect, it } from "vitest";
import { resolveGcp } from "../../src/clouds/gcp/sdk.js";
import { PROJECT, useGcpSim } from "../helpers/gcp-sim.js";
import { runCli } from "../helpers/run-cli.js";

const SA = `prefect-cloud-run@${PROJECT}.iam.gserviceaccount.com`;

describe("Google's documented failures, one at a time", () => {
  const fx = useGcpSim({ operationPolls: 2 });
  const wp = (argv: string[]) => runCli(argv, { env: { ...fx.env, WP_VERIFY_POLL_MS: "5" } });
  const create = (pool: string, extra: string[] = []) =>
    wp(["create", pool, "--type", "cloud-run-v2:push", "--provision-infra", "--yes", "--project", PROJECT, ...extra]);
  const lines = (s: string) => s.split("\n").filter((l) => l.startsWith("Error:"));

  it("an operation that ends with `error` stops the wait at once with Google's reason; the re-run finishes", async () => {
    fx.sim.enable("operation-error", {
      match: /locations\/us-central1\/operations/,
      code: 9,
      message: "Quota for repositories exceeded.",
    });
    const started = Date.now();
    const r = await create("op");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Quota for repositories exceeded. (FAILED_PRECONDITION)");
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(fx.sim.project(PROJECT).repositories.size).toBe(0);
    const again = await create("op");
    expect(again.code, again.stderr).toBe(0);
    expect(fx.sim.project(PROJECT).repositories.size).toBe(1);
  });

  it("a single 503 while polling an operation, and 429/503 answers to writes, are tried again", async () => {
    fx.sim.enable("operation-503");
    fx.sim.enable("transient", { match: /^POST .*:setIamPolicy$/, status: 429 });
    fx.sim.transient((q) => q.method === "POST" && q.path.endsWith("/keys"), 503);
    const r = await create("flaky");
    expect(r.code, r.stderr).toBe(0);
    const statuses = fx.sim.log.map((q) => q.status);
    expect(statuses).toContain(503);
    expect(statuses).toContain(429);
    // The retried key create made exactly one key.
    expect(fx.sim.project(PROJECT).keys.get(SA)).toHaveLength(1);
    // Cloud Run's own API (verify): a 503 to jobs.create and to an operation poll are tried again.
    fx.sim.transient((q) => q.method === "POST" && q.path.endsWith("/jobs"), 503);
    const v = await wp(["verify", "flaky"]);
    expect(v.code, v.stderr).toBe(0);
    expect(fx.sim.log.filter((q) => q.path.endsWith("/jobs") && q.status === 503)).toHaveLength(1);
  });

  it("verify right after a grant waits for it to take effect, within its deadline; a removed role is reported at once", async () => {
    expect((await create("lag")).code).toBe(0);
    // Grants made now take effect in a few seconds: verify waits, saying for what and why.
    fx.sim.realism.lags.binding = 3000;
    fx.sim.enable("binding-lag");
    const p = fx.sim.project(PROJECT);
    const member = `serviceAccount:${SA}`;
    const strip = () => {
      for (const b of p.policy.bindings ?? []) b.members = (b.members ?? []).filter((m) => m !== member);
    };
    strip();
    expect((await wp(["provision-infra", "lag", "--yes", "--project", PROJECT])).code).toBe(0);
    const waited = await wp(["verify", "lag"]);
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stderr).toContain(`Waiting for the roles granted to ${SA} to take effect`);
    expect(waited.stderr).toContain("typically within 2 minutes, sometimes 7 or more");
    expect(waited.stderr).not.toContain("restore");

    // A grant slower than verify's --timeout: verify gives up at its deadline, saying what it waited for.
    fx.sim.realism.lags.binding = 120_000;
    strip();
    expect((await wp(["provision-infra", "lag", "--yes", "--project", PROJECT])).code).toBe(0);
    const started = Date.now();
    const late = await wp(["verify", "lag", "--timeout", "2"]);
    expect(late.code).not.toBe(0);
    expect(late.stderr).toContain(`waiting for the roles granted to ${SA} to take effect`);
    expect(Date.now() - started).toBeLessThan(15_000);

    // The roles removed from the policy: no wait, the missing permission at once.
    strip();
    const denied = await wp(["verify", "lag"]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(`The block's identity ${SA} is not allowed run.jobs.create`);
    expect(denied.stderr).not.toContain("Waiting for the roles");
    expect(fx.sim.runJobs.size).toBe(0);
  });

  it("a failed Cloud Run execution fails verify with Google's reason, and the job is deleted", async () => {
    expect((await create("ex")).code).toBe(0);
    fx.sim.enable("execution-failed");
    const r = await wp(["verify", "ex", "-o", "json"]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: false, lastStatus: "FAILED", exitCode: 1 });
    expect(doc.stoppedReason).toContain("The container exited with an exit code of 1.");
    expect(fx.sim.runJobs.size).toBe(0);
  });

  it("the managed constraint iam.managed.disableServiceAccountKeyCreation refuses before any write, in one line", async () => {
    fx.sim.enable("keys-forbidden-managed");
    const r = await create("managed");
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain("iam.managed.disableServiceAccountKeyCreation forbids service-account keys in project");
    expect(fx.sim.mutations()).toEqual([]);
    // The legacy constraint still refuses the same way.
    fx.sim.disable("keys-forbidden-managed");
    fx.sim.enable("keys-forbidden");
    const legacy = await create("legacy");
    expect(legacy.stderr).toContain("iam.disableServiceAccountKeyCreation forbids service-account keys");
    expect(fx.sim.mutations()).toEqual([]);
  });

  it("a key refused by the managed constraint at the mint (policy unreadable) names it, not Google's raw text", async () => {
    fx.sim.enable("keys-forbidden-managed");
    fx.sim.orgPolicyReadable = false;
    const r = await create("managed2");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("iam.managed.disableServiceAccountKeyCreation forbids service-account keys");
    expect(fx.sim.project(PROJECT).keys.get(SA) ?? []).toHaveLength(0);
  });

  it("gcp.resourceLocations refusing the region is one plain line naming the policy and --region", async () => {
    fx.sim.enable("resource-locations", { allowed: ["europe-west1"] });
    const r = await create("where");
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(lines(r.stderr)[0]).toContain(
      `Your organisation policy gcp.resourceLocations does not allow region us-central1 in project ${PROJECT}`,
    );
    expect(lines(r.stderr)[0]).toContain("pass --region with a region it allows");
    const ok = await create("where", ["--region", "europe-west1", "--overwrite"]);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it("every list pages: projects, images and log entries one per page", async () => {
    fx.sim.enable("small-pages");
    fx.sim.addProject("wp-sim-second");
    fx.sim.addProject("wp-sim-third");
    const gcp = await resolveGcp({ project: PROJECT, region: "us-central1", env: fx.env });
    expect((await gcp.listProjects()).map((p) => p.projectId)).toEqual([PROJECT, "wp-sim-second", "wp-sim-third"]);

    expect((await create("pages")).code).toBe(0);
    for (const tag of ["a", "b", "c"]) fx.sim.pushImage(PROJECT, "us-central1", "prefect-images", tag);
    const dry = await wp(["deprovision", "pages", "--dry-run"]);
    expect(dry.stdout).toMatch(/keep\s+Artifact Registry repository prefect-images .*holds 3 images/);

    fx.sim.containerOutput = () => ["one", "two", "three"];
    const v = await wp(["verify", "pages", "-o", "json"]);
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout).logs).toEqual(["one", "two", "three"]);
  });
});
