/** What an ACI pool's job template says about its resources (cheap: no SDK), for pools without a record. */
import { stringDefault, templateDefault } from "../../engine/lifecycle-types.js";
import type { WorkPool } from "../../prefect/types.js";

/** The template's `image_registry` (registry URL and identity), as Prefect's ACI template holds it. */
export function imageRegistry(pool: WorkPool): { registryUrl?: string; identity?: string } {
  const v = templateDefault(pool, "image_registry") as { registry_url?: unknown; identity?: unknown } | undefined;
  return {
    ...(typeof v?.registry_url === "string" && v.registry_url ? { registryUrl: v.registry_url } : {}),
    ...(typeof v?.identity === "string" && v.identity ? { identity: v.identity } : {}),
  };
}

/** The identities a pool's template names (`identities`, and `image_registry.identity`). */
export function identitiesOf(pool: WorkPool): string[] {
  const v = templateDefault(pool, "identities");
  const list = Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && x !== "") : [];
  const fromRegistry = imageRegistry(pool).identity;
  return fromRegistry && !list.includes(fromRegistry) ? [...list, fromRegistry] : list;
}

/**
 * The names a record-less pool's template shows: its resource group, identity, registry (the login
 * server's first label) and subscription (the last two are read as settings by the provisioner).
 */
export function aciNamesFromTemplate(pool: WorkPool): Record<string, string> {
  const rg = stringDefault(pool, "resource_group_name");
  const identity = identitiesOf(pool)[0]?.split("/").filter(Boolean).pop();
  const subscription = stringDefault(pool, "subscription_id");
  const registry = imageRegistry(pool).registryUrl?.split(".")[0];
  return {
    ...(rg ? { resourceGroup: rg } : {}),
    ...(identity ? { identity } : {}),
    ...(subscription ? { subscription } : {}),
    ...(registry ? { registry } : {}),
  };
}
