/**
 * Which provisioner serves which work pool type, the CLI flags each adds, and the resource names a
 * user may change. Provisioner code (and its cloud SDK) is imported only when it runs.
 */
import type { OptionSpec } from "../commands/spec.js";
import type { PrefectApi } from "../prefect/api.js";
import type { Env } from "../prefect/settings.js";
import type { Prompter } from "../ui/prompts.js";
import type { Provisioner } from "./types.js";

export interface NameOption {
  /** Key in the provider's names object, e.g. "iamUser". */
  key: string;
  /** CLI flag, e.g. "--iam-user-name <name>". */
  flag: string;
  /** Commander's camelCase property for the flag. */
  prop: string;
  /** Prefect's prompt text on a terminal. */
  prompt: string;
  defaultFor(pool: string): string;
}

export interface ProviderInput {
  poolName: string;
  names: Record<string, string>;
  /** The block name was derived from the pool name (not given with a flag or at a prompt). */
  derivedBlockName: boolean;
  flags: Record<string, unknown>;
  env: Env;
  prefect: PrefectApi;
  interactive: boolean;
  prompts: Prompter;
  note(message: string): void;
}

export interface Provider {
  id: string;
  /** Human name of the cloud, e.g. "AWS ECS". */
  title: string;
  types: string[];
  /** Credentials block type the provisioner writes. */
  blockType: string;
  /** Provider-wide flags (region, profiles). */
  options: OptionSpec[];
  names: NameOption[];
  /** The prompt asking whether to customise names (Prefect's wording). */
  customizePrompt?: string;
  load(input: ProviderInput): Promise<Provisioner>;
}

const ecs: Provider = {
  id: "ecs",
  title: "AWS ECS",
  types: ["ecs:push", "ecs"],
  blockType: "aws-credentials",
  options: [
    { flags: "--region <region>", description: "AWS region (default: AWS_REGION, then the AWS profile's region)" },
    { flags: "--aws-profile <name>", description: "AWS shared-config profile (default: AWS_PROFILE)" },
  ],
  customizePrompt:
    "Would you like to customize the resource names for your infrastructure? This includes an IAM user, IAM policy, " +
    "ECS cluster, VPC, ECS security group, and ECR repository.",
  names: [
    name("iamUser", "--iam-user-name", "Enter a name for the IAM user (manages ECS tasks)", "prefect-ecs-user"),
    name(
      "iamPolicy",
      "--iam-policy-name",
      "Enter a name for the IAM policy (defines ECS task execution and image management permissions)",
      "prefect-ecs-policy",
    ),
    name("cluster", "--cluster-name", "Enter a name for the ECS cluster (hosts ECS tasks)", "prefect-ecs-cluster"),
    name("vpc", "--vpc-name", "Enter a name for the VPC (provides network isolation for ECS tasks)", "prefect-ecs-vpc"),
    name(
      "securityGroup",
      "--security-group-name",
      "Enter a name for the ECS security group (controls task network traffic)",
      "prefect-ecs-security-group",
    ),
    name(
      "repository",
      "--repository-name",
      "Enter a name for the ECR repository (stores Docker images for ECS tasks)",
      "prefect-flows",
    ),
    blockNameOption(
      "aws-credentials",
      "Enter a name for the Prefect AWS credentials block (stores AWS credentials in Prefect for managing ECS tasks)",
    ),
  ],
  async load(input) {
    const { createEcsProvisionerFromInput } = await import("./ecs/from-input.js");
    return createEcsProvisionerFromInput(input);
  },
};

function name(key: string, flag: string, prompt: string, fixed: string): NameOption {
  const prop = flag.replace(/^--/, "").replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
  return { key, flag: `${flag} <name>`, prop, prompt, defaultFor: () => fixed };
}

/** `<pool>-<suffix>` made a valid block name: lowercase letters, digits and single dashes. */
export function blockName(pool: string, suffix: string): string {
  const base = pool
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  return base ? `${base}-${suffix}` : suffix;
}

function blockNameOption(suffix: string, prompt: string): NameOption {
  return {
    key: "block",
    flag: "--credentials-block-name <name>",
    prop: "credentialsBlockName",
    prompt,
    defaultFor: (pool) => blockName(pool, suffix),
  };
}

const modal: Provider = {
  id: "modal",
  title: "Modal",
  types: ["modal:push"],
  blockType: "modal-credentials",
  options: [
    {
      flags: "--modal-profile <name>",
      description: "Modal profile in ~/.modal.toml (default: MODAL_PROFILE, then the active one)",
    },
  ],
  names: [blockNameOption("modal-credentials", "Enter a name for the Modal credentials block")],
  async load(input) {
    const { createModalProvisioner } = await import("./modal/index.js");
    return createModalProvisioner(input, input.derivedBlockName);
  },
};

const coiled: Provider = {
  id: "coiled",
  title: "Coiled",
  types: ["coiled:push"],
  blockType: "coiled-credentials",
  options: [],
  names: [blockNameOption("coiled-credentials", "Enter a name for the Coiled credentials block")],
  async load(input) {
    const { createCoiledProvisioner } = await import("./coiled/index.js");
    return createCoiledProvisioner(input, input.derivedBlockName);
  },
};

export const providers: Provider[] = [ecs, modal, coiled];

export function providerFor(type: string): Provider | undefined {
  return providers.find((p) => p.types.includes(type));
}

/** Every provider flag, once (flags shared by providers are listed once). */
export function providerOptions(): OptionSpec[] {
  const seen = new Set<string>();
  const out: OptionSpec[] = [];
  for (const p of providers) {
    const nameFlags = p.names.map((n) => ({
      flags: n.flag,
      description:
        n.key === "block"
          ? "name of the Prefect credentials block (default: <pool>-<aws|modal|coiled>-credentials)"
          : `${p.title}: ${n.prompt.replace(/^Enter a /, "").replace(/ \(.*/, "")} (default: ${n.defaultFor("<pool>")})`,
    }));
    for (const o of [...p.options, ...nameFlags]) {
      if (seen.has(o.flags)) continue;
      seen.add(o.flags);
      out.push(o);
    }
  }
  return out;
}
