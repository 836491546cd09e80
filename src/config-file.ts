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
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    // A directory, or a file wp may not read: one line naming it, not a stack.
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "EISDIR" ? "it is a directory, not a file" : code === "EACCES" ? "permission denied" : code;
    throw new UsageError(`Cannot read ${what} ${path}: ${why ?? (err as Error).message}.`, hint);
  }
  try {
    return format === "toml" ? (await import("smol-toml")).parse(text) : (await import("yaml")).parse(text);
  } catch (err) {
    throw new UsageError(`Cannot read ${what} ${path}: ${(err as Error).message.split("\n")[0]}.`, hint);
  }
}
