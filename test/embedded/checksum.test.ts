import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bundledBlockTypes } from "../../src/prefect/block-catalog.js";
import {
  blockSchemaChecksum,
  PyFloat,
  parseLossless,
  pyFloatRepr,
  pythonJsonDumps,
  stringifyLossless,
} from "../../src/prefect/checksum.js";

interface Schema {
  checksum: string;
  fields: Record<string, unknown>;
}
type Collections = Record<string, { block_types: Record<string, { block_schema: Schema }> }>;

const fixture = (name: string): unknown =>
  parseLossless(readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), "utf8"));

function schemasOf(collections: Collections): [string, Schema][] {
  return Object.values(collections).flatMap((c) =>
    Object.entries(c.block_types).map(([slug, t]): [string, Schema] => [slug, t.block_schema]),
  );
}

describe("blockSchemaChecksum", () => {
  it("matches every stored checksum in the collection registry's aggregate-block-metadata.json", () => {
    const schemas = schemasOf(fixture("aggregate-block-metadata.json") as Collections);
    expect(schemas.length).toBe(60);
    const wrong = schemas.filter(([, s]) => blockSchemaChecksum(s.fields) !== s.checksum).map(([slug]) => slug);
    expect(wrong).toEqual([]);
  });

  it("matches every stored checksum in Prefect's collection_blocks_data.json", () => {
    const data = fixture("collection_blocks_data.json") as { collections: Collections };
    const schemas = schemasOf(data.collections);
    expect(schemas.length).toBe(40);
    const wrong = schemas.filter(([, s]) => blockSchemaChecksum(s.fields) !== s.checksum).map(([slug]) => slug);
    expect(wrong).toEqual([]);
  });

  it("matches every stored checksum in data/block-types.json, which holds the nested types before their users", () => {
    const types = bundledBlockTypes();
    expect(types.map((t) => t.slug).sort()).toEqual(
      [
        "aws-credentials",
        "azure-blob-storage-container",
        "azure-blob-storage-credentials",
        "azure-container-instance-credentials",
        "coiled-credentials",
        "gcp-credentials",
        "gcs-bucket",
        "minio-credentials",
        "modal-credentials",
        "s3-bucket",
      ].sort(),
    );
    const seen = new Set<string>();
    for (const t of types) {
      expect(blockSchemaChecksum(t.block_schema.fields), t.slug).toBe(t.block_schema.checksum);
      const refs = Object.values((t.block_schema.fields.block_schema_references ?? {}) as Record<string, unknown>)
        .flat()
        .map((r) => (r as { block_type_slug: string }).block_type_slug);
      for (const slug of refs) expect(seen.has(slug), `${t.slug} needs ${slug} first`).toBe(true);
      seen.add(t.slug);
    }
  });

  it("hashes float literals as Python floats, which the schemas with 5.0 defaults depend on", () => {
    const lossless = parseLossless('{"type": "object", "properties": {"x": {"default": 5.0}}}') as Record<
      string,
      unknown
    >;
    const lossy = JSON.parse('{"type": "object", "properties": {"x": {"default": 5.0}}}') as Record<string, unknown>;
    expect(blockSchemaChecksum(lossless)).not.toBe(blockSchemaChecksum(lossy));
    expect(pythonJsonDumps(lossless)).toBe('{"properties": {"x": {"default": 5.0}}, "type": "object"}');
  });

  it("drops secret_fields at any depth and nested block definitions", () => {
    const base = {
      title: "T",
      properties: { a: { $ref: "#/definitions/Plain" } },
      definitions: { Plain: { type: "string" } },
    };
    const withExtras = {
      ...base,
      secret_fields: ["a"],
      properties: { ...base.properties, b: { $ref: "#/definitions/Nested" } },
      definitions: { ...base.definitions, Nested: { block_type_slug: "x", secret_fields: ["y"] }, Unused: {} },
    };
    const { b: _b, ...propsWithoutB } = withExtras.properties;
    expect(blockSchemaChecksum({ ...withExtras, properties: propsWithoutB })).toBe(blockSchemaChecksum(base));
    expect(blockSchemaChecksum({ title: "T", definitions: { N: { block_type_slug: "x" } } })).toBe(
      blockSchemaChecksum({ title: "T" }),
    );
  });
});

describe("lossless JSON helpers", () => {
  it("writes Python float reprs", () => {
    expect([5, 0.5, 1e16, 1e15, 0.0001, 0.00001, -2.5e20, 604800].map(pyFloatRepr)).toEqual([
      "5.0",
      "0.5",
      "1e+16",
      "1000000000000000.0",
      "0.0001",
      "1e-05",
      "-2.5e+20",
      "604800.0",
    ]);
  });

  it("round-trips floats and escapes non-ASCII like Python's ensure_ascii", () => {
    const v = parseLossless('{"a": [1, 2.0, 3.5e0], "s": "caf\\u00e9 \\"q\\"\\n"}') as Record<string, unknown>;
    expect((v.a as unknown[])[1]).toBeInstanceOf(PyFloat);
    expect(stringifyLossless(v)).toBe('{"a":[1,2.0,3.5],"s":"café \\"q\\"\\n"}');
    expect(pythonJsonDumps({ s: "é\u007f", b: true, n: null })).toBe('{"b": true, "n": null, "s": "\\u00e9\\u007f"}');
    expect(() => parseLossless("{bad")).toThrow(SyntaxError);
  });
});

describe("Prefect's own block types (data/prefect-own-block-types.json)", () => {
  const own = parseLossless(
    readFileSync(new URL("../../data/prefect-own-block-types.json", import.meta.url), "utf8"),
  ) as { block_types: { slug: string }[]; block_schemas: (Schema & { block_type_slug: string })[] };

  it("holds the 17 types a Prefect 3.4.25 server registers from its own code, one schema each", () => {
    expect(own.block_types).toHaveLength(17);
    expect(own.block_schemas.map((s) => s.block_type_slug).sort()).toEqual(own.block_types.map((t) => t.slug).sort());
  });

  it("recomputes every checksum the genuine server answered", () => {
    const wrong = own.block_schemas
      .filter((s) => blockSchemaChecksum(s.fields) !== s.checksum)
      .map((s) => s.block_type_slug);
    expect(wrong).toEqual([]);
  });
});
