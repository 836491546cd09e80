/**
 * Bounded waiting, shared by every cloud: clouds are eventually consistent (a new role, key or
 * principal works seconds to minutes after it is created; a listing can be stale; a long-running
 * operation ends later). Every wait here has a deadline, polls with backoff, says once on the
 * progress line what it waits for and why (only when it actually has to wait, so a wait costs
 * nothing when nothing lags), and stops at once on a terminal failure.
 */
import { WpError } from "../errors.js";

export { retryAfterMs } from "../prefect/http.js";

/** One try: done with a value, or not yet (with the reason seen, for the progress line and the timeout). */
export type Attempt<T> = { done: true; value: T } | { done: false; reason?: string };

export interface WaitOptions<T> {
  /** What is awaited, completing "Waiting for …": "the new access key to work". */
  what: string;
  /** Why it can take time, e.g. "new IAM access keys take a few seconds to propagate". */
  why: string;
  /** Give up after this long. */
  timeoutMs: number;
  /** First pause between tries (default 250 ms), doubled up to `maxIntervalMs` (default 5 s). */
  intervalMs?: number;
  maxIntervalMs?: number;
  /** The progress line (stderr). */
  note(message: string): void;
  signal?: AbortSignal | undefined;
  /** One read. Throw to stop waiting (a terminal failure: the resource failed, access was refused for good). */
  attempt(): Promise<Attempt<T>>;
  /** The fix printed when the deadline passes. */
  hint?: string;
}

export async function waitUntil<T>(o: WaitOptions<T>): Promise<T> {
  const started = Date.now();
  const deadline = started + o.timeoutMs;
  let pause = o.intervalMs ?? 250;
  let told = false;
  let reason: string | undefined;
  for (;;) {
    const a = await o.attempt();
    if (a.done) return a.value;
    reason = a.reason ?? reason;
    if (Date.now() + pause > deadline) {
      const secs = Math.round((Date.now() - started) / 1000);
      throw new WpError(
        `Gave up after ${secs} s waiting for ${o.what}${reason ? ` (last answer: ${reason})` : ""}.`,
        o.hint ?? `${capitalise(o.why)}; run the command again in a few minutes.`,
      );
    }
    if (!told) {
      told = true;
      o.note(`Waiting for ${o.what} (${o.why}; up to ${formatDuration(o.timeoutMs)})...`);
    }
    await sleep(pause, o.signal);
    pause = Math.min(pause * 2, o.maxIntervalMs ?? 5000);
  }
}

/** A transient failure worth another try, and how long the service asked us to wait (Retry-After). */
export interface Transient {
  retryAfterMs?: number | undefined;
  reason: string;
}

export interface RetryOptions {
  /** Classifies an error: transient (retry) or not (undefined: rethrow at once). */
  transient(err: unknown): Transient | undefined;
  /** Tries in all (default 5). */
  attempts?: number;
  /** First backoff (default 500 ms), doubled each time, capped at 20 s; Retry-After wins when given. */
  baseMs?: number;
  note?(message: string): void;
  signal?: AbortSignal | undefined;
  /** For the progress line: "reading the container group". */
  what: string;
}

/** Runs `fn`, retrying transient failures (429, 503, a dropped connection) with backoff. */
export async function retryTransient<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  const attempts = o.attempts ?? 5;
  let pause = o.baseMs ?? 500;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const t = i < attempts ? o.transient(err) : undefined;
      if (!t) throw err;
      const wait = Math.min(t.retryAfterMs ?? pause, 60_000);
      o.note?.(`${capitalise(o.what)}: ${t.reason}; trying again in ${formatDuration(wait)}...`);
      await sleep(wait, o.signal);
      pause = Math.min(pause * 2, 20_000);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
