/**
 * The ECS pool's life beyond its resources (which the engine reads and tears down, resource.ts):
 * the target, the lock, what cannot be known without a record, key rotation (the credentials
 * resource's re-mint, credentials-key.ts) and the removal of what an interrupted `wp verify` left.
 */

import type { Lifecycle, LifecycleInput, RotateResult } from "../../engine/lifecycle-types.js";
import type { Leftover } from "../../engine/verify-journal.js";
import { WpError } from "../../errors.js";
import { wpCommand } from "../../ui/io.js";
import { tooManyKeys } from "./credentials.js";
import { keySpec, remintIntoBlock } from "./credentials-key.js";
import type { EcsProvisioner } from "./index.js";
import { BLOCK_TYPE, MANAGER, TAG_MANAGER } from "./names.js";
import { removeVerifyLeftover } from "./verify-leftover.js";

export function ecsLifecycle(input: LifecycleInput): Lifecycle {
  const e = (input.provisioner as EcsProvisioner).ecs;
  // The block the template references is the one rotated, whatever its name.
  const blockContext = () => ({ ...e, names: { ...e.names, block: input.block?.name ?? e.names.block } });
  const scope = async () => {
    const s = await e.aws();
    return `AWS account ${(await s.identity()).accountId}, region ${s.region}`;
  };
  return {
    blockType: BLOCK_TYPE,
    target: scope,
    lockScopes: async () => [await scope()],
    unknowns() {
      if (input.record) return [];
      return [
        "No provisioning record: which resources wp created for this pool is known only from their tags " +
          `(${TAG_MANAGER}=${MANAGER}); untagged resources count as adopted and are never deleted.`,
        "IAM user, policy and ECR repository names are assumed to be Prefect's defaults.",
      ];
    },
    async rotate(): Promise<RotateResult> {
      const block = input.block;
      if (!block)
        throw new WpError(
          `Work pool '${input.pool.name}' references no AWS credentials block to rotate.`,
          `Run \`${wpCommand("provision-infra", input.pool.name)}\`.`,
        );
      const ctx = blockContext();
      const r = await remintIntoBlock(ctx, block.id, input.note, () => tooManyKeys(ctx));
      return { block: block.name ?? block.id, ...r };
    },
    async finishCredentials() {
      if (!e.guard.pending("aws:")) return;
      const ctx = blockContext();
      const accountId = (await (await ctx.aws()).identity()).accountId;
      await ctx.guard.recover(
        keySpec(ctx, accountId, () => tooManyKeys(ctx), input.note),
        input.note,
      );
    },
    removeLeftover: (leftover: Leftover) => removeVerifyLeftover(input.env, leftover),
  };
}
