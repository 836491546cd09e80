/**
 * Which provider serves which work pool type, and the CLI flags they add. Each provider folder
 * declares its own provider (types, flags, names and their rules, prompts); this only lists them.
 * Provisioner code (and its cloud SDK) is imported only when it runs.
 */
import type { OptionSpec } from "../commands/spec.js";
import { aciProvider } from "./aci/provider.js";
import { coiledProvider } from "./coiled/provider.js";
import { ecsProvider } from "./ecs/provider.js";
import { modalProvider } from "./modal/provider.js";
import type { Provider } from "./provider.js";

export type { NameOption, Provider, ProviderInput } from "./provider.js";

export const providers: Provider[] = [ecsProvider, modalProvider, coiledProvider, aciProvider];

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
