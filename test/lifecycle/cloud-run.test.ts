/**
 * The Cloud Run pool's life through the CLI against the GCP simulator: record, `wp status` and its
 * drifts, `wp deprovision` of two pools sharing the service account and repository, `wp rotate-credentials`.
 */
import { describe, expect, it } from "vitest";
import { recordName } from "../../src/engine/record.js";
import { connect } from "../../src/prefect/client.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { PROJECT, useGcpSim } from "../helpers/gcp-sim.js";
import { runCli } from "../helpers/run-cli.js";

const SA = `prefect-cloud-run@${PROJECT}.iam.gserviceaccount.com`;
const MEMBER = `serviceAccount:${SA}`;

interface StatusDoc {
  healthy: boolean;
  resources: Array<{ resource: string; state: string; detail?: string; fix?: string; id?: string }>;
}

describe("the life of Cloud Run push pools against the GCP simulator", () => {
  const fx = useGcpSim({ operationPolls: 1 });
  const wp = (argv: string[]) => runCli(argv, { env: fx.env });
  const create = async (pool: string) => {
    const r = await wp([
      "create",
      pool,
      "--type",
      "cloud-run-v2:push",
      "--provision-infra",
      "--yes",
      "--project",
      PROJECT,
    ]);
    expect(r.code, r.stderr).toBe(0);
  };
  const status = async (pool: string) => {
    const r = await wp(["status", pool, "-o", "json"]);
    return { code: r.code, doc: JSON.parse(r.stdout) as StatusDoc };
  };
  const item = (doc: StatusDoc, resource: string) => doc.resources.find((i) => i.resource === resource);
  async function withPrefect<T>(fn: (api: Awaited<ReturnType<typeof connect>>) => Promise<T>): Promise<T> {
    const api = await connect(await loadSettings(fx.env), { env: fx.env });
    try {
      return await fn(api);
    } finally {
      api.close();
    }
  }
  const blockKeyId = (pool: string) =>
    withPrefect(async (api) => {
      const doc = await api.readBlockDocument("gcp-credentials", `${pool}-push-pool-credentials`, true);
      return ((doc?.data ?? {}) as { service_account_info?: { private_key_id?: string } }).service_account_info
        ?.private_key_id;
    });
  const keyIds = () => (fx.sim.project(PROJECT).keys.get(SA) ?? []).map((k) => k.name?.split("/").pop());
  const bound = () =>
    (fx.sim.project(PROJECT).policy.bindings ?? []).filter((b) => b.members?.includes(MEMBER)).map((b) => b.role);

  it("two pools share the service account and repository; deprovisioning one keeps them, the last removes them", async () => {
    await create("c1");
    await create("c2");
    const record = await withPrefect((api) => api.readBlockDocument("wp-provisioning-record", recordName("c1")));
    const steps = ((record?.data ?? { resources: [] }) as { resources: Array<{ step: string; created: boolean }> })
      .resources;
    expect(steps.find((s) => s.step === "gcp.service-account")?.created).toBe(true);
    expect(steps.find((s) => s.step === "gcp.repository")?.created).toBe(true);

    const s1 = await status("c1");
    expect(s1.doc.resources.filter((i) => i.state !== "ok")).toEqual([]);
    expect(s1.code).toBe(0);
    expect(item(s1.doc, "Credentials block")?.detail).toContain(`exists and enabled on ${SA}; it authenticates`);

    const k1 = await blockKeyId("c1");
    const k2 = await blockKeyId("c2");
    const dry = await wp(["deprovision", "c1", "--dry-run"]);
    expect(dry.stdout).toMatch(/keep\s+Service account .*still used by 'c2'/);
    // APIs stay enabled (other workloads may use them): never in a teardown plan.
    expect(dry.stdout).not.toMatch(/delete\s+API/);
    const d1 = await wp(["deprovision", "c1", "--yes"]);
    expect(d1.code, d1.stderr).toBe(0);
    expect(keyIds()).toEqual([k2]);
    expect(k1).not.toBe(k2);
    const s2 = await status("c2");
    expect(s2.doc.resources.filter((i) => i.state !== "ok")).toEqual([]);
    const v2 = await runCli(["verify", "c2"], { env: { ...fx.env, WP_VERIFY_POLL_MS: "5" } });
    expect(v2.code, v2.stderr).toBe(0);
    expect(v2.stdout).toContain("Work pool 'c2' can run work.");

    const d2 = await wp(["deprovision", "c2", "--yes", "-o", "json"]);
    expect(d2.code, d2.stderr).toBe(0);
    expect(JSON.parse(d2.stdout).results.map((r: { resource: string }) => r.resource)).toEqual([
      "Credentials block",
      "Project IAM roles",
      "Service account",
      "Artifact Registry repository",
      "Docker login",
      "Provisioning record",
      "Work pool",
    ]);
    const p = fx.sim.project(PROJECT);
    expect(p.serviceAccounts.has(SA)).toBe(false);
    expect(p.repositories.has("us-central1/prefect-images")).toBe(false);
    expect(bound()).toEqual([]);
    expect(p.policy.bindings?.find((b) => b.role === "roles/owner")?.members).toEqual(["user:owner@example.com"]);
    expect(p.services.has("run.googleapis.com")).toBe(true);
    expect((await wp(["deprovision", "c2", "--yes"])).stderr).toContain("Work pool 'c2' not found.");
  });

  it("status finds a deleted key, removed roles and a deleted repository; a repository with images needs --force", async () => {
    await create("d");
    const p = fx.sim.project(PROJECT);
    fx.sim.pushImage(PROJECT, "us-central1", "prefect-images", "latest");
    const dry = await wp(["deprovision", "d", "--dry-run"]);
    expect(dry.stdout).toMatch(/keep\s+Artifact Registry repository prefect-images .*holds 1 image \(--force/);

    p.keys.set(SA, []);
    let st = await status("d");
    expect(st.code).toBe(1);
    expect(item(st.doc, "Credentials block")).toMatchObject({ state: "drift", fix: "wp rotate-credentials d" });
    for (const b of p.policy.bindings ?? []) b.members = (b.members ?? []).filter((m) => m !== MEMBER);
    p.repositories.delete("us-central1/prefect-images");
    st = await status("d");
    expect(item(st.doc, "Project IAM roles")).toMatchObject({ state: "drift", fix: "wp provision-infra d" });
    expect(item(st.doc, "Artifact Registry repository")?.state).toBe("missing");
  });

  it("verify runs a Cloud Run job as the block's key, deletes it, and names a missing permission or a dead key", async () => {
    await create("v");
    const env = { ...fx.env, WP_VERIFY_POLL_MS: "5" };
    const ok = await runCli(["verify", "v", "-o", "json"], { env });
    expect(ok.code, ok.stderr).toBe(0);
    const r = JSON.parse(ok.stdout);
    expect(r).toMatchObject({ ok: true, exitCode: 0, lastStatus: "SUCCEEDED", identity: SA });
    expect(r.cleanedUp.join(" ")).toContain("deleted Cloud Run job wp-verify-v-");
    expect(fx.sim.runJobs.size).toBe(0);
    const dry = await runCli(["verify", "v", "--dry-run"], { env });
    expect(dry.stdout).toContain("Dry run: nothing was started.");
    expect(dry.stdout).toContain("  logs read from Cloud Logging (the execution's stdout and stderr)\n");

    const p = fx.sim.project(PROJECT);
    const developer = p.policy.bindings?.find((b) => b.role === "roles/run.developer");
    if (developer) developer.members = (developer.members ?? []).filter((m) => m !== MEMBER);
    const denied = await runCli(["verify", "v"], { env });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(`The block's identity ${SA} is not allowed run.jobs.create`);
    expect(denied.stderr).toContain("wp provision-infra v");
    const fixed = await wp(["provision-infra", "v", "--yes", "--project", PROJECT]);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect((await runCli(["verify", "v"], { env })).code).toBe(0);

    p.keys.set(SA, []);
    const dead = await runCli(["verify", "v"], { env });
    expect(dead.code).toBe(4);
    expect(dead.stderr).toContain("Google refused the key");
    expect(fx.sim.runJobs.size).toBe(0);
  });

  it("verify reads the execution's last log lines from Cloud Logging, or says which permission it lacks", async () => {
    await create("v");
    const env = { ...fx.env, WP_VERIFY_POLL_MS: "5" };
    const listed = () => fx.sim.log.filter((r) => r.method === "POST" && r.path === "/v2/entries:list");

    // Prefect's roles (run.developer, iam.serviceAccountUser) do not include logging.logEntries.list:
    // the operator's own login (here the simulator's ADC, a project owner) reads them instead, and says so.
    const mine = await runCli(["verify", "v", "-o", "json"], { env });
    expect(mine.code, mine.stderr).toBe(0);
    const rm = JSON.parse(mine.stdout);
    expect(rm).toMatchObject({ ok: true, exitCode: 0, logs: ["wp verify: work pool v can run a job"] });
    expect(rm.logsNote).toBe(
      "read with your own Google credentials; the block's identity may not read logs (logging.logEntries.list; grant roles/logging.viewer to see them here)",
    );
    expect(listed().map((r) => r.status)).toEqual([403, 200]);
    const mineText = await runCli(["verify", "v"], { env });
    expect(mineText.stdout).toContain(
      "Last log lines (read with your own Google credentials; the block's identity may not read logs",
    );

    // No login of the operator's either: verify still passes and says which permission is missing.
    fx.sim.clearLog();
    const alone = { ...env, GOOGLE_APPLICATION_CREDENTIALS: `${fx.home.dir}/no-adc.json` };
    const denied = await runCli(["verify", "v", "-o", "json"], { env: alone });
    expect(denied.code, denied.stderr).toBe(0);
    const r0 = JSON.parse(denied.stdout);
    expect(r0).toMatchObject({ ok: true, exitCode: 0, logs: [] });
    expect(r0.logsNote).toContain("logging.logEntries.list");
    expect(r0.logsNote).toContain("roles/logging.viewer");
    expect(listed().map((r) => r.status)).toEqual([403]);
    const deniedText = await runCli(["verify", "v"], { env: alone });
    expect(deniedText.code, deniedText.stderr).toBe(0);
    expect(deniedText.stdout).toContain(
      "No log lines: the block's identity may not read logs (logging.logEntries.list; grant roles/logging.viewer",
    );
    expect(deniedText.stdout).toContain("Work pool 'v' can run work.");

    fx.sim.addBinding(PROJECT, "roles/logging.viewer", MEMBER);
    fx.sim.clearLog();
    const ok = await runCli(["verify", "v", "-o", "json"], { env });
    expect(ok.code, ok.stderr).toBe(0);
    const r1 = JSON.parse(ok.stdout);
    expect(r1.logs).toEqual(["wp verify: work pool v can run a job"]);
    expect(r1.logsNote).toBeUndefined();
    const sent = listed()[0]?.body as { filter: string };
    expect(sent.filter).toContain(
      `labels."run.googleapis.com/execution_name"="${String(r1.taskArn).split("/").pop()}"`,
    );
    const okText = await runCli(["verify", "v"], { env });
    expect(okText.stdout).toContain("Last log lines:\n  wp verify: work pool v can run a job\n");
    expect(okText.stdout).not.toContain("Container called exit(0).");

    // Log text is untrusted: control characters and ANSI escapes are shown escaped, never raw.
    fx.sim.containerOutput = () => ({
      stdout: ["red \u001b[31mtext\u001b[0m", "bell\u0007 and \r return", "\u001b]0;title\u0007"],
      stderr: ["to stderr"],
    });
    const esc = await runCli(["verify", "v"], { env });
    expect(esc.code, esc.stderr).toBe(0);
    const raw = [...esc.stdout].filter((ch) => {
      const c = ch.codePointAt(0) ?? 0;
      return (c < 0x20 && ch !== "\n") || (c >= 0x7f && c <= 0x9f);
    });
    expect(raw).toEqual([]);
    expect(esc.stdout).toContain(
      "  red \\x1b[31mtext\\x1b[0m\n  bell\\x07 and \\r return\n  \\x1b]0;title\\x07\n  to stderr\n",
    );
    const escJson = JSON.parse((await runCli(["verify", "v", "-o", "json"], { env })).stdout);
    expect(escJson.logs[0]).toBe("red \u001b[31mtext\u001b[0m");

    // Only the last LOG_LINES lines, oldest first; each line capped.
    fx.sim.containerOutput = () => [...Array.from({ length: 14 }, (_, i) => `line ${i + 1}`), "x".repeat(5000)];
    const many = JSON.parse((await runCli(["verify", "v", "-o", "json"], { env })).stdout);
    expect(many.logs.slice(0, 9)).toEqual(Array.from({ length: 9 }, (_, i) => `line ${i + 6}`));
    expect(many.logs).toHaveLength(10);
    expect(many.logs[9]).toBe(`${"x".repeat(2000)}…`);

    // A container that prints nothing: Cloud Logging is asked a few times, then verify says so.
    fx.sim.containerOutput = () => [];
    fx.sim.clearLog();
    const quiet = JSON.parse((await runCli(["verify", "v", "-o", "json"], { env })).stdout);
    expect(quiet.ok).toBe(true);
    expect(quiet.logs).toEqual([]);
    expect(quiet.logsNote).toBe(
      `Cloud Logging holds no lines for execution ${String(quiet.taskArn).split("/").pop()} yet`,
    );
    expect(listed().length).toBeGreaterThan(1);
    expect(listed().length).toBeLessThanOrEqual(4);
    expect(fx.sim.runJobs.size).toBe(0);
  });

  it("rotate-credentials leaves one key for the block and updates the block", async () => {
    await create("r");
    const before = await blockKeyId("r");
    const r = await wp(["rotate-credentials", "r", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    const after = await blockKeyId("r");
    expect(after).not.toBe(before);
    expect(keyIds()).toEqual([after]);
    expect(r.stdout).toContain(`deleted ${before}`);
    expect(r.stdout).toContain(`an access token was issued for ${SA} with the new key ${after}`);
    for (const pem of fx.sim.issuedPrivateKeys) {
      const body = pem.split("\n")[1] ?? "";
      expect(r.stdout + r.stderr).not.toContain(body);
    }
    expect((await status("r")).doc.healthy).toBe(true);
  });
});
