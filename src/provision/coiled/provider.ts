/** The Coiled provider: a credentials block from the user's Coiled token. */
import { blockNameOption, type Provider } from "../provider.js";

export const coiledProvider: Provider = {
  id: "coiled",
  title: "Coiled",
  types: ["coiled:push"],
  blockType: "coiled-credentials",
  options: [],
  names: [blockNameOption("coiled-credentials", "Enter a name for the Coiled credentials block")],
  async load(input) {
    const { createCoiledProvisioner } = await import("./index.js");
    return createCoiledProvisioner(input, input.derivedBlockName);
  },
};
