/**
 * Which provider serves which work pool type, and the CLI flags they add. Each provider folder
 * declares its own provider (types, flags, names and their rules, prompts); this only lists them.
 * Provisioner code (and its cloud SDK) is imported only when it runs.
 */
import type { OptionSpec } from "../commands/spec.js";
import type { Provider } from "../engine/provider.js";
import { UsageError } from "../errors.js";
import { pyRepr } from "../ui/io.js";
import { ecsProvider } from "./aws/provider.js";
import { aciProvider } from "./azure/provider.js";
import { coiledProvider } from "./coiled/provider.js";
import { cloudRunProvider } from "./gcp/provider.js";
import { modalProvider } from "./modal/provider.js";

export type { NameOption, Provider, ProviderInput } from "../engine/provider.js";

export const providers: Provider[] = [ecsProvider, aciProvider, cloudRunProvider, modalProvider, coiledProvider];

export function providerFor(type: string): Provider | undefined {
  return providers.find((p) => p.types.includes(type));
}

/** The provider for a type, or a usage error listing the types that can be provisioned. */
export function requireProvider(type: string): Provider {
  const provider = providerFor(type);
  if (!provider) {
    const supported = providers.flatMap((p) => p.types).join(", ");
    throw new UsageError(
      `Automatic infrastructure provisioning is not supported for ${pyRepr(type)} work pools.`,
      `Types that can be provisioned: ${supported}.`,
    );
  }
  return provider;
}

/** A prompt as a flag description: "Enter a name for the IAM user (manages ECS tasks)" → "name for the IAM user". */
const short = (prompt: string) => prompt.replace(/^(Please )?enter a /i, "").replace(/ \(.*/, "");

/**
 * Every provider flag, once. A name flag several providers share (`--repository-name`) describes
 * each provider's resource and default; the block name lists each type's default.
 */
export function providerOptions(): OptionSpec[] {
  const out = new Map<string, OptionSpec>();
  const names = new Map<string, string[]>();
  for (const p of providers) {
    for (const o of p.options) if (!out.has(o.flags)) out.set(o.flags, o);
    for (const n of p.names) {
      const text =
        n.key === "block"
          ? n.defaultFor("pool").replace(/^pool-/, "<pool>-")
          : `${p.title}: ${short(n.prompt)} (default: ${n.defaultFor("<pool>")})`;
      names.set(n.flag, [...(names.get(n.flag) ?? []), text]);
    }
  }
  for (const [flags, texts] of names) {
    const description = flags.startsWith("--credentials-block-name")
      ? `name of the Prefect credentials block (default: ${texts.join(", ")})`
      : texts.join("; ");
    out.set(flags, { flags, description });
  }
  return [...out.values()];
}

/** The provider-wide flags (region, profiles), without the resource-name flags (the lifecycle commands'). */
export function lifecycleOptions(): OptionSpec[] {
  const seen = new Map<string, OptionSpec>();
  for (const p of providers) for (const o of p.options) if (!seen.has(o.flags)) seen.set(o.flags, o);
  return [...seen.values()];
}
