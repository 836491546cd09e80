import { readFileSync } from "node:fs";

/** Reads a JSON file bundled in the package's `data/` folder (works from src/ and dist/). */
export function readData<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../data/${name}`, import.meta.url), "utf8")) as T;
}
