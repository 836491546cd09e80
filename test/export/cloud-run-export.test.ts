/**
 * Issue 17 point 2 on Cloud Run, against the Google simulator: two pools sharing the service
 * account, repository, APIs and role bindings export as Terraform that parses, matches the
 * google/prefect schemas, imports exactly what the records name (shared resources once, each role
 * by "project role member") and holds no private key.
 */
import { describe, expect, it } from "vitest";
import { PROJECT, useGcpSim } from "../helpers/gcp-sim.js";
import { runCli } from "../helpers/run-cli.js";
import {
  blockSecrets,
  body,
  checkAgainstRecords,
  checkImports,
  checkNoSecrets,
  checkSchemas,
  exportPools,
  recordsOf,
} from "./helpers.js";

const SA = `prefect-cloud-run@${PROJECT}.iam.gserviceaccount.com`;

describe("wp export terraform: Cloud Run", () => {
  const fx = useGcpSim({ operationPolls: 1 });

  it("two pools: parses, matches the schemas, imports what the records name once, no secret", async () => {
    for (const pool of ["g1", "g2"]) {
      const r = await runCli(
        ["create", pool, "--type", "cloud-run-v2:push", "--provision-infra", "--yes", "--project", PROJECT],
        { env: fx.env },
      );
      expect(r.code, r.stderr).toBe(0);
    }
    const x = await exportPools(fx.env, ["g1", "g2"]);
    try {
      // First: no file holds a secret the clouds minted.
      const secrets = [];
      for (const p of ["g1", "g2"]) {
        const data = await blockSecrets(fx.env, "gcp-credentials", `${p}-push-pool-credentials`);
        const info = data.service_account_info as Record<string, string>;
        secrets.push(info.private_key ?? "", info.private_key_id ?? "");
        // A recognisable piece of the key's body, in case it were re-encoded.
        secrets.push((info.private_key ?? "").split("\n")[1] ?? "");
      }
      checkNoSecrets(x.files, secrets);
      checkSchemas(x.hcl);
      const blocks = checkImports(x.hcl, x.json);
      checkAgainstRecords(x.json, await recordsOf(fx.env, ["g1", "g2"]));

      const ids = (type: string) =>
        blocks
          .filter((b) => b.to.startsWith(`${type}.`))
          .map((b) => b.id)
          .sort();
      expect(ids("google_service_account")).toEqual([`projects/${PROJECT}/serviceAccounts/${SA}`]);
      expect(ids("google_project_service")).toEqual([
        `${PROJECT}/artifactregistry.googleapis.com`,
        `${PROJECT}/run.googleapis.com`,
      ]);
      expect(ids("google_project_iam_member")).toEqual([
        `${PROJECT} roles/iam.serviceAccountUser serviceAccount:${SA}`,
        `${PROJECT} roles/run.developer serviceAccount:${SA}`,
      ]);
      expect(ids("google_artifact_registry_repository")).toEqual([
        `projects/${PROJECT}/locations/us-central1/repositories/prefect-images`,
      ]);
      expect(ids("prefect_block").length).toBe(2);
      expect(ids("prefect_work_pool")).toEqual(["g1", "g2"]);
      const block = body(
        x.hcl,
        x.json.resources.find((r) => r.address.endsWith(".g1_push_pool_credentials"))?.address ?? "",
      );
      expect(block.data_wo).toContain("jsondecode(var.g1_push_pool_credentials_service_account_info)");
    } finally {
      x.cleanup();
    }
  });
});
