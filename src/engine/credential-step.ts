/**
 * The credentials-block step every provisioned cloud has (AWS access key, Azure client secret,
 * Google service-account key): plan — the block exists (or needs an update to delete orphans an
 * interrupted run left), or a new credential is needed, refused when the owner already holds the
 * cloud's limit; apply — delete those orphans, then mint the credential straight into a new block
 * through the CredentialGuard (credential.ts). Each cloud supplies only what differs.
 */
import { blockKind, createBlock } from "../prefect/blocks.js";
import { type CredentialGuard, type CredentialSpec, orphansNote } from "./credential.js";
import { settled } from "./settled.js";
import type { Step, StepContext } from "./types.js";

export interface CredentialStepDef<C extends { id: string }> {
  id: string;
  blockType: string;
  block: string;
  after: string[];
  guard: CredentialGuard;
  /** For the plan: "access key", "client secret", "key". */
  noun: string;
  /** The plan's words for a new one, e.g. "new access key for IAM user prefect-ecs-user". */
  createDetail: string;
  /** The cloud's limit of credentials per owner, and the one-line refusal when it is reached. */
  limit: number;
  tooMany(): Error;
  /** Read-only: the owner's credentials that count against the limit, and orphans' ids. `blockMissing`: one will be minted. */
  use(ctx: StepContext, blockMissing: boolean): Promise<{ usable: number; orphans: string[] }>;
  spec(ctx: StepContext): Promise<CredentialSpec<C>>;
  /** Under the lock, right before the mint: re-checks what the plan read (e.g. the limit). */
  beforeMint?(ctx: StepContext): Promise<void>;
  /** The block's data for a minted credential (it holds the secret: never log it). */
  blockData(credential: C, ctx: StepContext): Record<string, unknown> | Promise<Record<string, unknown>>;
}

export function credentialStep<C extends { id: string }>(d: CredentialStepDef<C>): Step {
  const note = (ids: string[]) => orphansNote(d.noun, ids);
  return {
    id: d.id,
    resource: "Credentials block",
    name: d.block,
    target: "prefect",
    after: d.after,
    async check(ctx) {
      const doc = await ctx.prefect.readBlockDocument(d.blockType, d.block);
      const use = await d.use(ctx, !doc);
      if (doc) {
        ctx.outputs.set("blockDocumentId", doc.id);
        if (use.orphans.length) return { action: "update", detail: note(use.orphans), id: doc.id };
        return { action: "exists", id: doc.id };
      }
      if (use.usable >= d.limit) throw d.tooMany();
      const extra = use.orphans.length ? `; ${note(use.orphans)}` : "";
      return { action: "create", detail: `${d.createDetail}${extra}` };
    },
    async apply(ctx) {
      const spec = await d.spec(ctx);
      const [recovered, existing, kind] = await settled([
        d.guard.recover(spec, ctx.note),
        ctx.prefect.readBlockDocument(d.blockType, d.block),
        // Resolved before the mint: a missing block type must not leave a credential behind.
        blockKind(ctx.prefect, d.blockType),
      ]);
      if (existing) {
        ctx.outputs.set("blockDocumentId", existing.id);
        return { action: recovered > 0 ? "update" : "exists", id: existing.id };
      }
      await d.beforeMint?.(ctx);
      const doc = await d.guard.mintInto(
        spec,
        async (credential) => createBlock(ctx.prefect, kind, d.block, await d.blockData(credential, ctx)),
        ctx.note,
      );
      ctx.outputs.set("blockDocumentId", doc.id);
      return { action: "create", id: doc.id };
    },
  };
}
