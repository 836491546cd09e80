import type { ProviderInput } from "../../engine/provider.js";
import { tokenBlockProvisioner } from "../../engine/token-block.js";
import type { TokenSpec } from "../../engine/token-lifecycle.js";
import type { Provisioner } from "../../engine/types.js";
import { UsageError } from "../../errors.js";
import { findModalToken } from "./config.js";

export function createModalProvisioner(input: ProviderInput, derivedBlockName: boolean): Provisioner {
  const profile = typeof input.flags.modalProfile === "string" ? input.flags.modalProfile : undefined;
  return tokenBlockProvisioner(
    {
      types: ["modal:push"],
      service: "Modal",
      blockType: "modal-credentials",
      variable: "modal_credentials",
      async find() {
        const t = await findModalToken(input.env, profile);
        return t ? { data: { token_id: t.tokenId, token_secret: t.tokenSecret }, source: t.source } : null;
      },
      async ask(i) {
        i.note("No Modal token found. Create one at https://modal.com/settings/tokens (or run `modal token new`).");
        const tokenId = await i.prompts.text("Modal token ID");
        const tokenSecret = await i.prompts.secret("Modal token secret");
        if (!tokenId || !tokenSecret) throw new UsageError("A Modal token ID and secret are both needed.");
        return { data: { token_id: tokenId, token_secret: tokenSecret }, source: "prompt" };
      },
      missingHint:
        "Set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET, or pass --modal-profile with a profile in ~/.modal.toml (MODAL_CONFIG_PATH); create a token with `modal token new`.",
    },
    input,
    derivedBlockName,
  );
}

/** The Modal pool's lifecycle: the token block (see engine/token-lifecycle.ts). */
export const MODAL_TOKEN: TokenSpec = {
  service: "Modal",
  blockType: "modal-credentials",
  fields: ["token_id", "token_secret"],
  hint: "Set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET, or create a token with `modal token new`.",
  async localToken(input) {
    const profile = typeof input.flags.modalProfile === "string" ? input.flags.modalProfile : undefined;
    const t = await findModalToken(input.env, profile);
    return t ? { data: { token_id: t.tokenId, token_secret: t.tokenSecret }, source: t.source, id: t.tokenId } : null;
  },
};
