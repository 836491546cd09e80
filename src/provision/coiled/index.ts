import { findCoiledToken } from "../../clouds/coiled.js";
import { UsageError } from "../../errors.js";
import type { ProviderInput } from "../provider.js";
import { tokenBlockProvisioner } from "../token-block.js";
import type { Provisioner } from "../types.js";

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
