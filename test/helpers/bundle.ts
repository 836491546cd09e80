/**
 * dist/ is an esbuild bundle: a loaded file such as dist/chunk-AB12.js holds several src/ modules.
 * `loadedModules` maps the URLs a `wp` process loaded back to the src/ modules in them (through the
 * build's dist/metafile.json), and keeps every other URL (node_modules, node: builtins) as it was.
 */
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

interface Metafile {
  outputs: Record<string, { inputs: Record<string, unknown> }>;
}

export function loadedModules(urls: string[], root = process.cwd()): string[] {
  const meta = JSON.parse(readFileSync(join(root, "dist", "metafile.json"), "utf8")) as Metafile;
  const out: string[] = [];
  for (const url of urls) {
    const path = url.startsWith("file:") ? relative(root, fileURLToPath(url)) : url;
    const output = meta.outputs[path];
    if (path.startsWith("dist/") && output) out.push(...Object.keys(output.inputs));
    else out.push(url);
  }
  return out;
}
