/**
 * Provisioners whose only resource is a credentials block holding the user's token (Modal, Coiled):
 * the block is reused when it exists; otherwise the token is found (or asked for on a terminal)
 * before the plan, and stored as the block.
 */
import { UsageError } from "../errors.js";
import { blockKind, createBlock } from "../prefect/blocks.js";
import { blockRef, withDefaults } from "../prefect/template.js";
import type { JobTemplate } from "../prefect/types.js";
import { ignoreNotFound } from "./lifecycle-types.js";
import type { ProviderInput } from "./provider.js";
import type { Resource } from "./resource.js";
import type { Outputs, Provisioner, StepState } from "./types.js";

export interface LocalToken {
  data: Record<string, string>;
  source: string;
  id: string;
}

export interface TokenSpec {
  types: string[];
  /** The block's fields that hold the token. */
  fields: string[];
  /** "Modal" / "Coiled". */
  service: string;
  blockType: string;
  /** Variable holding the block reference. */
  variable: string;
  /** Finds the token; null when none is configured. Never prints it. `id` names it without the secret. */
  find(): Promise<LocalToken | null>;
  /** Prompts on a terminal (hidden secret input). */
  ask(input: ProviderInput): Promise<LocalToken>;
  /** What to tell a user without a terminal. */
  missingHint: string;
  /** Extra template changes (Coiled: image → ""). */
  extraDefaults?(template: JobTemplate): Record<string, unknown>;
}

export function tokenBlockProvisioner(spec: TokenSpec, input: ProviderInput): Provisioner {
  const blockName = input.names.block ?? "";
  let token: LocalToken | null = null;
  let existingId: string | null = null;

  return {
    types: spec.types,
    async targets() {
      const existing = await input.prefect.readBlockDocument(spec.blockType, blockName);
      if (input.mode === "read") return [];
      if (existing) {
        existingId = existing.id;
        return [];
      }
      token = await spec.find();
      if (!token) {
        if (!input.interactive) {
          throw new UsageError(`No ${spec.service} token found.`, spec.missingHint);
        }
        token = await spec.ask(input);
      }
      return [];
    },
    steps: () => [tokenBlockResource(spec, input, () => token)],
    jobTemplate(base: JobTemplate, outputs: Outputs): JobTemplate {
      const id = outputs.get("blockDocumentId") ?? existingId;
      if (typeof id !== "string") throw new Error("credentials block not created yet");
      return withDefaults(base, { [spec.variable]: blockRef(id), ...(spec.extraDefaults?.(base) ?? {}) });
    },
  };
}

/** The block holding the token: read (in read mode, whether it holds the token's fields), created from the token, deleted. */
function tokenBlockResource(spec: TokenSpec, input: ProviderInput, token: () => LocalToken | null): Resource {
  const blockName = input.names.block ?? "";
  return {
    id: "prefect.credentials-block",
    resource: `${spec.service} credentials block`,
    name: blockName,
    target: "prefect",
    templateVariable: spec.variable,
    async check(ctx): Promise<StepState> {
      const read = input.mode === "read";
      const found = await ctx.prefect.readBlockDocument(spec.blockType, blockName, read);
      if (found) {
        ctx.outputs.set("blockDocumentId", found.id);
        return read ? tokenState(spec, found.id, found.data) : { action: "exists", id: found.id, detail: "reused" };
      }
      return { action: "create", detail: `token from ${token()?.source ?? "prompt"}` };
    },
    async apply(ctx) {
      const t = token();
      if (!t) throw new UsageError(`No ${spec.service} token to store.`, spec.missingHint);
      const doc = await createBlock(ctx.prefect, await blockKind(ctx.prefect, spec.blockType), blockName, t.data);
      ctx.outputs.set("blockDocumentId", doc.id);
      return { action: "create", id: doc.id };
    },
    async delete(ctx, state) {
      if (state.id) await ctx.prefect.deleteBlockDocument(state.id).catch(ignoreNotFound);
    },
  };
}

/** Status of the block's token: present (tokens cannot be checked offline), or fields missing (rotation re-reads them). */
function tokenState(spec: TokenSpec, id: string, data: unknown): StepState {
  const d = (data ?? {}) as Record<string, unknown>;
  const missing = spec.fields.filter((f) => typeof d[f] !== "string" || !d[f]);
  if (missing.length)
    return { action: "update", id, detail: `the block lacks ${missing.join(", ")}`, repair: "rotate-credentials" };
  const detail = `token present; ${spec.service} tokens cannot be checked without calling ${spec.service}`;
  return { action: "exists", id, detail, unchecked: true };
}
