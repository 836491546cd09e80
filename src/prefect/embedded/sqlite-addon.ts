/**
 * Where better-sqlite3's native addon is, found directly. Left to itself, better-sqlite3 asks the `bindings`
 * package, which reads a stack trace to find the package and then tries up to 13 paths, each a failed require
 * that builds an error: tens of ms of every embedded command's start-up. Here, two stats: the build for this
 * very Node (compiled/<node version>/<platform>/<arch>/, where scripts/node24.sh keeps one build per Node so
 * CI runs the suite on two), else the one npm's install made (build/Release/). Neither: `bindings` as before.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let found: { nativeBinding?: string } | undefined;

export function sqliteAddon(): { nativeBinding?: string } {
  if (found) return found;
  found = {};
  try {
    // better-sqlite3's main is lib/index.js.
    const pkg = dirname(dirname(fileURLToPath(import.meta.resolve("better-sqlite3"))));
    const { versions, platform, arch } = process;
    for (const p of [
      join(pkg, "compiled", versions.node, platform, arch, "better_sqlite3.node"),
      join(pkg, "build", "Release", "better_sqlite3.node"),
    ]) {
      if (existsSync(p)) {
        found = { nativeBinding: p };
        break;
      }
    }
  } catch {
    // Not resolvable here: better-sqlite3 finds its addon itself.
  }
  return found;
}
