/** Writing credential blocks the way Prefect's provisioners do: the type by slug, its newest schema, then the document. */
import { WpError } from "../errors.js";
import type { PrefectApi } from "./api.js";
import type { BlockDocument, BlockSchema, BlockType } from "./types.js";

export interface BlockKind {
  type: BlockType;
  schema: BlockSchema;
}

/** The block type and its most recent schema; resolved before a credential is minted, so a missing type leaves nothing behind. */
export async function blockKind(api: PrefectApi, slug: string): Promise<BlockKind> {
  const type = await api.readBlockType(slug);
  if (!type) {
    throw new WpError(
      `Unable to find block type "${slug}" on ${api.label}.`,
      "Run the same command again: wp registers it.",
    );
  }
  const schema = await api.latestBlockSchema(type.id);
  if (!schema) throw new WpError(`Unable to find a schema for block type "${slug}" on ${api.label}.`);
  return { type, schema };
}

/** Creates a named block document holding `data` (secret fields come back obfuscated). */
export function createBlock(
  api: PrefectApi,
  kind: BlockKind,
  name: string,
  data: Record<string, unknown>,
): Promise<BlockDocument> {
  return api.createBlockDocument({
    name,
    data,
    block_type_id: kind.type.id,
    block_schema_id: kind.schema.id,
    is_anonymous: false,
  });
}
