/**
 * Ctrl-C and SIGTERM. Outside a critical section a signal ends wp at once (every provisioning step
 * is idempotent, so the next run converges). Inside one — a credential minted but not yet stored
 * in its block — the first signal lets the section finish (and stops new work from starting), and
 * wp exits as soon as it has; a third signal exits at once and leaves the cleanup to the next run's
 * journal recovery. bin.ts installs the handlers; in-process callers (tests) simply never get one.
 */

const controller = new AbortController();
/** Aborted on the first signal: the engine starts no new step once it is. */
export const interruptSignal: AbortSignal = controller.signal;

let depth = 0;
let received: NodeJS.Signals | null = null;
let count = 0;
let exitFn: ((code: number) => void) | null = null;
let say: (line: string) => void = () => {};

export const exitCodeFor = (signal: NodeJS.Signals): number => (signal === "SIGTERM" ? 143 : 130);

/** Called by bin.ts only: route SIGINT and SIGTERM through the rules above. */
export function installSignalHandlers(exit: (code: number) => void, write: (line: string) => void): void {
  exitFn = exit;
  say = write;
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => onSignal(signal));
}

let takeover: ((signal: NodeJS.Signals) => void) | null = null;

/**
 * A long-running command that stops cleanly on a signal (`wp server start`) handles it itself:
 * while `handler` is set, a signal calls it instead of ending wp. Returns the undo.
 */
export function onInterrupt(handler: (signal: NodeJS.Signals) => void): () => void {
  takeover = handler;
  return () => {
    if (takeover === handler) takeover = null;
  };
}

function onSignal(signal: NodeJS.Signals): void {
  if (takeover) {
    takeover(signal);
    return;
  }
  received ??= signal;
  count += 1;
  if (!controller.signal.aborted) controller.abort(new Error(`interrupted by ${signal}`));
  if (depth === 0 || count >= 3) {
    say(
      depth > 0
        ? "wp: stopping now; the next run deletes the credential this run could not store."
        : `wp: interrupted (${received}); run the same command again to finish what it started.`,
    );
    exitFn?.(exitCodeFor(received));
    return;
  }
  say(
    count === 1
      ? "wp: finishing the credential step first, so no key is left without the block that holds it..."
      : "wp: still finishing the credential step; press Ctrl-C once more to stop at once.",
  );
}

/** Ends wp now with the signal's exit code: a takeover handler's last resort (in-process runs: nothing). */
export function exitNow(signal: NodeJS.Signals): void {
  exitFn?.(exitCodeFor(signal));
}

/** Runs `fn` so that a signal waits for it; wp exits right after it if a signal came meanwhile. */
export async function critical<T>(fn: () => Promise<T>): Promise<T> {
  depth += 1;
  try {
    return await fn();
  } finally {
    depth -= 1;
    // Exits once the turn's follow-ups ran: what the section made is recorded first (live-record.ts enters its
    // own section from the step's answer, and the exit then waits for that one).
    if (depth === 0 && received && exitFn) setImmediate(exitWhenIdle);
  }
}

function exitWhenIdle(): void {
  if (depth !== 0 || !received || !exitFn) return;
  say("wp: stopped; run the same command again to finish what it started.");
  exitFn(exitCodeFor(received));
}

/** True once a signal has been received (in-process runs: never). */
export function interrupted(): boolean {
  return received !== null;
}
