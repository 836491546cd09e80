/** Adapts the CLI's provider input (registry.ts) to createEcsProvisioner's options. */
import type { ProviderInput } from "../../engine/provider.js";
import type { Provisioner } from "../../engine/types.js";
import { createEcsProvisioner, type EcsNames } from "./index.js";

const KEYS: Array<keyof EcsNames> = ["iamUser", "iamPolicy", "cluster", "vpc", "securityGroup", "repository", "block"];

export function createEcsProvisionerFromInput(input: ProviderInput): Provisioner {
  const names: Partial<EcsNames> = {};
  for (const key of KEYS) {
    const value = input.names[key];
    if (value) names[key] = value;
  }
  const flag = (k: string) =>
    typeof input.flags[k] === "string" && input.flags[k] ? String(input.flags[k]) : undefined;
  const region = flag("region");
  const profile = flag("awsProfile");
  return createEcsProvisioner({
    poolName: input.poolName,
    prefect: input.prefect,
    names,
    env: input.env,
    guard: input.guard,
    warn: input.note,
    ...(region ? { region } : {}),
    ...(profile ? { profile } : {}),
  });
}
