/** Coiled: the pool's only resource is a credentials block holding the user's Coiled API token. */
import type { ProviderInput } from "../../engine/provider.js";
import type { TokenSpec } from "../../engine/token-block.js";
import { UsageError } from "../../errors.js";
import type { Env } from "../../prefect/settings.js";
import { findCoiledToken } from "./config.js";

/** Where the token comes from (DASK_COILED__TOKEN, the dask config) and how the block holds it. */
export function coiledToken(env: Env): TokenSpec {
  return {
    types: ["coiled:push"],
    service: "Coiled",
    blockType: "coiled-credentials",
    variable: "credentials",
    fields: ["api_token"],
    async find() {
      const t = await findCoiledToken(env);
      return t ? { data: { api_token: t.token }, source: t.source, id: "api token" } : null;
    },
    async ask(i: ProviderInput) {
      i.note("No Coiled token found. Create one at https://cloud.coiled.io/profile (or run `coiled login`).");
      const token = await i.prompts.secret("Coiled API token");
      if (!token) throw new UsageError("A Coiled API token is needed.");
      return { data: { api_token: token }, source: "prompt", id: "api token" };
    },
    missingHint:
      "Set DASK_COILED__TOKEN, or run `coiled login` (it writes coiled.token to the dask config, DASK_CONFIG).",
    extraDefaults: (template) => {
      const props = (template.variables as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
      return "image" in props ? { image: "" } : {};
    },
  };
}
