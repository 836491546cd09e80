/**
 * Node's built-in modules loaded on first use, not when a module is imported: `wp ls` never pays for
 * node:crypto (~6 ms on Node 20), and on Node 24 an ESM import of node:http would read every export, one of
 * them a getter that loads undici. The build turns `import … from "node:x"` into a require at the top of its
 * chunk; this does neither.
 */
import type * as Crypto from "node:crypto";

export const builtin = <T>(name: string) => process.getBuiltinModule(name) as T;

export const crypto = () => builtin<typeof Crypto>("node:crypto");
