import { describe, expect, it } from "vitest";
import { bundledBlockTypes } from "../../src/prefect/block-catalog.js";
import { blockSchemaChecksum, parseLossless } from "../../src/prefect/checksum.js";
import { bundledCatalog } from "../../src/prefect/embedded/registry.js";
import type { BlockDocument, BlockSchema, BlockType } from "../../src/prefect/types.js";
import { validateResponse } from "../helpers/openapi.js";
import { type ErrorBody, useEmbeddedServer } from "./http-client.js";

const embedded = useEmbeddedServer();

async function ok<T = ErrorBody>(method: string, path: string, body?: unknown) {
  const r = await embedded.api.call<T>(method, path, body);
  expect(r.requestErrors, `${method} ${path}`).toEqual([]);
  return r;
}

async function typeAndSchema(slug: string): Promise<{ type: BlockType; schema: BlockSchema }> {
  const type = (await ok<BlockType>("GET", `/block_types/slug/${slug}`)).body;
  const schemas = await ok<BlockSchema[]>("POST", "/block_schemas/filter", {
    block_schemas: { block_type_id: { any_: [type.id] } },
    limit: 1,
  });
  const schema = schemas.body[0];
  if (!schema) throw new Error(`no schema for ${slug}`);
  return { type, schema };
}

describe("block types and schemas", () => {
  it("registers the bundled types with their stored checksums and versions on first start", async () => {
    for (const t of bundledBlockTypes()) {
      const { type, schema } = await typeAndSchema(t.slug);
      expect(type.slug).toBe(t.slug);
      expect([schema.checksum, schema.version]).toEqual([t.block_schema.checksum, t.block_schema.version]);
      expect(schema.block_type?.id).toBe(type.id);
      const byChecksum = await ok<BlockSchema>(
        "GET",
        `/block_schemas/checksum/${encodeURIComponent(t.block_schema.checksum)}?version=${t.block_schema.version}`,
      );
      expect(byChecksum.body.id).toBe(schema.id);
    }
  });

  it("answers 404s with Prefect's details", async () => {
    const type = await ok("GET", "/block_types/slug/no-such-type");
    expect([type.status, type.body]).toEqual([404, { detail: "Block type not found" }]);
    const schema = await ok("GET", "/block_schemas/checksum/sha256:nope");
    expect([schema.status, schema.body]).toEqual([404, { detail: "Block schema not found" }]);
    const versioned = await ok(
      "GET",
      "/block_schemas/checksum/sha256%3A17b73297ed60f080fb235b3a5a145a6d9b28a09b3ff2d9d17810b5e2c2075ebe?version=0.0.1",
    );
    expect(versioned.status).toBe(404);
  });

  it("filters block types by slug", async () => {
    const r = await ok<BlockType[]>("POST", "/block_types/filter", {
      block_types: { slug: { any_: ["s3-bucket", "gcs-bucket"] } },
    });
    expect(r.body.map((t) => t.slug).sort()).toEqual(["gcs-bucket", "s3-bucket"]);
    const all = await ok<BlockType[]>("POST", "/block_types/filter", {});
    expect(all.body.length).toBe(bundledCatalog().length);
    expect(all.body.map((t) => t.slug)).toEqual(expect.arrayContaining(bundledBlockTypes().map((t) => t.slug)));
  });

  it("creates block types (201), refuses duplicates (409) and reserved names (403)", async () => {
    const body = { name: "My Thing", slug: "my-thing", logo_url: null, description: "d" };
    const r = await ok<BlockType>("POST", "/block_types/", body);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: "My Thing", slug: "my-thing", is_protected: false });
    expect((await ok("POST", "/block_types/", body)).status).toBe(409);
    expect((await ok("POST", "/block_types/", { name: "Prefect Thing", slug: "pt" })).status).toBe(403);
  });

  it("creates block schemas with a server-side checksum: 201 new, 200 existing, 404 unknown type", async () => {
    const type = (await ok<BlockType>("GET", "/block_types/slug/my-thing")).body;
    // Raw text so that 5.0 stays a float on the wire, as a Python client sends it.
    const text = `{"block_type_id": "${type.id}", "version": "1.0", "capabilities": [],
      "fields": {"title": "MyThing", "type": "object", "properties": {"poll": {"type": "number", "default": 5.0}},
      "secret_fields": [], "block_type_slug": "my-thing", "block_schema_references": {}}}`;
    const parsed = parseLossless(text) as { fields: Record<string, unknown> };
    const created = await embedded.api.call<BlockSchema>("POST", "/block_schemas/", undefined, { raw: text });
    expect(created.status).toBe(201);
    expect(created.body.checksum).toBe(blockSchemaChecksum(parsed.fields));
    expect(created.body.checksum).not.toBe(blockSchemaChecksum(JSON.parse(text).fields));
    // Prefect answers 200 for an existing schema, a status its OpenAPI document leaves out: check the body as a 201.
    const again = await embedded.api.call<BlockSchema>("POST", "/block_schemas/", undefined, {
      raw: text,
      validateAs: 201,
    });
    expect(again.status).toBe(200);
    expect(validateResponse("POST", "/block_schemas/", 200, again.body)).toHaveLength(1);
    expect(again.body.id).toBe(created.body.id);
    const newest = await ok<BlockSchema[]>("POST", "/block_schemas/filter", {
      block_schemas: { block_type_id: { any_: [type.id] } },
      limit: 1,
    });
    expect(newest.body[0]?.id).toBe(created.body.id);
    const unknown = await ok("POST", "/block_schemas/", { block_type_id: crypto.randomUUID(), fields: {} });
    expect(unknown.status).toBe(404);
    const nested = await ok("POST", "/block_schemas/", {
      block_type_id: type.id,
      fields: { title: "X", block_schema_references: { c: { block_type_slug: "not-registered" } } },
    });
    expect(nested.status).toBe(409);
  });
});

describe("block documents", () => {
  it("creates, obfuscates secrets, and reads back with include_secrets", async () => {
    const { type, schema } = await typeAndSchema("aws-credentials");
    const data = { aws_access_key_id: "AKIAEXAMPLE", aws_secret_access_key: "very-secret", region_name: "us-east-1" };
    const body = { name: "pool-aws-credentials", data, block_type_id: type.id, block_schema_id: schema.id };
    const created = await ok<BlockDocument>("POST", "/block_documents/", body);
    expect(created.status).toBe(201);
    expect(created.body.data).toEqual({ ...data, aws_secret_access_key: "********" });
    expect(created.body).toMatchObject({ block_type_name: "AWS Credentials", is_anonymous: false });
    expect(created.body.block_type?.slug).toBe("aws-credentials");
    expect(created.body.block_schema?.checksum).toBe(schema.checksum);

    const dup = await ok("POST", "/block_documents/", body);
    expect([dup.status, dup.body]).toEqual([409, { detail: "Block already exists" }]);

    const byName = "/block_types/slug/aws-credentials/block_documents/name/pool-aws-credentials";
    expect((await ok<BlockDocument>("GET", byName)).body.data?.aws_secret_access_key).toBe("********");
    expect((await ok<BlockDocument>("GET", `${byName}?include_secrets=true`)).body.data).toEqual(data);
    const byId = await ok<BlockDocument>("GET", `/block_documents/${created.body.id}?include_secrets=true`);
    expect(byId.body.data).toEqual(data);
    const missing = await ok("GET", "/block_types/slug/aws-credentials/block_documents/name/nope");
    expect([missing.status, missing.body]).toEqual([404, { detail: "Block document not found" }]);
    expect((await ok("GET", `/block_documents/${crypto.randomUUID()}`)).status).toBe(404);
    // Prefect's route takes only a uuid: anything else is no route at all.
    const notUuid = await embedded.api.call("GET", "/block_documents/not-a-uuid");
    expect([notUuid.status, notUuid.body]).toEqual([404, { detail: "Not Found" }]);
  });

  it.each(["My-Creds", "my_creds", "my creds"])("rejects the block name %j with 422", async (name) => {
    const { type, schema } = await typeAndSchema("aws-credentials");
    const r = await ok("POST", "/block_documents/", {
      name,
      data: {},
      block_type_id: type.id,
      block_schema_id: schema.id,
    });
    expect(r.status).toBe(422);
    expect(r.body.exception_detail?.[0]?.msg).toContain(
      "Block document name must only contain lowercase letters, numbers, and dashes.",
    );
  });

  it("obfuscates wildcard secret fields (gcp service_account_info.*)", async () => {
    const { type, schema } = await typeAndSchema("gcp-credentials");
    const data = { project: "p", service_account_info: { private_key: "k", client_email: "e" } };
    const r = await ok<BlockDocument>("POST", "/block_documents/", {
      name: "gcp",
      data,
      block_type_id: type.id,
      block_schema_id: schema.id,
    });
    expect(r.body.data).toEqual({
      project: "p",
      service_account_info: { private_key: "********", client_email: "********" },
    });
  });

  it("patches with merge (default), keeps secrets sent back obfuscated, replaces without merge, deletes", async () => {
    const { type, schema } = await typeAndSchema("aws-credentials");
    const data = { aws_access_key_id: "id1", aws_secret_access_key: "s1" };
    const doc = await ok<BlockDocument>("POST", "/block_documents/", {
      name: "patchme",
      data,
      block_type_id: type.id,
      block_schema_id: schema.id,
    });
    const path = `/block_documents/${doc.body.id}`;
    const read = async () => (await ok<BlockDocument>("GET", `${path}?include_secrets=true`)).body.data;
    expect((await ok("PATCH", path, { data: { region_name: "eu-west-1" } })).status).toBe(204);
    expect(await read()).toEqual({ ...data, region_name: "eu-west-1" });
    await ok("PATCH", path, { data: { aws_access_key_id: "id2", aws_secret_access_key: "********" } });
    expect(await read()).toEqual({ aws_access_key_id: "id2", aws_secret_access_key: "s1", region_name: "eu-west-1" });
    await ok("PATCH", path, { data: { aws_access_key_id: "id3" }, merge_existing_data: false });
    expect(await read()).toEqual({ aws_access_key_id: "id3" });
    expect((await ok("PATCH", `/block_documents/${crypto.randomUUID()}`, { data: {} })).status).toBe(404);
    expect((await ok("DELETE", path)).status).toBe(204);
    expect((await ok("GET", path)).status).toBe(404);
    expect((await ok("DELETE", path)).status).toBe(404);
  });
});

describe("block documents filter (what the credential guard reads)", () => {
  it("lists the named documents of a block type, by name, secrets obfuscated; limit over 200 is refused", async () => {
    const { type, schema } = await typeAndSchema("aws-credentials");
    for (const name of ["filter-b", "filter-a"]) {
      await ok("POST", "/block_documents/", {
        name,
        data: { aws_access_key_id: `AKIA-${name}`, aws_secret_access_key: "s3cret-value" },
        block_type_id: type.id,
        block_schema_id: schema.id,
      });
    }
    const list = await ok<BlockDocument[]>("POST", "/block_documents/filter", {
      block_types: { slug: { any_: ["aws-credentials"] } },
    });
    expect(list.status).toBe(200);
    const ours = list.body.filter((d) => d.name?.startsWith("filter-"));
    expect(ours.map((d) => [d.name, d.data?.aws_access_key_id])).toEqual([
      ["filter-a", "AKIA-filter-a"],
      ["filter-b", "AKIA-filter-b"],
    ]);
    expect(JSON.stringify(ours)).not.toContain("s3cret-value");
    const other = await ok<BlockDocument[]>("POST", "/block_documents/filter", {
      block_types: { slug: { any_: ["gcp-credentials"] } },
    });
    expect(other.body.filter((d) => d.name?.startsWith("filter-"))).toEqual([]);
    const tooMany = await embedded.api.call("POST", "/block_documents/filter", { limit: 201 });
    expect(tooMany.status).toBe(422);
  });
});
