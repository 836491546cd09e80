/**
 * What wp waits for on Google Cloud, and how long (the engine's bounded waits, wait.ts):
 * - a new service account becomes visible to IAM's other calls within about a minute, sometimes
 *   more (https://cloud.google.com/iam/docs/service-accounts-create#creating): up to 5 minutes;
 * - a new key is accepted within about a minute (https://cloud.google.com/iam/docs/keys-create-delete#creating):
 *   up to 5 minutes;
 * - a new role grant takes effect typically within 2 minutes, sometimes 7 or more
 *   (https://cloud.google.com/iam/docs/access-change-propagation): up to 10 minutes;
 * - a long-running operation ends within 10 minutes, or wp stops waiting; its `error` stops the wait at once;
 * - transient answers are tried again with backoff, honouring Retry-After
 *   (https://cloud.google.com/apis/design/errors#handling_errors): any call answered 429 or 503 (not
 *   carried out), and an operation poll also on 500/502/504 or a dropped connection (a read); a dropped
 *   connection to a create is not resent (the credential guard finds a key whose answer was lost).
 */
import { waitUntil } from "../../engine/wait.js";
import { serviceAccountToken } from "./run-api.js";

export const SERVICE_ACCOUNT_WAIT = {
  timeoutMs: 5 * 60_000,
  why: "Google makes a new service account visible to its other calls within about a minute, sometimes more",
};
export const KEY_WAIT = {
  timeoutMs: 5 * 60_000,
  why: "Google accepts a new service-account key within about a minute, sometimes more",
};
export const ROLE_WAIT = {
  timeoutMs: 10 * 60_000,
  why: "Google applies new IAM role grants typically within 2 minutes, sometimes 7 or more",
};

/**
 * Runs `fn` until it succeeds, while `retryable` names a reason to wait (eventual consistency right
 * after a create or an enable), within a deadline, saying once what it waits for and why. Any other
 * error stops at once.
 */
export function settle<T>(
  fn: () => Promise<T>,
  retryable: (err: unknown) => string | null,
  o: { what: string; why: string; timeoutMs: number; intervalMs: number; note: (m: string) => void },
): Promise<T> {
  return waitUntil({
    what: o.what,
    why: o.why,
    timeoutMs: o.timeoutMs,
    intervalMs: o.intervalMs,
    note: o.note,
    async attempt() {
      try {
        return { done: true, value: await fn() };
      } catch (err) {
        const reason = retryable(err);
        if (!reason) throw err;
        return { done: false, reason };
      }
    },
  });
}

/** Waits until Google issues a token for a new key (null), or returns the last refusal when the deadline passes. */
export async function keyAccepted(
  info: Record<string, unknown>,
  env: Record<string, string | undefined>,
  o: { intervalMs: number; note: (m: string) => void; timeoutMs?: number },
): Promise<string | null> {
  const id = typeof info.private_key_id === "string" ? info.private_key_id : "";
  const email = typeof info.client_email === "string" ? info.client_email : "its service account";
  try {
    await waitUntil({
      what: `the new key ${id} of ${email} to be accepted`,
      why: KEY_WAIT.why,
      timeoutMs: o.timeoutMs ?? KEY_WAIT.timeoutMs,
      intervalMs: o.intervalMs,
      note: o.note,
      attempt: () =>
        serviceAccountToken(info, env).then(
          () => ({ done: true as const, value: null }),
          (err: unknown) => ({ done: false as const, reason: err instanceof Error ? err.message : String(err) }),
        ),
    });
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
