#!/usr/bin/env node
// `wp --help` is pre-rendered at build time for a pipe (80 columns) and a terminal of 100 columns or more
// (dist/help-80.txt, help-100.txt): served without loading the CLI. Everything else loads the bundle.
// Node 22.1+ caches the compiled bundle on disk (as npm does); Node 20 has no enableCompileCache and skips it.
const argv = process.argv;
const helpAsked = argv.length === 3 && (argv[2] === "--help" || argv[2] === "-h");
const columns = helpAsked && process.stdout.isTTY ? process.stdout.columns : 80;
if (helpAsked && (columns === 80 || columns >= 100)) {
  const fs = process.getBuiltinModule("node:fs");
  let text;
  try {
    text = fs.readFileSync(new URL(`../dist/help-${columns === 80 ? 80 : 100}.txt`, import.meta.url));
  } catch {
    // No pre-rendered help (a partial build): the CLI renders it.
  }
  if (text) {
    try {
      fs.writeSync(1, text);
    } catch {
      // stdout closed early (`wp --help | head -1`): nothing more to say.
    }
    process.exit(0);
  }
}
process.getBuiltinModule("node:module").enableCompileCache?.();
await import("../dist/bin.js");
