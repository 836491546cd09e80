/** The Coiled provider: a credentials block from the user's Coiled token. */
import { blockNameOption, type Provider } from "../../engine/provider.js";

export const coiledProvider: Provider = {
  id: "coiled",
  title: "Coiled",
  types: ["coiled:push"],
  blockType: "coiled-credentials",
  blockVariable: "credentials",
  lifecycle: async (input) =>
    (await import("../../engine/token-lifecycle.js")).tokenLifecycle((await import("./index.js")).COILED_TOKEN, input),
  options: [],
  names: [blockNameOption("coiled-credentials", "Enter a name for the Coiled credentials block")],
  async load(input) {
    const { createCoiledProvisioner } = await import("./index.js");
    return createCoiledProvisioner(input, input.derivedBlockName);
  },
};
