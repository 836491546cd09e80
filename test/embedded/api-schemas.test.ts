/**
 * data/api-schemas.json is derived from Prefect's OpenAPI document (fixtures/openapi-schema.json): the request body and
 * query parameter schemas of every route the embedded API serves, and the component schemas they reference. This test
 * re-derives it; `WP_WRITE_API_SCHEMAS=1 npx vitest run test/embedded/api-schemas.test.ts` rewrites the file.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ROUTE_KEYS } from "../../src/prefect/embedded/api.js";

type Json = Record<string, unknown>;

const doc = JSON.parse(readFileSync(new URL("../../fixtures/openapi-schema.json", import.meta.url), "utf8")) as {
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json> };
};
const target = new URL("../../data/api-schemas.json", import.meta.url);

function derive(): Json {
  const schemas: Record<string, Json> = {};
  const collect = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(collect);
    else if (typeof v === "object" && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        if (k === "$ref" && typeof x === "string") {
          const name = x.split("/").pop() ?? "";
          if (!(name in schemas)) {
            schemas[name] = doc.components.schemas[name] ?? {};
            collect(schemas[name]);
          }
        } else collect(x);
      }
    }
  };
  const operations: Record<string, Json> = {};
  for (const key of ROUTE_KEYS) {
    const [method = "", template = ""] = key.split(" ");
    const op = doc.paths[template]?.[method.toLowerCase()] as
      | { requestBody?: { required?: boolean; content?: Record<string, { schema?: Json }> }; parameters?: Json[] }
      | undefined;
    if (!op) continue;
    const entry: Json = {};
    const body = op.requestBody?.content?.["application/json"]?.schema;
    if (body) {
      entry.body = body;
      entry.bodyRequired = op.requestBody?.required === true;
      collect(body);
    }
    const query = Object.fromEntries(
      (op.parameters ?? []).filter((p) => p.in === "query").map((p) => [String(p.name), p.schema]),
    );
    if (Object.keys(query).length > 0) entry.query = query;
    const required = (op.parameters ?? []).filter((p) => p.in === "query" && p.required === true).map((p) => p.name);
    if (required.length > 0) entry.queryRequired = required;
    if (Object.keys(entry).length > 0) operations[key] = entry;
  }
  const sorted = Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)));
  return { operations, schemas: sorted };
}

describe("data/api-schemas.json", () => {
  it("holds exactly the request schemas of the served routes, from Prefect's OpenAPI document", () => {
    const derived = derive();
    if (process.env.WP_WRITE_API_SCHEMAS === "1") writeFileSync(target, `${JSON.stringify(derived, null, 1)}\n`);
    expect(JSON.parse(readFileSync(target, "utf8"))).toEqual(derived);
    // Every route with a body in the OpenAPI document is covered.
    expect(Object.keys(derived.operations as Json)).toEqual(
      expect.arrayContaining(["POST /work_pools/", "PATCH /work_pools/{name}", "POST /block_documents/"]),
    );
  });
});
