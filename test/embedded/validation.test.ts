/**
 * Request classes beyond the recorded answers, with the answers Prefect 3.4.25 gives (FastAPI + pydantic v2 lax mode,
 * jsonschema for job-variable defaults): every exchange goes over HTTP and is checked against the OpenAPI document.
 */
import { describe, expect, it } from "vitest";
import { parseBody } from "../../src/prefect/embedded/body.js";
import { bundledCatalog } from "../../src/prefect/embedded/registry.js";
import type { BlockDocument, BlockSchema, BlockType, WorkPool } from "../../src/prefect/types.js";
import { makeHome, runCli } from "../helpers/run-cli.js";
import { type ErrorBody, useEmbeddedServer } from "./http-client.js";

const embedded = useEmbeddedServer();
const call = <T = ErrorBody>(method: string, path: string, body?: unknown) => embedded.api.call<T>(method, path, body);

let counter = 0;
const unique = (prefix: string): string => `${prefix}-${++counter}`;

/** The 422 error list of a request. */
async function errorsOf(method: string, path: string, body?: unknown) {
  const r = await call(method, path, body);
  expect(r.status, JSON.stringify(r.body)).toBe(422);
  return r.body.exception_detail;
}

/** Creates a pool whose template has one variable `v` with this schema; returns status and detail. */
async function withVariable(schema: Record<string, unknown>, required: string[] = []) {
  const base_job_template = {
    job_configuration: { v: "{{ v }}" },
    variables: { type: "object", properties: { v: schema }, ...(required.length ? { required } : {}) },
  };
  const r = await call("POST", "/work_pools/", { name: unique("var"), type: "process", base_job_template });
  return { status: r.status, detail: r.body.detail };
}

const defaultsError = (field: string, reason: string): string =>
  `Validation failed for work pool's job variable defaults: Validation failed for field '${field}'. Failure reason: ${reason}`;

describe("job variable defaults: the full JSON Schema, as Prefect's jsonschema check reports it", () => {
  it.each([
    [{ type: "string", enum: ["a", "b"], default: "c" }, "'c' is not one of ['a', 'b']"],
    [{ type: "string", enum: ["a", "b"], default: 5 }, "5 is not one of ['a', 'b']"],
    [{ enum: [1, 2], default: true }, "True is not one of [1, 2]"],
    [{ type: "integer", minimum: 5, default: 1 }, "1 is less than the minimum of 5"],
    [{ type: "integer", maximum: 10, default: 11 }, "11 is greater than the maximum of 10"],
    [{ type: "number", exclusiveMinimum: 0, default: 0 }, "0 is less than or equal to the minimum of 0"],
    [{ type: "number", exclusiveMaximum: 1.5, default: 2.5 }, "2.5 is greater than or equal to the maximum of 1.5"],
    [{ type: "integer", multipleOf: 4, default: 6 }, "6 is not a multiple of 4"],
    [{ type: "string", minLength: 1, default: "" }, "'' should be non-empty"],
    [{ type: "string", minLength: 3, default: "ab" }, "'ab' is too short"],
    [{ type: "string", maxLength: 2, default: "abc" }, "'abc' is too long"],
    [{ type: "string", pattern: "^arn:", default: "role" }, "'role' does not match '^arn:'"],
    [{ type: "array", minItems: 2, default: ["a"] }, "['a'] is too short"],
    [{ type: "array", uniqueItems: true, default: [1, 1] }, "[1, 1] has non-unique elements"],
    [{ const: "x", default: "y" }, "'x' was expected"],
    [{ type: "integer", default: "x" }, "'x' is not valid under any of the given schemas"],
    [{ type: "boolean", default: "yes" }, "'yes' is not valid under any of the given schemas"],
    [{ type: ["integer", "string"], default: 1.5 }, "1.5 is not valid under any of the given schemas"],
    [
      { anyOf: [{ type: "integer" }, { type: "boolean" }], default: "x" },
      "'x' is not valid under any of the given schemas",
    ],
  ])("%j is refused: %s", async (schema, reason) => {
    expect(await withVariable(schema)).toEqual({ status: 422, detail: defaultsError("v", reason) });
  });

  it("reports a required variable's plain type error (required variables are not made nullable)", async () => {
    expect(await withVariable({ type: "integer", default: "x" }, ["v"])).toEqual({
      status: 422,
      detail: defaultsError("v", "'x' is not of type 'integer'"),
    });
  });

  it("names nested fields and list items by their JSON path", async () => {
    const nested = { type: "object", properties: { b: { type: "integer" } }, default: { b: "x" } };
    expect((await withVariable(nested)).detail).toBe(
      defaultsError("v.b", "'x' is not valid under any of the given schemas"),
    );
    const items = { type: "array", items: { type: "string" }, default: ["a", 1] };
    expect((await withVariable(items)).detail).toBe(defaultsError("v[1]", "1 is not of type 'string'"));
    const closed = { type: "object", additionalProperties: false, properties: { a: {} }, default: { a: 1, z: 2 } };
    expect((await withVariable(closed)).detail).toBe(
      defaultsError("v", "Additional properties are not allowed ('z' was unexpected)"),
    );
    const typedMap = { type: "object", additionalProperties: { type: "string" }, default: { k: 1 } };
    expect((await withVariable(typedMap)).detail).toBe(defaultsError("v.k", "1 is not of type 'string'"));
  });

  it.each([
    { type: "integer", minimum: 5, default: 5 },
    { type: "integer", maximum: 10, default: null },
    { type: "string", enum: ["a", "b"], default: "b" },
    // jsonschema.validate asserts no formats, so neither does Prefect here.
    { type: "string", format: "uuid", default: "not-a-uuid" },
    { type: "string", format: "date-time", default: "yesterday" },
    // `required` is dropped from nested objects before the check.
    { type: "object", properties: { a: { type: "string" } }, required: ["a"], default: {} },
    { type: "number", default: 3 },
    { default: { anything: [1, "x"] } },
  ])("%j is accepted", async (schema) => {
    expect((await withVariable(schema)).status).toBe(201);
  });

  it("refuses an invalid variables schema with Prefect's message", async () => {
    expect(await withVariable({ type: "strin", default: "x" })).toEqual({
      status: 422,
      detail: "Invalid schema: 'strin' is not valid under any of the given schemas",
    });
    expect(await withVariable({ type: "integer", minimum: "5", default: 6 })).toEqual({
      status: 422,
      detail: "Invalid schema: '5' is not of type 'number'",
    });
  });

  it("validates a referenced block's data against the block definition", async () => {
    const type = (await call<BlockType>("GET", "/block_types/slug/aws-credentials")).body;
    const [schema] = (
      await call<BlockSchema[]>("POST", "/block_schemas/filter", {
        block_schemas: { block_type_id: { any_: [type.id] } },
        limit: 1,
      })
    ).body;
    const doc = await call<BlockDocument>("POST", "/block_documents/", {
      name: unique("creds"),
      data: { region_name: 5 },
      block_type_id: type.id,
      block_schema_id: schema?.id,
    });
    expect(doc.status).toBe(201);
    const definitions = { AwsCredentials: schema?.fields };
    const variables = {
      type: "object",
      properties: {
        aws_credentials: {
          allOf: [{ $ref: "#/definitions/AwsCredentials" }],
          default: { $ref: { block_document_id: doc.body.id } },
        },
      },
      definitions,
    };
    const r = await call("POST", "/work_pools/", {
      name: unique("ecs"),
      type: "ecs",
      base_job_template: { job_configuration: { c: "{{ aws_credentials }}" }, variables },
    });
    // The block definition became oneOf [definition, {"$ref": uuid}]; best_match descends to the deeper failure,
    // the optional (so nullable) region_name.
    expect([r.status, r.body.detail]).toEqual([
      422,
      defaultsError("aws_credentials.region_name", "5 is not valid under any of the given schemas"),
    ]);
  });

  it("does not check defaults on update (as Prefect)", async () => {
    const name = unique("upd");
    expect((await call("POST", "/work_pools/", { name })).status).toBe(201);
    const t = {
      job_configuration: { v: "{{ v }}" },
      variables: { properties: { v: { type: "integer", default: "x" } } },
    };
    expect((await call("PATCH", `/work_pools/${name}`, { base_job_template: t })).status).toBe(204);
  });
});

describe("pydantic's lax coercion of request fields", () => {
  it.each([
    ["5", 5],
    [" 7 ", 7],
    ["+3", 3],
    ["5.0", 5],
    ["5.", 5],
    ["1_000", 1000],
    [true, 1],
    [false, 0],
    [4.0, 4],
    [0, 0],
  ])("concurrency_limit %j is stored as %j", async (input, stored) => {
    const r = await call<WorkPool>("POST", "/work_pools/", { name: unique("lim"), concurrency_limit: input });
    expect([r.status, r.body.concurrency_limit]).toEqual([201, stored]);
  });

  it.each([
    ["x", "int_parsing", "Input should be a valid integer, unable to parse string as an integer"],
    ["3.5", "int_parsing", "Input should be a valid integer, unable to parse string as an integer"],
    ["", "int_parsing", "Input should be a valid integer, unable to parse string as an integer"],
    [1.5, "int_from_float", "Input should be a valid integer, got a number with a fractional part"],
    [[1], "int_type", "Input should be a valid integer"],
    [{}, "int_type", "Input should be a valid integer"],
    [-1, "greater_than_equal", "Input should be greater than or equal to 0"],
    ["-2", "greater_than_equal", "Input should be greater than or equal to 0"],
  ])("concurrency_limit %j is refused (%s)", async (input, type, msg) => {
    expect(await errorsOf("POST", "/work_pools/", { name: unique("lim"), concurrency_limit: input })).toEqual([
      { type, loc: ["body", "concurrency_limit"], msg, input },
    ]);
  });

  it.each([
    ["yes", true],
    ["on", true],
    ["1", true],
    ["true", true],
    ["True", true],
    ["TRUE", true],
    ["t", true],
    ["y", true],
    [1, true],
    [1.0, true],
    ["no", false],
    ["off", false],
    ["0", false],
    ["false", false],
    ["f", false],
    ["N", false],
    [0, false],
  ])("is_paused %j means %j", async (input, paused) => {
    // A typed pool: one without a type is prefect-agent, whose status Prefect leaves null.
    const r = await call<WorkPool>("POST", "/work_pools/", { name: unique("p"), type: "process", is_paused: input });
    expect([r.status, r.body.is_paused, r.body.status]).toEqual([201, paused, paused ? "PAUSED" : "NOT_READY"]);
  });

  it.each([
    ["maybe", "bool_parsing", "Input should be a valid boolean, unable to interpret input"],
    ["", "bool_parsing", "Input should be a valid boolean, unable to interpret input"],
    [2, "bool_parsing", "Input should be a valid boolean, unable to interpret input"],
    [0.5, "bool_parsing", "Input should be a valid boolean, unable to interpret input"],
    [null, "bool_type", "Input should be a valid boolean"],
    [[], "bool_type", "Input should be a valid boolean"],
  ])("is_paused %j is refused (%s)", async (input, type, msg) => {
    expect(await errorsOf("POST", "/work_pools/", { name: unique("p"), is_paused: input })).toEqual([
      { type, loc: ["body", "is_paused"], msg, input },
    ]);
  });

  it("pauses on update with a lax boolean and takes a string limit", async () => {
    const name = unique("u");
    await call("POST", "/work_pools/", { name, type: "process" });
    expect((await call("PATCH", `/work_pools/${name}`, { is_paused: "on", concurrency_limit: "2" })).status).toBe(204);
    const r = await call<WorkPool>("GET", `/work_pools/${name}`);
    expect(r.body).toMatchObject({ is_paused: true, status: "PAUSED", concurrency_limit: 2 });
  });

  it("reports strings, dictionaries, UUIDs and extras in field order, extras last", async () => {
    expect(
      await errorsOf("POST", "/work_pools/", {
        zzz: 1,
        name: 5,
        description: ["d"],
        type: null,
        base_job_template: [],
        storage_configuration: { default_result_storage_block_id: "nope", bundle_upload_step: 1, other: 2 },
      }),
    ).toEqual([
      { type: "string_type", loc: ["body", "name"], msg: "Input should be a valid string", input: 5 },
      { type: "string_type", loc: ["body", "description"], msg: "Input should be a valid string", input: ["d"] },
      { type: "string_type", loc: ["body", "type"], msg: "Input should be a valid string", input: null },
      { type: "dict_type", loc: ["body", "base_job_template"], msg: "Input should be a valid dictionary", input: [] },
      {
        type: "dict_type",
        loc: ["body", "storage_configuration", "bundle_upload_step"],
        msg: "Input should be a valid dictionary",
        input: 1,
      },
      {
        type: "uuid_parsing",
        loc: ["body", "storage_configuration", "default_result_storage_block_id"],
        msg: "Input should be a valid UUID, invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `n` at 1",
        input: "nope",
      },
      {
        type: "extra_forbidden",
        loc: ["body", "storage_configuration", "other"],
        msg: "Extra inputs are not permitted",
        input: 2,
      },
      { type: "extra_forbidden", loc: ["body", "zzz"], msg: "Extra inputs are not permitted", input: 1 },
    ]);
  });

  it.each([
    ["123", "invalid length: expected length 32 for simple format, found 3"],
    ["0000000-0000-0000-0000-000000000000", "invalid group length in group 0: expected 8, found 7"],
    ["00000000-0000-0000-0000", "invalid group count: expected 5, found 4"],
    [
      "00000000-0000-0000-0000-00000000000g",
      "invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `g` at 36",
    ],
  ])("explains the UUID %j as pydantic does", async (id, why) => {
    expect(await errorsOf("POST", "/block_schemas/", { fields: {}, block_type_id: id })).toEqual([
      { type: "uuid_parsing", loc: ["body", "block_type_id"], msg: `Input should be a valid UUID, ${why}`, input: id },
    ]);
  });

  it("accepts UUIDs in pydantic's other spellings and stores the canonical form", async () => {
    const type = (await call<BlockType>("GET", "/block_types/slug/aws-credentials")).body;
    const spellings = [type.id.toUpperCase(), type.id.replaceAll("-", ""), `{${type.id}}`, `urn:uuid:${type.id}`];
    for (const id of spellings) {
      const r = await call<BlockSchema[]>("POST", "/block_schemas/filter", {
        block_schemas: { block_type_id: { any_: [id] } },
      });
      expect([id, r.status, r.body.length]).toEqual([id, 200, 1]);
    }
    expect(await errorsOf("POST", "/block_schemas/", { fields: {}, block_type_id: 5 })).toEqual([
      {
        type: "uuid_type",
        loc: ["body", "block_type_id"],
        msg: "UUID input should be a string, bytes or UUID object",
        input: 5,
      },
    ]);
  });
});

describe("filter bodies", () => {
  it.each([
    ["/work_pools/filter"],
    ["/block_types/filter"],
    ["/block_schemas/filter"],
    ["/work_pools/{pool}/get_scheduled_flow_runs"],
  ])("%s takes limit 0 to 200 (Prefect's LimitBody)", async (template) => {
    const pool = unique("sched");
    await call("POST", "/work_pools/", { name: pool });
    const path = template.replace("{pool}", pool);
    expect((await call("POST", path, { limit: 200 })).status).toBe(200);
    expect((await call("POST", path, { limit: "0" })).status).toBe(200);
    expect((await call("POST", path, { limit: null })).status).toBe(200);
    const over = await call("POST", path, { limit: 201 });
    expect([over.status, over.body]).toEqual([422, { detail: "Invalid limit: must be less than or equal to 200." }]);
    const under = await call("POST", path, { limit: -5 });
    expect([under.status, under.body]).toEqual([422, { detail: "Invalid limit: must be greater than or equal to 0." }]);
    // The limit is a dependency: its range check answers before the other fields are looked at.
    const first = await call("POST", path, { limit: 500, offset: "x" });
    expect(first.body).toEqual({ detail: "Invalid limit: must be less than or equal to 200." });
  });

  it("reports a badly typed limit first, then the other fields", async () => {
    expect(await errorsOf("POST", "/work_pools/filter", { offset: -1, limit: "x", work_pools: 5 })).toEqual([
      {
        type: "int_parsing",
        loc: ["body", "limit"],
        msg: "Input should be a valid integer, unable to parse string as an integer",
        input: "x",
      },
      {
        type: "model_attributes_type",
        loc: ["body", "work_pools"],
        msg: "Input should be a valid dictionary or object to extract fields from",
        input: 5,
      },
      {
        type: "greater_than_equal",
        loc: ["body", "offset"],
        msg: "Input should be greater than or equal to 0",
        input: -1,
      },
    ]);
  });

  it("pages with limit and offset (coerced) and ignores unknown top-level keys", async () => {
    const names = ["pg-a", "pg-b", "pg-c"];
    for (const name of names) await call("POST", "/work_pools/", { name });
    const any_ = { work_pools: { name: { any_: names } } };
    const page = await call<WorkPool[]>("POST", "/work_pools/filter", {
      ...any_,
      limit: "2",
      offset: "1",
      extra: true,
    });
    expect(page.body.map((p) => p.name)).toEqual(["pg-b", "pg-c"]);
    const or = await call<WorkPool[]>("POST", "/work_pools/filter", {
      work_pools: { operator: "or_", name: { any_: ["pg-a"] }, type: { any_: ["no-such-type"] } },
    });
    expect(or.body.map((p) => p.name)).toEqual(["pg-a"]);
  });

  it("validates filter criteria per schema: extra keys, operators, list items", async () => {
    expect(await errorsOf("POST", "/work_pools/filter", { work_pools: { name: { like_: "x" }, bogus: 1 } })).toEqual([
      {
        type: "extra_forbidden",
        loc: ["body", "work_pools", "name", "like_"],
        msg: "Extra inputs are not permitted",
        input: "x",
      },
      {
        type: "extra_forbidden",
        loc: ["body", "work_pools", "bogus"],
        msg: "Extra inputs are not permitted",
        input: 1,
      },
    ]);
    expect(await errorsOf("POST", "/work_pools/filter", { work_pools: { operator: "xor_" } })).toEqual([
      { type: "enum", loc: ["body", "work_pools", "operator"], msg: "Input should be 'and_' or 'or_'", input: "xor_" },
    ]);
    expect(
      await errorsOf("POST", "/work_pools/filter", { work_pools: { id: { any_: ["nope"] }, name: { any_: "x" } } }),
    ).toEqual([
      {
        type: "uuid_parsing",
        loc: ["body", "work_pools", "id", "any_", 0],
        msg: "Input should be a valid UUID, invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `n` at 1",
        input: "nope",
      },
      {
        type: "list_type",
        loc: ["body", "work_pools", "name", "any_"],
        msg: "Input should be a valid list",
        input: "x",
      },
    ]);
    expect(await errorsOf("POST", "/block_types/filter", { block_types: { name: { like_: 5 } } })).toEqual([
      {
        type: "string_type",
        loc: ["body", "block_types", "name", "like_"],
        msg: "Input should be a valid string",
        input: 5,
      },
    ]);
  });

  it("refuses a body that is not an object with a missing error per field", async () => {
    expect(await errorsOf("POST", "/block_schemas/filter", [1])).toEqual([
      { type: "missing", loc: ["body", "limit"], msg: "Field required", input: null },
      { type: "missing", loc: ["body", "block_schemas"], msg: "Field required", input: null },
      { type: "missing", loc: ["body", "offset"], msg: "Field required", input: null },
    ]);
  });

  it("filters block types by name (like_) and by their schemas' capabilities", async () => {
    const like = await call<BlockType[]>("POST", "/block_types/filter", { block_types: { name: { like_: "BUCKET" } } });
    expect(like.body.map((t) => t.slug)).toEqual([
      "bitbucket-credentials",
      "bitbucket-repository",
      "gcs-bucket",
      "s3-bucket",
    ]);
    const capable = await call<BlockType[]>("POST", "/block_types/filter", {
      block_schemas: { block_capabilities: { all_: ["read-path", "write-path"] } },
    });
    expect(capable.body.map((t) => t.slug)).toEqual(expect.arrayContaining(["s3-bucket", "gcs-bucket"]));
    expect(capable.body.map((t) => t.slug)).not.toContain("aws-credentials");
  });

  it("validates get_scheduled_flow_runs fields", async () => {
    const pool = unique("runs");
    await call("POST", "/work_pools/", { name: pool });
    const path = `/work_pools/${pool}/get_scheduled_flow_runs`;
    expect(
      (await call("POST", path, { scheduled_before: "2030-01-01T00:00:00Z", work_queue_names: ["default"] })).body,
    ).toEqual([]);
    expect(await errorsOf("POST", path, { scheduled_after: "soon", work_queue_names: [1] })).toEqual([
      { type: "string_type", loc: ["body", "work_queue_names", 0], msg: "Input should be a valid string", input: 1 },
      {
        type: "value_error",
        loc: ["body", "scheduled_after"],
        msg: "Value error, Unable to parse string [soon]",
        input: "soon",
      },
    ]);
  });
});

describe("block types and documents: Prefect's slug and name rules", () => {
  it.each(["Bad-Slug", "bad_slug", "bad slug", "bad.slug"])("refuses the slug %j", async (slug) => {
    expect(await errorsOf("POST", "/block_types/", { name: unique("Slug Test"), slug })).toEqual([
      {
        type: "value_error",
        loc: ["body", "slug"],
        msg: "Value error, Block type slug must only contain lowercase letters, numbers, and dashes.",
        input: slug,
      },
    ]);
  });

  it("accepts lowercase, digits and dashes; names the duplicate by name", async () => {
    const body = { name: unique("Slug Ok"), slug: "ok-slug-1" };
    expect((await call("POST", "/block_types/", body)).status).toBe(201);
    const dup = await call("POST", "/block_types/", { ...body, name: "Other Name" });
    expect([dup.status, dup.body]).toEqual([409, { detail: 'Block type with name "Other Name" already exists' }]);
  });

  async function awsIds(): Promise<{ block_type_id: string; block_schema_id: string }> {
    const type = (await call<BlockType>("GET", "/block_types/slug/aws-credentials")).body;
    const schemas = await call<BlockSchema[]>("POST", "/block_schemas/filter", {
      block_schemas: { block_type_id: { any_: [type.id] } },
      limit: 1,
    });
    return { block_type_id: type.id, block_schema_id: schemas.body[0]?.id ?? "" };
  }

  it.each(["My-Creds", "my_creds", "my creds", "ünï"])("refuses the document name %j", async (name) => {
    expect(await errorsOf("POST", "/block_documents/", { name, data: {}, ...(await awsIds()) })).toEqual([
      {
        type: "value_error",
        loc: ["body", "name"],
        msg: "Value error, Block document name must only contain lowercase letters, numbers, and dashes.",
        input: name,
      },
    ]);
  });

  it.each([{}, { name: "" }, { name: null }, { name: "", is_anonymous: false }])(
    "asks for a name unless anonymous (%j), before checking the other fields",
    async (extra) => {
      const body = { data: 5, block_type_id: "nope", block_schema_id: "nope", ...extra };
      expect(await errorsOf("POST", "/block_documents/", body)).toEqual([
        {
          type: "value_error",
          loc: ["body"],
          msg: "Value error, Names must be provided for block documents.",
          input: body,
        },
      ]);
    },
  );

  it("creates anonymous documents without a name", async () => {
    const r = await call<BlockDocument>("POST", "/block_documents/", {
      is_anonymous: "yes",
      data: {},
      ...(await awsIds()),
    });
    expect([r.status, r.body.is_anonymous]).toEqual([201, true]);
    expect(r.body.name).toMatch(/^anonymous-[0-9a-f-]{36}$/);
  });
});

describe("query parameters, path ids, version, body parsing", () => {
  it.each([
    ["true", false],
    ["yes", false],
    ["1", false],
    ["on", false],
    ["T", false],
    ["false", true],
    ["no", true],
    ["0", true],
    ["off", true],
  ])("include_secrets=%s (obfuscated: %j)", async (flag, obfuscated) => {
    const ids = await (async () => {
      const type = (await call<BlockType>("GET", "/block_types/slug/aws-credentials")).body;
      const schemas = await call<BlockSchema[]>("POST", "/block_schemas/filter", {
        block_schemas: { block_type_id: { any_: [type.id] } },
      });
      return { block_type_id: type.id, block_schema_id: schemas.body[0]?.id ?? "" };
    })();
    const name = unique("secret");
    const doc = await call<BlockDocument>("POST", "/block_documents/", {
      name,
      data: { aws_secret_access_key: "s3cret" },
      ...ids,
    });
    for (const path of [
      `/block_documents/${doc.body.id}`,
      `/block_types/slug/aws-credentials/block_documents/name/${name}`,
    ]) {
      const r = await call<BlockDocument>("GET", `${path}?include_secrets=${flag}`);
      expect([r.status, r.body.data?.aws_secret_access_key]).toEqual([200, obfuscated ? "********" : "s3cret"]);
    }
  });

  it.each(["maybe", "", "2", "truee"])("include_secrets=%j is pydantic's bool_parsing error", async (flag) => {
    const path = `/block_types/slug/aws-credentials/block_documents/name/x?include_secrets=${flag}`;
    const r = await call("GET", path);
    expect([r.status, r.body]).toEqual([
      422,
      {
        exception_message: "Invalid request received.",
        exception_detail: [
          {
            type: "bool_parsing",
            loc: ["query", "include_secrets"],
            msg: "Input should be a valid boolean, unable to interpret input",
            input: flag,
          },
        ],
        request_body: null,
      },
    ]);
  });

  it.each(["nope", "E804FDD6-D0BE-4EF8-A671-682217435DF9", "e804fdd6d0be4ef8a671682217435df9", "123"])(
    "answers 404 Not Found for the block document id %j (Prefect's uuid route)",
    async (id) => {
      for (const [method, body] of [["GET"], ["DELETE"], ["PATCH", { data: {} }]] as const) {
        const r = await call(method, `/block_documents/${id}`, body);
        expect([method, r.status, r.body]).toEqual([method, 404, { detail: "Not Found" }]);
      }
    },
  );

  it("answers GET /version with Prefect's API version (the server's version is GET /admin/version)", async () => {
    const r = await call<string>("GET", "/version");
    expect([r.status, r.body]).toEqual([200, "0.8.4"]);
  });

  it.each([
    ['{"a":}', "Expecting value", 5],
    ["[1 2]", "Expecting ',' delimiter", 3],
    ['{"a" 1}', "Expecting ':' delimiter", 5],
    ['{"a": 1}x', "Extra data", 8],
    ['{"a": "b', "Unterminated string starting at", 6],
    ['{"a": 1,}', "Expecting property name enclosed in double quotes", 8],
    ["{'a': 1}", "Expecting property name enclosed in double quotes", 1],
    ["nul", "Expecting value", 0],
    ['{"a": "\\q"}', "Invalid \\escape", 7],
    ['{"a": "\u0001"}', "Invalid control character at", 7],
  ])("answers malformed JSON %j with FastAPI's json_invalid (%s at %i)", async (text, error, pos) => {
    const parsed = parseBody("/work_pools/", text);
    expect(parsed).toEqual({
      ok: false,
      result: {
        status: 422,
        body: {
          exception_message: "Invalid request received.",
          exception_detail: [
            { type: "json_invalid", loc: ["body", pos], msg: "JSON decode error", input: {}, ctx: { error } },
          ],
          request_body: text,
        },
      },
    });
    const r = await embedded.api.call("POST", "/work_pools/", undefined, { raw: text });
    expect(r.status).toBe(422);
    expect(r.body.exception_detail?.[0]).toMatchObject({ type: "json_invalid", loc: ["body", pos] });
  });

  it("parses a body with a byte order mark, and block schema floats losslessly", () => {
    expect(parseBody("/work_pools/", '\uFEFF{"name": "x"}')).toEqual({ ok: true, body: { name: "x" } });
    const parsed = parseBody("/block_schemas/", '{"fields": {"default": 5.0}}');
    expect(parsed.ok && JSON.stringify(parsed.body)).toBe('{"fields":{"default":5}}');
    expect(parseBody("/work_pools/", "  ")).toEqual({ ok: true, body: undefined });
  });
});

describe("a bare store", () => {
  it("holds Prefect's bundled catalog plus Modal and Coiled, one schema each", async () => {
    const types = await call<BlockType[]>("POST", "/block_types/filter", {});
    const slugs = types.body.map((t) => t.slug);
    for (const entry of bundledCatalog()) expect(slugs).toContain(entry.slug);
    expect(slugs).toEqual(
      expect.arrayContaining(["modal-credentials", "coiled-credentials", "dbt-cli-profile", "slack-credentials"]),
    );
    const aws = await call<BlockSchema[]>("POST", "/block_schemas/filter", {
      block_schemas: { block_type_id: { any_: [types.body.find((t) => t.slug === "aws-credentials")?.id] } },
    });
    expect(aws.body.map((s) => [s.checksum, s.version])).toEqual([
      ["sha256:17b73297ed60f080fb235b3a5a145a6d9b28a09b3ff2d9d17810b5e2c2075ebe", "0.4.14"],
    ]);
  });
});

describe("descriptions", () => {
  it('PATCH description "" stores "", and wp update --description "" sends it', async () => {
    const name = unique("desc");
    await call("POST", "/work_pools/", { name, description: "x" });
    expect((await call("PATCH", `/work_pools/${name}`, { description: "" })).status).toBe(204);
    expect((await call<WorkPool>("GET", `/work_pools/${name}`)).body.description).toBe("");

    const home = makeHome();
    try {
      const wp = (argv: string[]) => runCli(argv, { env: home.env });
      expect((await wp(["create", "d", "--type", "process"])).code).toBe(0);
      expect((await wp(["update", "d", "--description", "nightly"])).code).toBe(0);
      expect((await wp(["update", "d", "--description", ""])).code).toBe(0);
      const pool = JSON.parse((await wp(["inspect", "d", "-o", "json"])).stdout) as WorkPool;
      expect(pool.description).toBe("");
    } finally {
      home.cleanup();
    }
  });
});
