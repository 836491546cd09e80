#!/usr/bin/env node
// Node 22.1+ caches the compiled bundle on disk (as npm does); Node 20 has no enableCompileCache and skips it.
import module from "node:module";

module.enableCompileCache?.();
await import("../dist/bin.js");
