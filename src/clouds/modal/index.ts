/** Modal: the pool's only resource is a credentials block holding the user's Modal token. */
import type { ProviderInput } from "../../engine/provider.js";
import type { TokenSpec } from "../../engine/token-block.js";
import { UsageError } from "../../errors.js";
import type { Env } from "../../prefect/settings.js";
import { findModalToken } from "./config.js";

/** Where the token comes from (the environment, `--modal-profile`, ~/.modal.toml) and how the block holds it. */
export function modalToken(env: Env, flags: Record<string, unknown>): TokenSpec {
  const profile = typeof flags.modalProfile === "string" ? flags.modalProfile : undefined;
  return {
    types: ["modal:push"],
    service: "Modal",
    blockType: "modal-credentials",
    variable: "modal_credentials",
    fields: ["token_id", "token_secret"],
    async find() {
      const t = await findModalToken(env, profile);
      return t ? { data: { token_id: t.tokenId, token_secret: t.tokenSecret }, source: t.source, id: t.tokenId } : null;
    },
    async ask(i: ProviderInput) {
      i.note("No Modal token found. Create one at https://modal.com/settings/tokens (or run `modal token new`).");
      const tokenId = await i.prompts.text("Modal token ID");
      const tokenSecret = await i.prompts.secret("Modal token secret");
      if (!tokenId || !tokenSecret) throw new UsageError("A Modal token ID and secret are both needed.");
      return { data: { token_id: tokenId, token_secret: tokenSecret }, source: "prompt", id: tokenId };
    },
    missingHint:
      "Set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET, or pass --modal-profile with a profile in ~/.modal.toml (MODAL_CONFIG_PATH); create a token with `modal token new`.",
  };
}
