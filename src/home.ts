import { homedir } from "node:os";
import { join } from "node:path";

/** wp's data folder: `WP_HOME`, default `~/.wp` (the embedded API's store, locks, the credential journal). */
export function wpHome(env: Record<string, string | undefined>): string {
  return env.WP_HOME || join(homedir(), ".wp");
}
