// Builds the shipped CLI: one esbuild bundle of src/ (ESM, code splitting, packages external but zod) into dist/.
// Type checking is tsc's (`npm run typecheck`); this only transpiles and bundles.
//
// - dist/bin.js is the entry; what src/ imports dynamically (cloud SDK adapters, the embedded API and SQLite,
//   the HTTP client and zod, the prompts and ora) stays in chunks that load only when a command needs them.
// - dist/embedded-api.js is a second entry (the embedded API, for the start-up bench's seeding).
// - Every output sits directly in dist/, so a source file's `new URL("../…/data/x", import.meta.url)` is
//   rewritten to the same target seen from dist/ (`../data/x`); the build fails on any other use.
// - dist/metafile.json maps each output to the src/ modules in it (the tests that check what start-up loads).
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { build } from "esbuild";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const src = join(root, "src");
const dist = join(root, "dist");
const { dependencies } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
// Every package stays external (installed beside wp, loaded by Node) except zod: `import { z } from "zod"`
// loads 94 files (every locale) for the remote-API shape checks; bundled and tree-shaken into that lazy
// chunk it costs one file, and `wp ls` against a server 30-40 ms and 3-5 MB less.
// And better-sqlite3's JavaScript (14 CommonJS files that `wp ls` would otherwise find, read and wrap one by
// one); its native addon is still loaded from the installed package (src/prefect/embedded/sqlite-addon.ts),
// and `bindings`, its fallback way to find it, stays external.
const INLINE = new Set(["zod", "commander", "better-sqlite3"]);
const external = [
  ...Object.keys(dependencies)
    .filter((name) => !INLINE.has(name))
    .flatMap((name) => [name, `${name}/*`]),
  "bindings",
];

/**
 * Node's built-in modules and better-sqlite3 through `require`, not `import`. An ESM import of a built-in
 * builds its ESM facade, which reads every export, and some exports are getters that load more: node:fs
 * loads the streams, node:crypto the Web Crypto implementation, node:http (on Node 24) undici. An ESM import
 * of a CommonJS package (better-sqlite3) runs Node's export lexer over its source first. `require` (the
 * banner's createRequire) does neither. Rewritten in the source, so no chunk is made per module.
 */
const REQUIRED =
  /^import\s+(?!type\s)([\w$]+\s*,\s*)?(\*\s+as\s+[\w$]+|\{[^}]*\}|[\w$]+)\s+from\s+"(node:[a-z_/]+|better-sqlite3)";/gm;
function requireImports(text) {
  return text.replace(REQUIRED, (_m, first, clause, mod) => {
    const req = `require(${JSON.stringify(mod)})`;
    const out = [];
    if (first) out.push(`const ${first.replace(/\s*,\s*$/, "")} = ${req};`);
    if (clause.startsWith("*")) out.push(`const ${clause.replace(/^\*\s+as\s+/, "")} = ${req};`);
    else if (clause.startsWith("{")) {
      const names = clause
        .slice(1, -1)
        .split(",")
        .map((n) => n.trim())
        .filter((n) => n && !n.startsWith("type "))
        .map((n) => n.replace(/\s+as\s+/, ": "));
      if (names.length) out.push(`const { ${names.join(", ")} } = ${req};`);
    } else out.push(`const ${clause} = ${req};`);
    return out.join(" ");
  });
}

/**
 * For every src/ file: the imports above, and `new URL("<literal>", import.meta.url)` re-aimed from dist/
 * (where every output sits) at the same file.
 */
const srcPlugin = {
  name: "wp-src",
  setup(b) {
    b.onLoad({ filter: /\/src\/.*\.ts$/ }, srcLoad);
  },
};

/**
 * The CommonJS dependencies (no `"type": "module"`: the AWS SDK, @googleapis/*, …) are loaded with `require`
 * where src/ says `import("pkg")`. Node's `import()` of a CommonJS file first decides its format (Node 20.19+
 * and 22 compile the source to look for ESM syntax) and runs the export lexer over it: for
 * @aws-sdk/client-ec2 0.94 s against 0.56 s by `require`, and an ECS re-run spent ~0.4 s of its 1.2 s there.
 */
const COMMONJS = Object.keys(dependencies).filter(
  (name) => JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).type !== "module",
);
// Not in a type (`typeof import("x")`, `import("x").Client`); `import("x").then(…)` is an expression.
const DYNAMIC_IMPORT = /(?<!typeof\s+)\bimport\("([^"./][^"]*)"\)(?!\.(?!then\b))/g;
function requireCommonJs(text) {
  return text.replace(DYNAMIC_IMPORT, (m, spec) =>
    COMMONJS.some((name) => spec === name || spec.startsWith(`${name}/`))
      ? `Promise.resolve().then(() => require(${JSON.stringify(spec)}))`
      : m,
  );
}

function srcLoad(args) {
  const text = requireCommonJs(requireImports(readFileSync(args.path, "utf8")));
  if (!text.includes("import.meta.url")) return { contents: text, loader: "ts" };
  const fileDir = dirname(args.path);
  let rewritten = 0;
  const out = text.replace(/new URL\((["'`])([^"'`$]*)\1,\s*import\.meta\.url\)/g, (_m, q, rel) => {
    rewritten += 1;
    return `new URL(${q}${relative(dist, resolve(fileDir, rel))}${q}, import.meta.url)`;
  });
  // Any other use is right from dist/ only in a file directly in src/.
  if (fileDir !== src && out.split("import.meta.url").length - 1 > rewritten)
    throw new Error(`${relative(root, args.path)}: import.meta.url other than new URL("<literal>", import.meta.url)`);
  return { contents: out, loader: "ts" };
}

/**
 * commander requires node:child_process at load (for executable subcommands, which wp has none of), and
 * that loads net, dgram and more on every start: here it is read on first use only.
 */
const lazyChildProcessPlugin = {
  name: "wp-lazy-child-process",
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[/\\]node_modules[/\\]commander[/\\]/.test(args.importer)
        ? { path: "child_process", namespace: "wp-lazy" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "wp-lazy" }, () => ({
      contents: `module.exports = { spawn: (...a) => process.getBuiltinModule("node:child_process").spawn(...a) };`,
      loader: "js",
    }));
  },
};

/**
 * Pass 2's plugin: every module that src/ imports with import() also imports "wp-core", a module that imports
 * everything dist/bin.js loads at start-up. esbuild puts a module in a chunk per set of entry points that reach
 * it; left alone, the start-up modules that some lazy chunk also uses scatter over a dozen small shared chunks,
 * and each file costs Node's ESM loader about 1 ms. Reached from every entry point, they share one chunk.
 * (They are loaded before any lazy chunk is, so the extra import loads nothing more.)
 */
const binEntry = join(root, "src/bin.ts");

function corePlugin(core, lazy) {
  return {
    name: "wp-core",
    setup(b) {
      b.onResolve({ filter: /^wp-core$/ }, () => ({ path: "wp-core", namespace: "wp-core" }));
      b.onLoad({ filter: /.*/, namespace: "wp-core" }, () => ({
        contents: core.map((f) => `import ${JSON.stringify(f)};`).join("\n"),
        loader: "js",
        resolveDir: root,
      }));
      b.onLoad({ filter: /\/src\/.*\.ts$/ }, async (args) => {
        const r = await srcLoad(args);
        // And from the entry itself, so "wp-core" (its wrappers of commander's CommonJS) is in that chunk too.
        return lazy.has(args.path) || args.path === binEntry
          ? { ...r, contents: `${r.contents}\nimport "wp-core";\n` }
          : r;
      });
    },
  };
}

const options = (plugins) => ({
  absWorkingDir: root,
  entryPoints: { bin: "src/bin.ts", "embedded-api": "src/prefect/embedded/api.ts" },
  outdir: dist,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20.19",
  external,
  chunkNames: "[name]-[hash]",
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "eof",
  // For commander (CommonJS) and the imports rewritten to require: a require in every ESM output file.
  banner: {
    js: 'const require = process.getBuiltinModule("node:module").createRequire(import.meta.url);',
  },
  metafile: true,
  logLevel: "warning",
  plugins,
});

// Pass 1: which modules start-up loads (dist/bin.js and the chunks it imports), and which are loaded lazily.
const first = await build({ ...options([srcPlugin, lazyChildProcessPlugin]), write: false });
const { inputs, outputs } = first.metafile;
const startup = new Set();
const walk = (out) => {
  if (startup.has(out)) return;
  startup.add(out);
  for (const i of outputs[out].imports) if (i.kind === "import-statement" && !i.external) walk(i.path);
};
walk("dist/bin.js");
const core = [...startup]
  .flatMap((out) => Object.keys(outputs[out].inputs))
  .filter((f) => f !== "src/bin.ts" && !f.includes(":"))
  .map((f) => join(root, f));
// And what `wp ls` and most commands load next, though start-up itself does not (the embedded API's shared
// parts among them): in the start-up chunk they cost a few KB of parsing; each in a chunk of its own cost
// a file (`wp ls` on the embedded store loaded 12 files of dist/, now 5).
for (const f of [
  "src/commands/spec.ts",
  "src/context.ts",
  "src/data.ts",
  "src/prefect/block-catalog.ts",
  "src/prefect/embedded/jsonschema.ts",
  "src/prefect/template.ts",
  "src/ui/table.ts",
])
  core.push(join(root, f));
const lazy = new Set(
  Object.values(inputs).flatMap((i) =>
    i.imports.filter((x) => x.kind === "dynamic-import" && !x.external).map((x) => join(root, x.path)),
  ),
);
lazy.add(join(root, "src/prefect/embedded/api.ts"));

rmSync(dist, { recursive: true, force: true });
const result = await build(options([corePlugin(core, lazy), srcPlugin, lazyChildProcessPlugin]));
writeFileSync(join(dist, "metafile.json"), JSON.stringify(result.metafile));

// `wp --help` as the built CLI renders it at 80 columns (piped) and 100 (a terminal that wide or wider; help
// depends on nothing else), served by bin/wp.js without loading the CLI; test/commands/help-prerendered checks.
const startupChunk = /from"(\.\/chunk-[\w-]+\.js)"/.exec(readFileSync(join(dist, "bin.js"), "utf8"))?.[1];
const { main } = await import(join(dist, startupChunk ?? "missing.js"));
for (const width of [80, 100]) {
  let text = "";
  const out = { write: (t) => (text += t), isTTY: width !== 80, columns: width === 80 ? undefined : width };
  const err = { write: () => {}, isTTY: false, columns: undefined };
  const code = await main(["--help"], { io: { stdout: out, stderr: err, stdinIsTTY: false }, env: {}, cwd: root });
  if (code !== 0 || !text.startsWith("Usage: wp")) throw new Error(`wp --help at ${width} columns failed (${code})`);
  writeFileSync(join(dist, `help-${width}.txt`), text);
}
