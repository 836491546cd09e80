/** The Coiled provider: a credentials block from the user's Coiled token. */
import { blockNameOption, type Provider } from "../../engine/provider.js";

export const coiledProvider: Provider = {
  id: "coiled",
  title: "Coiled",
  types: ["coiled:push"],
  blockType: "coiled-credentials",
  blockVariable: "credentials",
  lifecycle: async (input) => {
    const [{ tokenLifecycle }, { coiledToken }] = await Promise.all([
      import("../../engine/token-lifecycle.js"),
      import("./index.js"),
    ]);
    return tokenLifecycle(coiledToken(input.env), input);
  },
  options: [],
  names: [blockNameOption("coiled-credentials", "Enter a name for the Coiled credentials block")],
  async load(input) {
    const [{ tokenBlockProvisioner }, { coiledToken }] = await Promise.all([
      import("../../engine/token-block.js"),
      import("./index.js"),
    ]);
    return tokenBlockProvisioner(coiledToken(input.env), input);
  },
};
