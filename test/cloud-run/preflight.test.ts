/**
 * The permission preflight for Cloud Run pools: before any write, `projects.testIamPermissions` for
 * exactly what the plan's writes need, every missing one listed at once with the role granting it;
 * and `wp create … --print-permissions`, the custom role with exactly those permissions.
 */
import { describe, expect, it } from "vitest";
import { PROJECT, useGcpSim } from "../helpers/gcp-sim.js";
import { runCli } from "../helpers/run-cli.js";

const SA = `prefect-cloud-run@${PROJECT}.iam.gserviceaccount.com`;

describe("Cloud Run permission preflight", () => {
  const fx = useGcpSim({ operationPolls: 1 });
  const wp = (argv: string[]) => runCli(argv, { env: fx.env });
  const create = (pool: string, extra: string[] = []) =>
    wp(["create", pool, "--type", "cloud-run-v2:push", "--provision-infra", "--yes", "--project", PROJECT, ...extra]);
  const tested = () => fx.sim.log.filter((r) => r.path.endsWith(":testIamPermissions"));

  it("lists every permission the plan's writes need that the caller lacks, with its role, before any write", async () => {
    fx.sim.callerLacks.add("resourcemanager.projects.setIamPolicy");
    fx.sim.callerLacks.add("iam.serviceAccountKeys.create");
    const r = await create("denied");
    expect(r.code).toBe(4);
    const line = r.stderr.split("\n").find((l) => l.startsWith("Error:")) ?? "";
    expect(line).toContain("lacks 2 permissions this plan needs, so nothing was changed");
    expect(line).toContain("resourcemanager.projects.setIamPolicy (granted by roles/resourcemanager.projectIamAdmin)");
    expect(line).toContain("iam.serviceAccountKeys.create");
    expect(line).toContain("granted by roles/iam.serviceAccountKeyAdmin");
    expect(line).toContain("--print-permissions");
    expect(fx.sim.mutations()).toEqual([]);
    // Exactly the permissions the plan's writes need were asked.
    const asked = ((tested()[0]?.body ?? {}) as { permissions?: string[] }).permissions ?? [];
    expect([...asked].sort()).toEqual([
      "artifactregistry.repositories.create",
      "iam.serviceAccountKeys.create",
      "iam.serviceAccountKeys.delete",
      "iam.serviceAccounts.create",
      "resourcemanager.projects.setIamPolicy",
      "serviceusage.services.enable",
    ]);

    fx.sim.callerLacks.clear();
    const ok = await create("denied");
    expect(ok.code, ok.stderr).toBe(0);
    // Nothing left to write: nothing to test.
    fx.sim.clearLog();
    expect((await create("denied")).code).toBe(0);
    expect(tested()).toEqual([]);
  });

  it("a key permission granted on the existing service account itself counts", async () => {
    const p = fx.sim.project(PROJECT);
    p.serviceAccounts.set(SA, { name: `projects/${PROJECT}/serviceAccounts/${SA}`, email: SA, projectId: PROJECT });
    p.keys.set(SA, []);
    fx.sim.callerLacks.add("iam.serviceAccountKeys.create");
    fx.sim.callerLacks.add("iam.serviceAccountKeys.delete");
    fx.sim.callerLacksOnAccount = new Set();
    const r = await create("onsa");
    expect(r.code, r.stderr).toBe(0);
    expect(tested().map((q) => q.path)).toEqual([
      `/v1/projects/${PROJECT}:testIamPermissions`,
      `/v1/projects/${PROJECT}/serviceAccounts/${SA}:testIamPermissions`,
    ]);
    expect(p.keys.get(SA)).toHaveLength(1);
  });

  it("--print-permissions prints a custom role with exactly what provisioning needs, for the chosen names", async () => {
    const r = await wp([
      "create",
      "pp",
      "--type",
      "cloud-run-v2:push",
      "--print-permissions",
      "--project",
      PROJECT,
      "--region",
      "europe-west1",
      "--service-account-name",
      "my-runner",
      "--repository-name",
      "my-images",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ cloud: "gcp", format: "gcp-custom-role" });
    const perms: string[] = doc.document.customRole.includedPermissions;
    for (const p of [
      "serviceusage.services.enable",
      "artifactregistry.repositories.create",
      "iam.serviceAccounts.create",
      "resourcemanager.projects.setIamPolicy",
      "iam.serviceAccountKeys.create",
      "iam.serviceAccountKeys.delete",
    ])
      expect(perms).toContain(p);
    expect(perms.every((p) => !p.includes("*"))).toBe(true);
    expect(doc.document.predefinedRoles).toContain("roles/iam.serviceAccountKeyAdmin");
    expect(doc.document.resources).toMatchObject({
      repository: `projects/${PROJECT}/locations/europe-west1/repositories/my-images`,
      serviceAccount: `my-runner@${PROJECT}.iam.gserviceaccount.com`,
    });
    expect(fx.sim.log).toEqual([]);
  });
});
