/**
 * Modal and Coiled pools after provisioning: their one resource, the token block, is read and
 * deleted by the engine's walk (token-block.ts); rotation re-reads the token from the local
 * configuration and updates the block.
 */
import { UsageError } from "../errors.js";
import type { Lifecycle, LifecycleInput, RotateResult } from "./lifecycle-types.js";
import type { TokenSpec } from "./token-block.js";

export function tokenLifecycle(spec: TokenSpec, input: LifecycleInput): Lifecycle {
  return {
    blockType: spec.blockType,
    target: async () => spec.service,
    lockScopes: async () => [],
    unknowns: () =>
      input.record
        ? []
        : [
            `No provisioning record: whether wp created block ${input.block?.name ?? "(none)"} cannot be known, so it is kept.`,
          ],
    async rotate(): Promise<RotateResult> {
      const block = input.block;
      if (!block) throw new UsageError("The pool references no credentials block.");
      const token = await spec.find();
      if (!token) throw new UsageError(`No ${spec.service} token found in the local configuration.`, spec.missingHint);
      const full = await input.api.readBlockDocumentById(block.id, true);
      await input.api.updateBlockDocument(block.id, {
        ...((full?.data ?? {}) as Record<string, unknown>),
        ...token.data,
      });
      return {
        block: block.name ?? block.id,
        newId: token.id,
        checked: `read from ${token.source}; ${spec.service} tokens are not checked offline`,
      };
    },
  };
}
