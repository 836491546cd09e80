/** The provisioning record: merging runs, block names, and wp's block type checksum. */
import { describe, expect, it } from "vitest";
import type { StepOutcome } from "../../src/engine/engine.js";
import { mergeRecord, recordName } from "../../src/engine/record.js";
import { blockSchemaChecksum } from "../../src/prefect/checksum.js";
import { wpBlockTypes } from "../../src/prefect/wp-blocks.js";

const out = (id: string, status: StepOutcome["status"], resourceId?: string): StepOutcome => ({
  id,
  resource: id,
  name: id,
  target: "aws",
  status,
  ...(resourceId ? { resourceId } : {}),
});

describe("provisioning record", () => {
  it("created stays created on a re-run; adopted, failed, skipped and non-resources are told apart", () => {
    const first = mergeRecord(null, {
      pool: "p",
      type: "ecs:push",
      provider: "ecs",
      outputs: new Map<string, unknown>([
        ["region", "us-east-1"],
        ["secret", "never"],
      ]),
      outcomes: [
        out("prefect.block-type", "created", "t"),
        out("aws.iam-user", "created", "arn:user"),
        out("aws.ecs-cluster", "exists", "arn:cluster"),
        out("aws.vpc", "failed"),
        out("aws.ecr-repository", "skipped"),
        out("docker.ecr-login", "created", "registry"),
        out("prefect.work-pool", "created", "pool-id"),
      ],
    });
    expect(first.resources).toEqual([
      { step: "aws.iam-user", kind: "aws.iam-user", name: "aws.iam-user", id: "arn:user", created: true },
      { step: "aws.ecs-cluster", kind: "aws.ecs-cluster", name: "aws.ecs-cluster", id: "arn:cluster", created: false },
    ]);
    expect(first.context).toEqual({ region: "us-east-1" });
    const second = mergeRecord(first, {
      pool: "p",
      type: "ecs:push",
      provider: "ecs",
      outputs: new Map(),
      outcomes: [out("aws.iam-user", "exists", "arn:user"), out("aws.vpc", "created", "vpc-1")],
    });
    expect(second.resources.find((r) => r.step === "aws.iam-user")?.created).toBe(true);
    expect(second.resources.find((r) => r.step === "aws.vpc")).toMatchObject({ id: "vpc-1", created: true });
    // A resource replaced by another one (a different id) is no longer the one wp created.
    const third = mergeRecord(second, {
      pool: "p",
      type: "ecs:push",
      provider: "ecs",
      outputs: new Map(),
      outcomes: [out("aws.iam-user", "exists", "arn:other-user")],
    });
    expect(third.resources.find((r) => r.step === "aws.iam-user")?.created).toBe(false);
  });

  it("block names are valid and distinct for pool names that are not", () => {
    expect(recordName("p1")).toBe("wp-record-p1");
    expect(recordName("My Pool")).toMatch(/^wp-record-my-pool-[0-9a-f]{8}$/);
    expect(recordName("my pool")).not.toBe(recordName("My Pool"));
    for (const n of ["My Pool", "ü", "a/b"]) expect(recordName(n)).toMatch(/^[a-z0-9-]+$/);
  });

  it("wp's block type carries Prefect's checksum of its schema", () => {
    const t = wpBlockTypes()[0];
    expect(t?.slug).toBe("wp-provisioning-record");
    expect(t?.block_schema.checksum).toBe(blockSchemaChecksum(t?.block_schema.fields ?? {}));
    expect(t?.block_schema.fields.secret_fields).toEqual([]);
  });
});
