/**
 * wp's bundled copy of the credential block types and schemas (data/block-types.json), used to
 * register a block type on a server that lacks it, the way Prefect's `Block.register_type_and_schema` does.
 */
import { readFileSync } from "node:fs";
import { WpError } from "../errors.js";
import type { PrefectApi } from "./api.js";
import { parseLossless } from "./checksum.js";
import type { BlockType, BlockTypeCreate } from "./types.js";
import { wpBlockTypes } from "./wp-blocks.js";

/** One entry of data/block-types.json: a block type as Prefect creates it, with its schema. */
export type BundledBlockType = BlockTypeCreate & {
  block_schema: { checksum: string; fields: Record<string, unknown>; capabilities: string[]; version: string };
};

let text: string | undefined;
let types: BundledBlockType[] | undefined;

/** The raw file (its digest tells the embedded store whether to register again). Works from src/ and dist/. */
export function bundledBlockTypesText(): string {
  text ??= readFileSync(new URL("../../data/block-types.json", import.meta.url), "utf8");
  return text;
}

/** The bundled list, parsed keeping float literals (checksums hash `5.0`, not `5`). */
export function bundledBlockTypes(): BundledBlockType[] {
  if (!types) {
    const parsed = parseLossless(bundledBlockTypesText());
    if (!Array.isArray(parsed)) throw new Error("data/block-types.json must hold a list of block types.");
    types = parsed as BundledBlockType[];
  }
  return types;
}

/** Registers the block type and its schema when missing; returns the block type. */
export async function registerBlockType(api: PrefectApi, slug: string): Promise<BlockType> {
  const bundled = [...bundledBlockTypes(), ...wpBlockTypes()].find((t) => t.slug === slug);
  if (!bundled) throw new WpError(`wp has no bundled definition of block type '${slug}'.`);
  const { block_schema: schema, ...meta } = bundled;
  const type = (await api.readBlockType(slug)) ?? (await api.createBlockType(meta));
  const existing = await api.readBlockSchemaByChecksum(schema.checksum, schema.version);
  if (!existing || existing.block_type_id !== type.id) {
    await api.createBlockSchema({
      fields: schema.fields,
      block_type_id: type.id,
      capabilities: schema.capabilities,
      version: schema.version,
    });
  }
  return type;
}
