import type { ProviderInput } from "../../engine/provider.js";
import { tokenBlockProvisioner } from "../../engine/token-block.js";
import type { TokenSpec } from "../../engine/token-lifecycle.js";
import type { Provisioner } from "../../engine/types.js";
import { UsageError } from "../../errors.js";
import { findCoiledToken } from "./config.js";

export function createCoiledProvisioner(input: ProviderInput, derivedBlockName: boolean): Provisioner {
  return tokenBlockProvisioner(
    {
      types: ["coiled:push"],
      service: "Coiled",
      blockType: "coiled-credentials",
      variable: "credentials",
      async find() {
        const t = await findCoiledToken(input.env);
        return t ? { data: { api_token: t.token }, source: t.source } : null;
      },
      async ask(i) {
        i.note("No Coiled token found. Create one at https://cloud.coiled.io/profile (or run `coiled login`).");
        const token = await i.prompts.secret("Coiled API token");
        if (!token) throw new UsageError("A Coiled API token is needed.");
        return { data: { api_token: token }, source: "prompt" };
      },
      missingHint:
        "Set DASK_COILED__TOKEN, or run `coiled login` (it writes coiled.token to the dask config, DASK_CONFIG).",
      extraDefaults: (template) => {
        const props = (template.variables as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
        return "image" in props ? { image: "" } : {};
      },
    },
    input,
    derivedBlockName,
  );
}

/** The Coiled pool's lifecycle: the token block (see engine/token-lifecycle.ts). */
export const COILED_TOKEN: TokenSpec = {
  service: "Coiled",
  blockType: "coiled-credentials",
  fields: ["api_token"],
  hint: "Set DASK_COILED__TOKEN, or run `coiled login`.",
  async localToken(input) {
    const t = await findCoiledToken(input.env);
    return t ? { data: { api_token: t.token }, source: t.source, id: "api token" } : null;
  },
};
