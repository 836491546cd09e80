/** Errors for answers that are not a Prefect API's (an HTML page, a login redirect, JSON of another shape). */
import { WpError } from "../errors.js";

/** The target answered something that is not Prefect's: exit 1, one line naming the URL. */
export class NotPrefectError extends WpError {}

/**
 * Text from a remote server made fit for one line on a terminal: control characters (newlines, escapes), Unicode
 * line separators and bidirectional overrides become spaces, runs of spaces collapse, and it is cut at `max` chars.
 */
export function oneLine(text: string, max = 300): string {
  const flat = text
    .replace(/[\p{Cc}\p{Zl}\p{Zp}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** `<target> answered <what> — is PREFECT_API_URL a Prefect API?` */
export function notPrefect(target: string, what: string): NotPrefectError {
  return new NotPrefectError(oneLine(`${target} answered ${what} — is PREFECT_API_URL a Prefect API?`, 600));
}
