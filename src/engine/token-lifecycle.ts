/**
 * Modal and Coiled pools: the only resource is the credentials block holding the user's token.
 * Status: the block is present and referenced (index.ts), and whether it holds a token; the token
 * itself cannot be checked offline, so it is reported "not checked". Rotation re-reads the token
 * from the local configuration and updates the block. Teardown deletes the block when wp created it.
 */
import { UsageError } from "../errors.js";
import {
  credentialsBlockTeardown,
  type Lifecycle,
  type LifecycleInput,
  type RotateResult,
  type StatusItem,
  type TeardownItem,
} from "./lifecycle-types.js";

/** What a token service declares (its cloud folder): the block's fields and how to read the local token. */
export interface TokenSpec {
  service: string;
  blockType: string;
  fields: string[];
  hint: string;
  /** The token from the local configuration, as block data, where it was read, and an id that is not a secret. */
  localToken(input: LifecycleInput): Promise<{ data: Record<string, string>; source: string; id: string } | null>;
}

const STEP = "prefect.credentials-block";

export function tokenLifecycle(spec: TokenSpec, input: LifecycleInput): Lifecycle {
  const created = () => input.record?.record.resources.some((r) => r.step === STEP && r.created === true) === true;

  const localToken = () => spec.localToken(input);

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
      return credentialsBlockTeardown(input, STEP, created());
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
