import { existsSync, readFileSync } from "node:fs";
import { UsageError } from "./errors.js";

/**
 * Reads a TOML or YAML configuration file (parsers load on first use). Returns null when the file
 * does not exist; a file that does not parse is a usage error naming it, `what` it is, and the fix.
 */
export async function readConfigFile(
  path: string,
  format: "toml" | "yaml",
  what: string,
  hint: string,
): Promise<unknown | null> {
  if (!existsSync(path)) return null;
  const text = readFileSync(path, "utf8");
  try {
    return format === "toml" ? (await import("smol-toml")).parse(text) : (await import("yaml")).parse(text);
  } catch (err) {
    throw new UsageError(`Cannot read ${what} ${path}: ${(err as Error).message.split("\n")[0]}.`, hint);
  }
}
