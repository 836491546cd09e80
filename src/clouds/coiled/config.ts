/**
 * Coiled token discovery as dask's config does it: DASK_COILED__TOKEN, else `coiled.token` in the
 * YAML files of the dask config folder (DASK_CONFIG, default ~/.config/dask).
 */
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { readConfigFile } from "../../config-file.js";
import type { Env } from "../../prefect/settings.js";

export interface CoiledToken {
  token: string;
  source: string;
}

export function daskConfigDir(env: Env): string {
  return env.DASK_CONFIG || join(env.HOME || homedir(), ".config", "dask");
}

export async function findCoiledToken(env: Env): Promise<CoiledToken | null> {
  if (env.DASK_COILED__TOKEN) return { token: env.DASK_COILED__TOKEN, source: "DASK_COILED__TOKEN" };
  const dir = daskConfigDir(env);
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort();
  if (files.length === 0) return null;
  let found: CoiledToken | null = null;
  for (const f of files) {
    const path = join(dir, f);
    const doc = await readConfigFile(path, "yaml", "the dask config", "Fix the file or set DASK_COILED__TOKEN.");
    const coiled = (doc as { coiled?: { token?: unknown } } | null)?.coiled;
    if (coiled && typeof coiled.token === "string" && coiled.token)
      found = { token: coiled.token, source: `coiled.token in ${path}` };
  }
  return found;
}
