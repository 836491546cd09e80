/**
 * The Azure Container Instances provider: types, flags, resource names with Azure's naming rules,
 * Prefect's prompts. Cheap to import: no Azure SDK (load() imports the provisioner when it runs).
 */

import { blockNameOption, checkName, type NameRule, nameOption, type Provider } from "../../engine/provider.js";
import { AuthError, UsageError } from "../../errors.js";
import { pyRepr } from "../../ui/io.js";
import { aciNamesFromTemplate } from "./template.js";

/** Length of the suffix wp adds to the registry prefix: unix seconds (10 digits) + 4 random characters. */
export const REGISTRY_SUFFIX_LENGTH = 14;

/** Azure's naming rules for the resources the ACI provisioner names. */
export const AZURE_NAME_RULES = {
  resourceGroup: {
    min: 1,
    max: 90,
    pattern: /^[-\w._()]+$/u,
    allowed: "letters, digits, underscores, hyphens, periods and parentheses",
    refuse: (v: string) => (v.endsWith(".") ? "must not end with a period" : null),
  },
  registry: { min: 5, max: 50, pattern: /^[a-zA-Z0-9]+$/, allowed: "letters and digits" },
  /** The prefix leaves room for the 14-character suffix within the registry's 50. */
  registryPrefix: {
    min: 1,
    max: 50 - REGISTRY_SUFFIX_LENGTH,
    pattern: /^[a-zA-Z0-9]+$/,
    allowed: "letters and digits",
  },
  identity: {
    min: 3,
    max: 128,
    pattern: /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/,
    allowed: "letters, digits, hyphens and underscores, starting with a letter or digit",
  },
  /** Entra ID app display names: up to 120 characters, no control characters. */
  appDisplayName: {
    min: 1,
    max: 120,
    pattern: /^[^\p{Cc}]+$/u,
    allowed: "printable characters",
    refuse: (v: string) => (v.trim() !== v ? "must not start or end with a space" : null),
  },
} satisfies Record<string, NameRule>;

/** Azure public-cloud regions (`az account list-locations --query [].name`), for checking --location offline. */
export const AZURE_LOCATIONS = new Set([
  "eastus",
  "eastus2",
  "southcentralus",
  "westus2",
  "westus3",
  "australiaeast",
  "southeastasia",
  "northeurope",
  "swedencentral",
  "uksouth",
  "westeurope",
  "centralus",
  "southafricanorth",
  "centralindia",
  "eastasia",
  "indonesiacentral",
  "japaneast",
  "japanwest",
  "koreacentral",
  "malaysiawest",
  "newzealandnorth",
  "canadacentral",
  "francecentral",
  "germanywestcentral",
  "italynorth",
  "norwayeast",
  "polandcentral",
  "spaincentral",
  "switzerlandnorth",
  "mexicocentral",
  "uaenorth",
  "brazilsouth",
  "israelcentral",
  "qatarcentral",
  "chilecentral",
  "austriaeast",
  "belgiumcentral",
  "denmarkeast",
  "northcentralus",
  "westus",
  "westcentralus",
  "eastus2euap",
  "centraluseuap",
  "australiacentral",
  "australiacentral2",
  "australiasoutheast",
  "brazilsoutheast",
  "canadaeast",
  "francesouth",
  "germanynorth",
  "jioindiacentral",
  "jioindiawest",
  "koreasouth",
  "norwaywest",
  "southafricawest",
  "southindia",
  "swedensouth",
  "switzerlandwest",
  "uaecentral",
  "ukwest",
  "westindia",
  "centralusstage",
  "eastusstage",
  "eastus2stage",
]);

export const DEFAULT_LOCATION = "eastus";

/** Checks --location against the known regions; returns it in Azure's form (lower case, no spaces). */
export function checkLocation(value: string): string {
  const location = value.toLowerCase().replace(/\s+/g, "");
  if (!AZURE_LOCATIONS.has(location)) {
    throw new UsageError(
      `Location ${pyRepr(value)} is not a known Azure region.`,
      "Pass a region name such as eastus, westeurope or southeastasia (az account list-locations lists them).",
    );
  }
  return location;
}

export const aciProvider: Provider = {
  id: "aci",
  title: "Azure Container Instances",
  types: ["azure-container-instance:push", "azure-container-instance"],
  blockType: "azure-container-instance-credentials",
  blockVariable: "aci_credentials",
  lifecycle: async (input) => (await import("./lifecycle.js")).aciLifecycle(input),
  async blockIdentity(data, env) {
    const str = (k: string) => (typeof data[k] === "string" ? String(data[k]) : "");
    const c = { clientId: str("client_id"), tenantId: str("tenant_id"), clientSecret: str("client_secret") };
    if (!c.clientId || !c.tenantId || !c.clientSecret)
      throw new AuthError("The block lacks a client id, tenant id or client secret.");
    return (await import("./own-credentials.js")).aciSecretIdentity(c, env);
  },
  // Where new resources go: later commands read it from the record. The subscription is not compared as
  // a flag (an id and a name are the same subscription): reads take it from the pool's template.
  recorded: { location: "location" },
  namesFromTemplate: aciNamesFromTemplate,
  verify: async (input, o) => (await import("./verify.js")).verifyAci(input, o),
  permissions: async (input) => (await import("./permissions.js")).aciPermissions(input),
  options: [
    {
      flags: "--subscription <id-or-name>",
      description: "Azure subscription (default: the only one; asked on a terminal when there are several)",
    },
    { flags: "--location <location>", description: "Azure region for new resources (default: eastus)" },
    {
      flags: "--registry-name <name>",
      description: "Azure: use or create this container registry instead of prefix + suffix",
    },
  ],
  customizePrompt:
    "Would you like to customize the resource names for your infrastructure? This includes a resource group, an app " +
    "registration, a container registry prefix, an identity and the credentials block.",
  names: [
    nameOption("resourceGroup", "--resource-group", {
      prompt: "Please enter a name for the resource group",
      what: "Resource group name",
      rule: AZURE_NAME_RULES.resourceGroup,
      fixed: "prefect-aci-push-pool-rg",
    }),
    nameOption("app", "--app-name", {
      prompt: "Please enter a name for the app registration",
      what: "App registration name",
      rule: AZURE_NAME_RULES.appDisplayName,
      fixed: "prefect-aci-push-pool-app",
    }),
    nameOption("registryPrefix", "--registry-name-prefix", {
      prompt: "Please enter a prefix for the Azure Container Registry",
      what: "Registry name prefix",
      rule: AZURE_NAME_RULES.registryPrefix,
      fixed: "prefect",
    }),
    nameOption("identity", "--identity-name", {
      prompt: "Please enter a name for the identity (used for ACR access)",
      what: "Identity name",
      rule: AZURE_NAME_RULES.identity,
      fixed: "prefect-acr-identity",
    }),
    blockNameOption("push-pool-credentials", "Please enter a name for the ACI credentials block"),
  ],
  async prepare(flags) {
    const str = (k: string) => (typeof flags[k] === "string" && flags[k] ? String(flags[k]).trim() : undefined);
    const registry = str("registryName");
    if (registry) checkName("Registry name", "--registry-name", registry, AZURE_NAME_RULES.registry);
    return { location: checkLocation(str("location") ?? DEFAULT_LOCATION) };
  },
  async choose(flags, ui) {
    if (typeof flags.subscription === "string" && flags.subscription) return {};
    const { chooseSubscription } = await import("./index.js");
    return { subscription: await chooseSubscription(ui) };
  },
  async load(input) {
    const { createAciProvisionerFromInput } = await import("./index.js");
    return createAciProvisionerFromInput(input);
  },
};
