/**
 * Issue 17 point 2 on ECS, against moto: two pools provisioned in an account without a default VPC
 * (so wp creates one, shared) export as Terraform that parses, matches the providers' documented
 * schemas, imports exactly what the records name (shared resources once), and holds no secret;
 * the command's refusals (missing pool, a file for --dir, existing files) write nothing.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { awsWpEnv, removeDefaultVpc, requireMoto, useMoto } from "../helpers/moto.js";
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

const hasMoto = requireMoto("test/export/ecs-export.test.ts (wp export terraform against moto)");

describe.skipIf(!hasMoto)("wp export terraform: ECS", () => {
  const sim = useMoto();
  let env: Record<string, string>;
  beforeEach(() => {
    const t = awsWpEnv(sim.proxy.url);
    env = t.env;
    return t.cleanup;
  });
  const wp = (argv: string[]) => runCli(argv, { env });
  const create = async (pool: string, ...flags: string[]) => {
    const r = await wp(["create", pool, "--type", "ecs:push", "--provision-infra", "--yes", ...flags]);
    expect(r.code, r.stderr).toBe(0);
  };

  it("two pools sharing a VPC, user and role: parses, matches the schemas, imports what the records name once, no secret", async () => {
    await removeDefaultVpc(sim.moto.url);
    await create("e1");
    await create("e2", "--cluster-name", "c2");
    const x = await exportPools(env, ["e1", "e2"]);
    try {
      // First: no file holds a secret the clouds minted.
      const secrets = [];
      for (const p of ["e1", "e2"]) {
        const data = await blockSecrets(env, "aws-credentials", `${p}-aws-credentials`);
        secrets.push(String(data.aws_secret_access_key), String(data.aws_access_key_id));
      }
      checkNoSecrets(x.files, secrets);
      checkSchemas(x.hcl);
      const blocks = checkImports(x.hcl, x.json);
      checkAgainstRecords(x.json, await recordsOf(env, ["e1", "e2"]));

      // Shared resources once, each pool's own resources each.
      const count = (type: string) => blocks.filter((b) => b.to.startsWith(`${type}.`)).length;
      expect(count("aws_iam_user")).toBe(1);
      expect(count("aws_iam_role")).toBe(1);
      expect(count("aws_iam_policy")).toBe(1);
      expect(count("aws_vpc")).toBe(1);
      expect(count("aws_ecs_cluster")).toBe(2);
      expect(count("prefect_block")).toBe(2);
      expect(count("prefect_work_pool")).toBe(2);
      const user = x.json.resources.find((r) => r.type === "aws_iam_user");
      expect(user?.pools).toEqual(["e1", "e2"]);
      expect(blocks.find((b) => b.to === user?.address)?.id).toBe("prefect-ecs-user");
      expect(
        blocks
          .filter((b) => b.to.startsWith("aws_ecs_cluster."))
          .map((b) => b.id)
          .sort(),
      ).toEqual(["c2", "prefect-ecs-cluster"]);
      // The VPC wp created: Terraform writes its configuration (the record does not hold its CIDR).
      const vpc = x.json.resources.find((r) => r.type === "aws_vpc");
      expect(vpc?.generateConfig).toBe(true);
      expect(x.files.get("imports.tf")).toContain("terraform plan -generate-config-out=generated.tf");

      // The access key is not managed, and says why; the block's credentials come from ephemeral variables.
      expect(x.json.notManaged.map((n) => n.kind)).toContain("IAM access key");
      expect(x.json.variables.sort()).toEqual([
        "e1_aws_credentials_aws_access_key_id",
        "e1_aws_credentials_aws_secret_access_key",
        "e2_aws_credentials_aws_access_key_id",
        "e2_aws_credentials_aws_secret_access_key",
      ]);
      const block = body(x.hcl, x.json.resources.find((r) => r.address.endsWith(".e1_aws_credentials"))?.address ?? "");
      expect(block.data_wo).toContain("var.e1_aws_credentials_aws_secret_access_key");
      // The pool's template points at the exported block, not at a block id.
      const pool = body(x.hcl, "prefect_work_pool.e1");
      expect(pool.base_job_template).toContain("block_document_id = prefect_block.e1_aws_credentials.id");
      expect(pool.type).toBe("ecs:push");
    } finally {
      x.cleanup();
    }
  });

  it("the default VPC is adopted as aws_default_vpc; refusals write nothing; --force replaces; text output names the next step", async () => {
    await create("d1");
    const x = await exportPools(env, ["d1"]);
    try {
      checkSchemas(x.hcl);
      checkImports(x.hcl, x.json);
      checkAgainstRecords(x.json, await recordsOf(env, ["d1"]));
      const vpc = x.json.resources.find((r) => r.type === "aws_default_vpc");
      expect(vpc?.importId).toMatch(/^vpc-/);
      expect(x.json.resources.some((r) => r.type === "aws_vpc")).toBe(false);
    } finally {
      x.cleanup();
    }

    const dir = mkdtempSync(join(tmpdir(), "wp-export-cli-"));
    try {
      const missing = await wp(["export", "terraform", "d1", "nope", "--dir", join(dir, "a")]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("Work pool 'nope' not found.");
      expect(existsSync(join(dir, "a"))).toBe(false);

      const file = join(dir, "f");
      writeFileSync(file, "x");
      const notDir = await wp(["export", "terraform", "d1", "--dir", file]);
      expect(notDir.code).toBe(2);
      expect(notDir.stderr.trim().split("\n")[0]).toContain("is a file, not a directory");

      const plain = await wp(["create", "plain", "--type", "process"]);
      expect(plain.code, plain.stderr).toBe(0);
      const norecord = await wp(["export", "terraform", "plain", "--dir", join(dir, "b")]);
      expect(norecord.code).toBe(1);
      expect(norecord.stderr).toContain("has no provisioning record");

      const out = join(dir, "tf");
      const first = await wp(["export", "terraform", "d1", "--dir", out]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain("Wrote 5 files");
      expect(first.stdout).toContain(`Next: cd ${out} && terraform init && terraform plan`);
      const before = readFileSync(join(out, "prefect.tf"), "utf8");
      writeFileSync(join(out, "prefect.tf"), "# mine\n");
      // An earlier export's file this one does not need, and the user's own file.
      writeFileSync(
        join(out, "azure.tf"),
        "# Written by `wp export terraform` from the provisioning records of work pool old.\n",
      );
      writeFileSync(join(out, "main.tf"), "# the user's\n");
      const again = await wp(["export", "terraform", "d1", "--dir", out]);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain("Pass --force");
      expect(readFileSync(join(out, "prefect.tf"), "utf8")).toBe("# mine\n");
      const forced = await wp(["export", "terraform", "d1", "--dir", out, "--force", "-o", "json"]);
      expect(forced.code, forced.stderr).toBe(0);
      expect(readFileSync(join(out, "prefect.tf"), "utf8")).toBe(before);
      const doc = JSON.parse(forced.stdout) as { files: Array<{ file: string }>; removed: string[] };
      expect(doc.removed).toEqual(["azure.tf"]);
      expect([...doc.files.map((f) => f.file), "main.tf"].sort()).toEqual(readdirSync(out).sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
