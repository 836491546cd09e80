/**
 * AWS is eventually consistent (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency):
 * right after wp creates a user, role or policy, IAM may still answer NoSuchEntity for it; a new
 * access key is refused (InvalidClientTokenId) for a few seconds; ECS may be unable to assume a
 * new execution role. Each wait here is bounded, says on the progress line what it waits for and
 * why (only when it has to wait), and stops at once on any other answer.
 */
import { type Attempt, waitUntil } from "../../engine/wait.js";
import { awsErrorCode } from "./call.js";
import { NO_SUCH } from "./names.js";

export const IAM_CONSISTENCY = "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html";

/** How long IAM may take to show a new user, role or policy. */
export const ENTITY_WAIT_MS = 90_000;
/** How long a new access key may be refused. */
export const KEY_WAIT_MS = 60_000;
/** How long ECS may be unable to assume a new execution role. */
export const ROLE_WAIT_MS = 120_000;
/** A key or role younger than this may still be propagating; an older one that fails has failed. */
export const NEW_FOR_MS = 15 * 60_000;

/** Answers a new access key gets until it has propagated. */
export const KEY_NOT_YET = new Set(["InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId"]);

type Note = (message: string) => void;

/** Runs `fn`, which names an IAM entity just created, until IAM stops answering NoSuchEntity for it. */
export function afterCreate<T>(
  what: string,
  note: Note,
  fn: () => Promise<T>,
  signal?: AbortSignal,
  timeoutMs = ENTITY_WAIT_MS,
): Promise<T> {
  return waitUntil({
    what: `IAM to show ${what}`,
    why: "IAM is eventually consistent: a new user, role or policy can be missing for a few seconds",
    timeoutMs,
    note,
    signal,
    hint: `IAM still does not show ${what}; see ${IAM_CONSISTENCY}, then run the command again.`,
    async attempt(): Promise<Attempt<T>> {
      try {
        return { done: true, value: await fn() };
      } catch (err) {
        if (NO_SUCH.includes(awsErrorCode(err) ?? "")) return { done: false, reason: "NoSuchEntity" };
        throw err;
      }
    },
  });
}

/** Reads until the entity shows (an "already exists" answer said it is there; IAM's reads may lag). */
export function untilFound<T>(what: string, note: Note, read: () => Promise<T | null>): Promise<T> {
  return afterCreate(what, note, async () => {
    const found = await read();
    if (found === null) throw Object.assign(new Error(`${what} not found yet`), { name: "NoSuchEntity" });
    return found;
  });
}

/** Whether a creation time is recent enough that a failure may still be propagation. */
export const isNew = (created: Date | undefined, now = Date.now()): boolean =>
  created !== undefined && now - created.getTime() < NEW_FOR_MS;
