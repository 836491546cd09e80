/** The Modal provider: a credentials block from the user's Modal token. */
import { blockNameOption, type Provider } from "../../engine/provider.js";

export const modalProvider: Provider = {
  id: "modal",
  title: "Modal",
  types: ["modal:push"],
  blockType: "modal-credentials",
  blockVariable: "modal_credentials",
  lifecycle: async (input) => {
    const [{ tokenLifecycle }, { modalToken }] = await Promise.all([
      import("../../engine/token-lifecycle.js"),
      import("./index.js"),
    ]);
    return tokenLifecycle(modalToken(input.env, input.flags), input);
  },
  options: [
    {
      flags: "--modal-profile <name>",
      description: "Modal profile in ~/.modal.toml (default: MODAL_PROFILE, then the active one)",
    },
  ],
  names: [blockNameOption("modal-credentials", "Enter a name for the Modal credentials block")],
  async load(input) {
    const [{ tokenBlockProvisioner }, { modalToken }] = await Promise.all([
      import("../../engine/token-block.js"),
      import("./index.js"),
    ]);
    return tokenBlockProvisioner(modalToken(input.env, input.flags), input);
  },
};
