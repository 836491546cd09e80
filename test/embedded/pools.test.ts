import { describe, expect, it } from "vitest";
import { readData } from "../../src/data.js";
import type { BlockDocument, BlockSchema, BlockType, WorkPool } from "../../src/prefect/types.js";
import { type ErrorBody, useEmbeddedServer } from "./http-client.js";

const embedded = useEmbeddedServer();

const template = {
  job_configuration: { command: "{{ command }}", env: "{{ env }}" },
  variables: { type: "object", properties: { command: { type: "string" }, env: { type: "object" } } },
};

/** A call whose request is valid per the OpenAPI document. */
async function ok<T = ErrorBody>(method: string, path: string, body?: unknown) {
  const r = await embedded.api.call<T>(method, path, body);
  expect(r.requestErrors, `${method} ${path}`).toEqual([]);
  return r;
}

describe("embedded API over HTTP: basics", () => {
  it("serves under /api on the real port", async () => {
    expect(embedded.server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
    expect(embedded.server.url).not.toMatch(/:0\/api$/);
    expect((await ok("GET", "/health")).body).toBe(true);
    const csrf = await ok("GET", "/csrf-token?client=abc");
    expect([csrf.status, csrf.body]).toEqual([422, { detail: "CSRF protection is disabled." }]);
    const noClient = await embedded.api.call("GET", "/csrf-token");
    expect([noClient.status, noClient.body.exception_detail]).toEqual([
      422,
      [{ type: "missing", loc: ["query", "client"], msg: "Field required", input: null }],
    ]);
  });

  it("answers unknown routes 404, wrong methods 405 and bad JSON 422 json_invalid", async () => {
    const unknown = await embedded.api.call("GET", "/no_such_thing");
    expect([unknown.status, unknown.body]).toEqual([404, { detail: "Not Found" }]);
    const method = await embedded.api.call("PUT", "/work_pools/x", {});
    expect([method.status, method.body]).toEqual([405, { detail: "Method Not Allowed" }]);
    const bad = await embedded.api.call("POST", "/work_pools/", undefined, { raw: "{not json" });
    expect([bad.status, bad.body]).toEqual([
      422,
      {
        exception_message: "Invalid request received.",
        exception_detail: [
          {
            type: "json_invalid",
            loc: ["body", 1],
            msg: "JSON decode error",
            input: {},
            ctx: { error: "Expecting property name enclosed in double quotes" },
          },
        ],
        request_body: "{not json",
      },
    ]);
    const outside = await fetch(embedded.server.url.replace(/\/api$/, "/work_pools/x"));
    expect(outside.status).toBe(404);
  });

  it("serves the bundled worker metadata view", async () => {
    const r = await ok<Record<string, Record<string, { type: string }>>>(
      "GET",
      "/collections/views/aggregate-worker-metadata",
    );
    expect(r.status).toBe(200);
    expect(r.body.prefect?.process?.type).toBe("process");
    expect((await ok("GET", "/collections/views/nope")).status).toBe(404);
  });
});

describe("work pools", () => {
  it("creates a pool with Prefect's defaults and a default queue", async () => {
    const r = await ok<WorkPool>("POST", "/work_pools/", { name: "basic", type: "process" });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      name: "basic",
      type: "process",
      base_job_template: {},
      is_paused: false,
      concurrency_limit: null,
      status: "NOT_READY",
      description: null,
      storage_configuration: {
        bundle_upload_step: null,
        bundle_execution_step: null,
        default_result_storage_block_id: null,
      },
    });
    expect(r.body.default_queue_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
    const read = await ok<WorkPool>("GET", "/work_pools/basic");
    expect(read.body).toEqual(r.body);
  });

  it("creates paused pools with a limit, a template and storage configuration", async () => {
    const body = {
      name: "full",
      type: "process",
      base_job_template: template,
      is_paused: true,
      concurrency_limit: 3,
      description: "d",
      storage_configuration: { bundle_upload_step: { a: 1 } },
    };
    const r = await ok<WorkPool>("POST", "/work_pools/", body);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ status: "PAUSED", is_paused: true, concurrency_limit: 3 });
    // Prefect 3.4.25 has no active_slots on a work pool.
    expect(r.body).not.toHaveProperty("active_slots");
    expect(r.body.base_job_template).toEqual(template);
    expect(r.body.storage_configuration?.bundle_upload_step).toEqual({ a: 1 });
  });

  it("accepts names with spaces, ? and # (percent-encoded in the path)", async () => {
    const name = "my pool?#1";
    expect((await ok("POST", "/work_pools/", { name, type: "any-type:push" })).status).toBe(201);
    const r = await ok<WorkPool>("GET", `/work_pools/${encodeURIComponent(name)}`);
    expect([r.status, r.body.name]).toEqual([200, name]);
  });

  it("rejects a duplicate name with 409", async () => {
    await ok("POST", "/work_pools/", { name: "dup" });
    const r = await ok("POST", "/work_pools/", { name: "dup" });
    expect([r.status, r.body]).toEqual([409, { detail: "A work pool with this name already exists." }]);
  });

  it.each(["", "hi/there", "hi%there", "a&b", "a<b", "a>b"])("rejects the name %j with 422", async (name) => {
    const r = await embedded.api.call("POST", "/work_pools/", { name });
    expect(r.requestErrors.length).toBeGreaterThan(0);
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ exception_message: "Invalid request received.", request_body: { name } });
    expect(r.body.exception_detail?.[0]?.loc).toEqual(["body", "name"]);
  });

  it.each([" ", "' '", '" "', "  ''  "])("rejects the emptyish name %j with 422", async (name) => {
    const r = await embedded.api.call("POST", "/work_pools/", { name });
    expect(r.status).toBe(422);
    expect(r.body.exception_detail?.[0]?.msg).toContain("name cannot be an empty string");
  });

  it.each(["prefect", "Prefect-pool", "PREFECTx"])("reserves the name %j (403)", async (name) => {
    const r = await ok("POST", "/work_pools/", { name });
    expect([r.status, r.body]).toEqual([
      403,
      { detail: "Work pools starting with 'Prefect' are reserved for internal use." },
    ]);
  });

  it.each([-1, 1.5, "3.5", "x", [1]])("rejects the concurrency limit %j with 422", async (limit) => {
    const r = await embedded.api.call("POST", "/work_pools/", { name: "limit", concurrency_limit: limit });
    expect(r.requestErrors.length).toBeGreaterThan(0);
    expect(r.status).toBe(422);
    expect(r.body.exception_detail?.[0]?.loc).toEqual(["body", "concurrency_limit"]);
  });

  it("rejects extra keys (top level and in storage_configuration) with 422", async () => {
    const extra = await embedded.api.call("POST", "/work_pools/", { name: "x1", storage_configuration: { nope: 1 } });
    expect(extra.status).toBe(422);
    expect(extra.body.exception_detail?.[0]?.loc).toEqual(["body", "storage_configuration", "nope"]);
    expect((await embedded.api.call("POST", "/work_pools/", { name: "x2", colour: "red" })).status).toBe(422);
  });

  it("validates the base job template like Prefect", async () => {
    const missing = await ok("POST", "/work_pools/", {
      name: "t1",
      base_job_template: { job_configuration: { a: 1 } },
    });
    expect(missing.status).toBe(422);
    expect(missing.body.exception_detail?.[0]?.msg).toBe(
      "Value error, The `base_job_template` must contain both a `job_configuration` key and a `variables` key.",
    );
    const undeclared = {
      job_configuration: { command: "{{ command }}", nested: { x: "{{ ghost }}" } },
      variables: { properties: { command: {} } },
    };
    const r = await ok("POST", "/work_pools/", { name: "t2", base_job_template: undeclared });
    expect(r.status).toBe(422);
    expect(r.body.exception_detail?.[0]?.msg).toContain("undeclared variable(s): ghost.");
  });

  it("checks block references in variable defaults on create (404 Block not found.)", async () => {
    const withRef = (id: string) => ({
      job_configuration: { creds: "{{ creds }}" },
      variables: { properties: { creds: { type: "object", default: { $ref: { block_document_id: id } } } } },
    });
    const missing = await ok("POST", "/work_pools/", { name: "ref1", base_job_template: withRef(crypto.randomUUID()) });
    expect([missing.status, missing.body]).toEqual([404, { detail: "Block not found." }]);
    const invalidId = await ok("POST", "/work_pools/", { name: "ref2", base_job_template: withRef("not-a-uuid") });
    expect(invalidId.status).toBe(404);

    const type = await ok<BlockType>("GET", "/block_types/slug/aws-credentials");
    const schemas = await ok<BlockSchema[]>("POST", "/block_schemas/filter", {
      block_schemas: { block_type_id: { any_: [type.body.id] } },
      limit: 1,
    });
    const doc = await ok<BlockDocument>("POST", "/block_documents/", {
      name: "ref-creds",
      data: { aws_access_key_id: "a" },
      block_type_id: type.body.id,
      block_schema_id: schemas.body[0]?.id,
    });
    const good = await ok("POST", "/work_pools/", { name: "ref3", base_job_template: withRef(doc.body.id) });
    expect(good.status).toBe(201);

    const stringRef = withRef(doc.body.id);
    stringRef.variables.properties.creds.type = "string";
    const wrongType = await ok("POST", "/work_pools/", { name: "ref4", base_job_template: stringRef });
    expect(wrongType.status).toBe(422);
    // Prefect makes the optional variable nullable (anyOf string/null), so no single schema matches.
    expect(wrongType.body.detail).toBe(
      "Validation failed for work pool's job variable defaults: Validation failed for field 'creds'. Failure reason: " +
        "{'aws_access_key_id': 'a'} is not valid under any of the given schemas",
    );
  });

  it("checks plain variable defaults against their type on create only", async () => {
    const t = {
      job_configuration: { n: "{{ n }}" },
      variables: { properties: { n: { type: "integer", default: "five" } }, required: ["n"] },
    };
    const r = await ok("POST", "/work_pools/", { name: "typed", base_job_template: t });
    expect([r.status, r.body.detail]).toEqual([
      422,
      "Validation failed for work pool's job variable defaults: Validation failed for field 'n'. " +
        "Failure reason: 'five' is not of type 'integer'",
    ]);
    await ok("POST", "/work_pools/", { name: "typed" });
    expect((await ok("PATCH", "/work_pools/typed", { base_job_template: t })).status).toBe(204);
  });

  it("accepts every bundled default base job template", async () => {
    const meta = readData<Record<string, Record<string, { type: string; default_base_job_configuration?: object }>>>(
      "aggregate-worker-metadata.json",
    );
    const workers = Object.values(meta).flatMap((c) => Object.values(c));
    expect(workers.length).toBeGreaterThan(5);
    for (const w of workers) {
      const body = {
        name: `default-${w.type}`,
        type: w.type,
        base_job_template: w.default_base_job_configuration ?? {},
      };
      const r = await ok("POST", "/work_pools/", body);
      expect([w.type, r.status]).toEqual([w.type, 201]);
    }
  });

  it("updates with 204, pausing and resuming the status, and clears the limit", async () => {
    await ok("POST", "/work_pools/", { name: "upd", type: "process", base_job_template: template });
    expect((await ok("PATCH", "/work_pools/upd", { is_paused: true, concurrency_limit: 2 })).status).toBe(204);
    let r = await ok<WorkPool>("GET", "/work_pools/upd");
    expect(r.body).toMatchObject({ is_paused: true, status: "PAUSED", concurrency_limit: 2 });
    await ok("PATCH", "/work_pools/upd", { is_paused: false, concurrency_limit: null, description: "x" });
    r = await ok<WorkPool>("GET", "/work_pools/upd");
    expect(r.body).toMatchObject({ is_paused: false, status: "NOT_READY", concurrency_limit: null, description: "x" });
    const bad = await ok("PATCH", "/work_pools/upd", { base_job_template: { variables: { a: 1 } } });
    expect(bad.status).toBe(422);
    const negative = await embedded.api.call("PATCH", "/work_pools/upd", { concurrency_limit: -5 });
    expect(negative.status).toBe(422);
    const missing = await ok("PATCH", "/work_pools/nope", { description: "x" });
    expect([missing.status, missing.body]).toEqual([404, { detail: 'Work pool "nope" not found.' }]);
  });

  it("protects reserved names on update (only pause/limit) and delete", async () => {
    const desc = await ok("PATCH", "/work_pools/prefect-x", { description: "x" });
    expect(desc.status).toBe(403);
    expect(desc.body.detail).toContain("can only be updated to set concurrency limits or pause.");
    expect((await ok("PATCH", "/work_pools/prefect-x", { is_paused: true })).status).toBe(404);
    const del = await ok("DELETE", "/work_pools/Prefect-x");
    expect([del.status, del.body]).toEqual([
      403,
      { detail: "Work pools starting with 'Prefect' are reserved for internal use and can not be deleted." },
    ]);
  });

  it("filters by name, sorted by name, and pages", async () => {
    for (const name of ["zz-f", "aa-f", "mm-f"]) await ok("POST", "/work_pools/", { name });
    const r = await ok<WorkPool[]>("POST", "/work_pools/filter", {
      work_pools: { name: { any_: ["zz-f", "mm-f", "aa-f", "absent"] } },
      offset: 0,
    });
    expect(r.body.map((p) => p.name)).toEqual(["aa-f", "mm-f", "zz-f"]);
    const all = await ok<WorkPool[]>("POST", "/work_pools/filter", {});
    const names = all.body.map((p) => p.name);
    expect(names).toEqual([...names].sort());
    const page = await ok<WorkPool[]>("POST", "/work_pools/filter", { limit: 1, offset: 1 });
    expect(page.body.map((p) => p.name)).toEqual([names[1]]);
    const nulls = await embedded.api.call<WorkPool[]>("POST", "/work_pools/filter", {
      limit: null,
      offset: 0,
      work_pools: null,
    });
    expect(nulls.body.length).toBe(names.length);
  });

  it("answers get_scheduled_flow_runs with [] for a pool and 404 without", async () => {
    await ok("POST", "/work_pools/", { name: "sched" });
    const r = await ok("POST", "/work_pools/sched/get_scheduled_flow_runs", {});
    expect([r.status, r.body]).toEqual([200, []]);
    expect((await ok("POST", "/work_pools/absent/get_scheduled_flow_runs", {})).status).toBe(404);
  });

  it("deletes with 204 and then reads 404", async () => {
    await ok("POST", "/work_pools/", { name: "gone" });
    expect((await ok("DELETE", "/work_pools/gone")).status).toBe(204);
    const r = await ok("GET", "/work_pools/gone");
    expect([r.status, r.body]).toEqual([404, { detail: 'Work pool "gone" not found.' }]);
    expect((await ok("DELETE", "/work_pools/gone")).status).toBe(404);
  });
});
