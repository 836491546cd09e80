/** Adapts the CLI's provider input (registry.ts) to createEcsProvisioner's options. */
import type { ProviderInput } from "../../engine/provider.js";
import type { Provisioner } from "../../engine/types.js";
import { createEcsProvisioner, type EcsNames } from "./index.js";
import { BLOCK_TYPE } from "./names.js";

const KEYS: Array<keyof EcsNames> = [
  "iamUser",
  "iamPolicy",
  "cluster",
  "vpc",
  "securityGroup",
  "repository",
  "block",
  "role",
];

export async function createEcsProvisionerFromInput(input: ProviderInput): Promise<Provisioner> {
  const names: Partial<EcsNames> = {};
  for (const key of KEYS) {
    const value = input.names[key];
    if (value) names[key] = value;
  }
  const flag = (k: string) =>
    typeof input.flags[k] === "string" && input.flags[k] ? String(input.flags[k]) : undefined;
  // A pool without a record (or region) is read where its block says its key works.
  let region = flag("region");
  if (!region && input.mode === "read" && names.block) {
    const data = (await input.prefect.readBlockDocument(BLOCK_TYPE, names.block))?.data ?? {};
    if (typeof data.region_name === "string" && data.region_name) region = data.region_name;
  }
  const profile = flag("awsProfile");
  return createEcsProvisioner({
    poolName: input.poolName,
    mode: input.mode,
    prefect: input.prefect,
    names,
    env: input.env,
    guard: input.guard,
    warn: input.note,
    progress: input.note,
    ...(input.debug ? { debug: input.debug } : {}),
    ...(region ? { region } : {}),
    ...(profile ? { profile } : {}),
  });
}
