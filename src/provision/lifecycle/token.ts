/**
 * Modal and Coiled pools: the only resource is the credentials block holding the user's token.
 * Status: the block is present and referenced (index.ts), and whether it holds a token; the token
 * itself cannot be checked offline, so it is reported "not checked". Rotation re-reads the token
 * from the local configuration and updates the block. Teardown deletes the block when wp created it.
 */
import { findCoiledToken } from "../../clouds/coiled.js";
import { findModalToken } from "../../clouds/modal.js";
import { UsageError } from "../../errors.js";
import {
  credentialsBlockTeardown,
  type Lifecycle,
  type LifecycleInput,
  type RotateResult,
  type StatusItem,
  type TeardownItem,
} from "./types.js";

const SPECS = {
  modal: {
    service: "Modal",
    blockType: "modal-credentials",
    step: "prefect.credentials-block",
    fields: ["token_id", "token_secret"],
    hint: "Set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET, or create a token with `modal token new`.",
  },
  coiled: {
    service: "Coiled",
    blockType: "coiled-credentials",
    step: "prefect.credentials-block",
    fields: ["api_token"],
    hint: "Set DASK_COILED__TOKEN, or run `coiled login`.",
  },
};

export function tokenLifecycle(providerId: "modal" | "coiled", input: LifecycleInput): Lifecycle {
  const spec = SPECS[providerId];
  const created = () => input.record?.record.resources.some((r) => r.step === spec.step && r.created === true) === true;

  async function localToken(): Promise<{ data: Record<string, string>; source: string; id: string } | null> {
    if (providerId === "modal") {
      const profile = typeof input.flags.modalProfile === "string" ? input.flags.modalProfile : undefined;
      const t = await findModalToken(input.env, profile);
      return t ? { data: { token_id: t.tokenId, token_secret: t.tokenSecret }, source: t.source, id: t.tokenId } : null;
    }
    const t = await findCoiledToken(input.env);
    return t ? { data: { api_token: t.token }, source: t.source, id: "api token" } : null;
  }

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
    async status(): Promise<StatusItem[]> {
      if (!input.block) return [];
      const full = await input.api.readBlockDocumentById(input.block.id, true);
      const data = (full?.data ?? {}) as Record<string, unknown>;
      const missing = spec.fields.filter((f) => typeof data[f] !== "string" || !data[f]);
      if (missing.length)
        return [
          {
            resource: `${spec.service} token`,
            name: input.block.name ?? input.block.id,
            state: "missing",
            detail: `the block lacks ${missing.join(", ")}`,
            fix: `wp rotate-credentials ${input.pool.name}`,
          },
        ];
      return [
        {
          resource: `${spec.service} token`,
          name: input.block.name ?? input.block.id,
          state: "not checked",
          detail: `present; ${spec.service} tokens cannot be checked without calling ${spec.service}`,
        },
      ];
    },
    async teardown(): Promise<TeardownItem[]> {
      return credentialsBlockTeardown(input, spec.step, created());
    },
    async rotate(): Promise<RotateResult> {
      const block = input.block;
      if (!block) throw new UsageError("The pool references no credentials block.");
      const token = await localToken();
      if (!token) throw new UsageError(`No ${spec.service} token found in the local configuration.`, spec.hint);
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
