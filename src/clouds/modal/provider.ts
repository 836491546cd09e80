/** The Modal provider: a credentials block from the user's Modal token. */
import { blockNameOption, type Provider } from "../../engine/provider.js";

export const modalProvider: Provider = {
  id: "modal",
  title: "Modal",
  types: ["modal:push"],
  blockType: "modal-credentials",
  blockVariable: "modal_credentials",
  lifecycle: async (input) =>
    (await import("../../engine/token-lifecycle.js")).tokenLifecycle((await import("./index.js")).MODAL_TOKEN, input),
  options: [
    {
      flags: "--modal-profile <name>",
      description: "Modal profile in ~/.modal.toml (default: MODAL_PROFILE, then the active one)",
    },
  ],
  names: [blockNameOption("modal-credentials", "Enter a name for the Modal credentials block")],
  async load(input) {
    const { createModalProvisioner } = await import("./index.js");
    return createModalProvisioner(input, input.derivedBlockName);
  },
};
