/**
 * Issue 15 point 16: what a bare genuine Prefect 3.4.25 server answers and a bare embedded API must answer alike —
 * the 17 block types Prefect registers from its own code (types, schemas, checksums as the genuine server answered
 * them: data/prefect-own-block-types.json, a copy of shared/prefect/prefect-own-block-types.json), a pool created
 * with no type (`prefect-agent`, status null: Prefect's `models/workers.py` sets a status only for other types), and
 * `GET /version` (the API version, 0.8.4; `GET /admin/version` is the server's, 3.4.25).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseLossless } from "../../src/prefect/checksum.js";
import type { BlockSchema, BlockType } from "../../src/prefect/types.js";
import { useEmbeddedServer } from "./http-client.js";

type Json = Record<string, unknown>;

const genuine = parseLossless(
  readFileSync(new URL("../../data/prefect-own-block-types.json", import.meta.url), "utf8"),
) as { block_types: Json[]; block_schemas: (Json & { block_type: Json; block_type_slug: string })[] };

const embedded = useEmbeddedServer();

/** A block type without what differs between servers (ids, timestamps). */
const typeShape = (t: Json): Json => {
  const { id: _id, created: _c, updated: _u, ...rest } = t;
  return rest;
};

describe("a bare embedded API registers Prefect's own block types as the genuine server does", () => {
  it("lists each of the 17 types with the genuine server's fields", async () => {
    const r = await embedded.api.call<BlockType[]>("POST", "/block_types/filter", {});
    expect(r.status).toBe(200);
    const bySlug = new Map(r.body.map((t) => [t.slug, t as unknown as Json]));
    for (const t of genuine.block_types) {
      const ours = bySlug.get(String(t.slug));
      expect(ours, String(t.slug)).toBeDefined();
      expect(typeShape(ours ?? {}), String(t.slug)).toEqual(t);
    }
  });

  it("serves each type's schema: fields, checksum, capabilities and version as answered, also by checksum", async () => {
    for (const s of genuine.block_schemas) {
      const type = await embedded.api.call<BlockType>("GET", `/block_types/slug/${s.block_type_slug}`);
      expect(type.status, s.block_type_slug).toBe(200);
      const list = await embedded.api.call<BlockSchema[]>("POST", "/block_schemas/filter", {
        block_schemas: { block_type_id: { any_: [type.body.id] } },
      });
      expect(list.body, s.block_type_slug).toHaveLength(1);
      const ours = list.body[0] as unknown as Json;
      const { block_type, block_type_slug: _slug, ...schema } = s;
      expect(ours, s.block_type_slug).toMatchObject(schema);
      expect(typeShape(ours.block_type as Json)).toEqual(typeShape(block_type));
      const byChecksum = await embedded.api.call<BlockSchema>(
        "GET",
        `/block_schemas/checksum/${encodeURIComponent(String(s.checksum))}?version=${String(s.version)}`,
      );
      expect([byChecksum.status, byChecksum.body.id]).toEqual([200, ours.id]);
    }
  });

  it("lists block types in the genuine server's order (by slug)", async () => {
    const recorded = JSON.parse(
      readFileSync(new URL("../../fixtures/prefect-3.4.25-answers.json", import.meta.url), "utf8"),
    ) as { answers: { name: string; body: string[] }[] };
    const slugs = recorded.answers.find((a) => a.name === "block types filter {} (slugs)")?.body ?? [];
    const r = await embedded.api.call<BlockType[]>("POST", "/block_types/filter", {});
    const ours = r.body.map((t) => t.slug);
    // wp's two credential types (Prefect Cloud serves them) are the only difference.
    expect(ours.filter((s) => s !== "coiled-credentials" && s !== "modal-credentials")).toEqual(slugs);
    expect(ours).toEqual([...ours].sort());
  });

  it("can store a document of a core type, masking its secret fields as Prefect does", async () => {
    const type = await embedded.api.call<BlockType>("GET", "/block_types/slug/secret");
    const schema = await embedded.api.call<BlockSchema[]>("POST", "/block_schemas/filter", {
      block_schemas: { block_type_id: { any_: [type.body.id] } },
    });
    const r = await embedded.api.call<{ data: Json }>("POST", "/block_documents/", {
      name: "db-password",
      data: { value: "hunter2-hunter2" },
      block_type_id: type.body.id,
      block_schema_id: schema.body[0]?.id,
    });
    expect(r.status).toBe(201);
    expect(r.body.data).toEqual({ value: "********" });
  });
});

describe("work pools and version as the genuine server answers", () => {
  it("a pool created without a type is prefect-agent, its status null, paused or not", async () => {
    const made = await embedded.api.call<Json>("POST", "/work_pools/", { name: "agent-pool" });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ type: "prefect-agent", status: null, is_paused: false });
    const paused = await embedded.api.call<Json>("POST", "/work_pools/", { name: "agent-paused", is_paused: true });
    expect(paused.body).toMatchObject({ type: "prefect-agent", status: null, is_paused: true });
    // Pausing and resuming never give a prefect-agent pool a status (update_work_pool skips that type).
    for (const is_paused of [true, false]) {
      expect((await embedded.api.call("PATCH", "/work_pools/agent-pool", { is_paused })).status).toBe(204);
      const read = await embedded.api.call<Json>("GET", "/work_pools/agent-pool");
      expect(read.body).toMatchObject({ status: null, is_paused });
    }
    // Any other type keeps Prefect's statuses.
    const process = await embedded.api.call<Json>("POST", "/work_pools/", { name: "p", type: "process" });
    expect(process.body.status).toBe("NOT_READY");
  });

  it("GET /version answers the API version 0.8.4; GET /admin/version the server's version", async () => {
    const v = await embedded.api.call<string>("GET", "/version");
    expect([v.status, v.body]).toEqual([200, "0.8.4"]);
    const admin = await embedded.api.call<string>("GET", "/admin/version");
    expect([admin.status, admin.body]).toEqual([200, "3.4.25"]);
  });
});
