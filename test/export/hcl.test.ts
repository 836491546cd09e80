/**
 * The HCL writer and the builder on their own: every string comes back from Terraform's parser
 * (@cdktf/hcl2json) as the exact text, with template sequences kept literal (`${` and `%{` are
 * written `$${` and `%%{`, which the parser's JSON form keeps escaped), object keys that are not
 * identifiers are quoted, and data that looks like wp's reference mark cannot turn into a reference.
 */
import { parse } from "@cdktf/hcl2json";
import { describe, expect, it } from "vitest";
import { buildExport } from "../../src/export/build.js";
import { labelOf, renderBlock, type Value } from "../../src/export/hcl.js";
import type { PoolInput } from "../../src/export/model.js";
import type { WorkPool } from "../../src/prefect/types.js";

/** Terraform's JSON syntax escapes template sequences: what a literal `${` / `%{` looks like there. */
const asJsonSyntax = (v: unknown): unknown => {
  if (typeof v === "string") return v.split("\u0024{").join("\u0024\u0024{").split("%{").join("%%{");
  if (Array.isArray(v)) return v.map(asJsonSyntax);
  if (typeof v === "object" && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asJsonSyntax(x)]));
  return v;
};

async function roundTrip(value: Value): Promise<unknown> {
  const text = renderBlock({ type: "resource", labels: ["x_y", "z"], body: [{ attr: "v", value }] });
  const doc = (await parse("t.tf", text)) as { resource: { x_y: { z: Array<{ v: unknown }> } } };
  return doc.resource.x_y.z[0]?.v;
}

describe("HCL writer", () => {
  it("writes every string, key and scalar so that the parser reads back exactly the data", async () => {
    const value = {
      $ref: { block_document_id: "x" },
      "a.b": 'q"uote \\back\nnew line\ttab \u0001 \u007f \u2028 \uE000 😀',
      template: "\u0024{var.secret} %{ if true }y%{ endif } {{ image }} $$ %% $ {",
      "1abc": {},
      "key with space": [1, "two", [], { nested: null }],
      n: 1.5,
      neg: -3,
      yes: true,
      none: null,
    };
    expect(await roundTrip(value)).toEqual(asJsonSyntax(value));
  });

  it("labels are Terraform identifiers", () => {
    expect(labelOf("PrefectEcsTaskExecutionRole")).toBe("prefect_ecs_task_execution_role");
    expect(labelOf("prefect-ecs-user")).toBe("prefect_ecs_user");
    expect(labelOf("123 pool")).toBe("r_123_pool");
    expect(labelOf("")).toBe("r_resource");
    expect(labelOf("naïve \u0024{x}")).toMatch(/^[a-z][a-z0-9_]*$/);
  });
});

describe("buildExport", () => {
  /** A name shaped like wp's internal reference (mark, key, mark, attribute, mark). */
  const USER = "u\uE000prefect/block/x\uE000id\uE000x";
  const pool = (name: string, description: string): WorkPool =>
    ({
      id: "p",
      name,
      type: "ecs:push",
      is_paused: false,
      description,
      base_job_template: { job_configuration: { image: "{{ image }}", cmd: "\u0024{not_a_ref}" }, variables: {} },
    }) as unknown as WorkPool;
  const input = (name: string, description: string): PoolInput => ({
    pool: pool(name, description),
    block: null,
    record: {
      work_pool: name,
      pool_type: "ecs:push",
      provider: "ecs",
      context: { accountId: "123456789012", region: "us-east-1" },
      names: {},
      updated: "",
      resources: [
        {
          step: "aws.iam-user",
          kind: "IAM user",
          name: USER,
          id: "arn:aws:iam::123456789012:user/u",
          created: true,
        },
        {
          step: "prefect.aws-credentials",
          kind: "Credentials block",
          name: "b",
          id: "00000000-0000-4000-8000-000000000001",
          created: true,
        },
      ],
    },
  });

  it("data that carries wp's reference mark or template sequences stays data", async () => {
    const name = "pool \uE000 \u0024{x} \u0007";
    const plan = buildExport([input(name, "a \u0024{danger} %{ x }")], "http://127.0.0.1:4200/api");
    const files = Object.fromEntries(
      await Promise.all([...plan.files].map(async ([f, t]) => [f, (await parse(f, t)) as Record<string, unknown>])),
    );
    const pools = files["prefect.tf"]?.resource as Record<string, Record<string, Array<Record<string, unknown>>>>;
    const written = Object.values(pools.prefect_work_pool ?? {})[0]?.[0];
    expect(written?.name).toBe(asJsonSyntax(name));
    expect(written?.description).toBe("a $${danger} %%{ x }");
    expect(String(written?.base_job_template)).toMatch(/cmd\s+= "\$\$\{not_a_ref\}"/);
    // The user's name (with the mark) is a string, not a reference; the comment shows the mark escaped.
    const users = (
      files["aws.tf"]?.resource as Record<string, Record<string, Array<Record<string, unknown>>>> | undefined
    )?.aws_iam_user;
    expect(Object.values(users ?? {})[0]?.[0]?.name).toBe(USER);
    expect(plan.files.get("imports.tf")).toContain("\\ue000");
    // A Prefect server the provider can reach is its endpoint.
    expect(
      (files["versions.tf"]?.provider as Record<string, Array<Record<string, unknown>>> | undefined)?.prefect?.[0]
        ?.endpoint,
    ).toBe("http://127.0.0.1:4200/api");
  });
});
