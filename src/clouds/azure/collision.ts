/** A derived block name that another pool already uses is a collision, refused before anything is written. */
import { blockRefOf } from "../../engine/lifecycle-types.js";
import { UsageError } from "../../errors.js";
import { pyRepr } from "../../ui/io.js";
import { type AciContext, BLOCK_TYPE } from "./context.js";

export async function refuseBlockCollision(e: AciContext): Promise<void> {
  if (!e.derivedBlockName) return;
  const doc = await e.prefect.readBlockDocument(BLOCK_TYPE, e.names.block);
  if (!doc) return;
  const other = (await e.prefect.listWorkPools()).find(
    (p) => p.name !== e.pool && blockRefOf(p, "aci_credentials") === doc.id,
  );
  if (other)
    throw new UsageError(
      `Block ${pyRepr(e.names.block)} (derived from the pool's name) already exists and belongs to work pool ${pyRepr(other.name)}.`,
      "Pass --credentials-block-name to use another block name.",
    );
}
