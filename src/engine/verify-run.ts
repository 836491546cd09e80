/** What every cloud's `wp verify` shares: its options, its report, and how a signal stops it. */
import { WpError } from "../errors.js";
import { exitCodeFor, exitNow, onInterrupt } from "../interrupt.js";

/** How many of the container's last log lines verify reports. */
export const LOG_LINES = 10;

export interface VerifyOptions {
  dryRun: boolean;
  timeoutSeconds: number;
  pollMs: number;
  /** Empty: each cloud's default tiny public image. */
  image: string;
  progress(line: string): void;
}

export interface VerifyReport {
  workPool: string;
  dryRun: boolean;
  identity?: string;
  cluster: string;
  image: string;
  command: string[];
  subnets: string[];
  taskDefinition?: string;
  taskArn?: string;
  lastStatus?: string;
  exitCode?: number | null;
  stoppedReason?: string;
  /** Where the container's output is read from, e.g. "CloudWatch Logs group prefect" (none: `logsNote` says why). */
  logsFrom?: string;
  /** The container's last log lines (at most LOG_LINES), where the cloud keeps them. */
  logs: string[];
  /** Why `logs` is empty (not kept, not readable, none written), or how they were read when not as the block. */
  logsNote?: string;
  cleanedUp: string[];
  /** What verify leaves on purpose, and why (e.g. the task's log stream, which the block may not delete). */
  kept?: string[];
  seconds: number;
  ok: boolean;
}

/**
 * A fresh report, and the test container's command: a shell that prints one line naming the pool
 * (characters other than word characters, dots and dashes replaced, so the name cannot shape the command).
 */
export function newReport(
  pool: string,
  o: VerifyOptions,
  f: { identity?: string; cluster: string; image: string; noun: string },
): VerifyReport {
  return {
    workPool: pool,
    dryRun: o.dryRun,
    ...(f.identity ? { identity: f.identity } : {}),
    cluster: f.cluster,
    image: f.image,
    command: ["sh", "-c", `echo "wp verify: work pool ${pool.replace(/[^\w.-]/g, "_")} can run a ${f.noun}"`],
    subnets: [],
    logs: [],
    cleanedUp: [],
    seconds: 0,
    ok: false,
  };
}

/** Exit 130 after Ctrl-C (143 after SIGTERM), once what verify made is cleaned up. */
export class VerifyInterrupted extends WpError {
  constructor(
    message: string,
    override readonly exitCode: number,
  ) {
    super(message);
  }
}

/**
 * How a verify run meets Ctrl-C and SIGTERM: the first signal ends the current wait at once and makes
 * `check` throw VerifyInterrupted (the caller's `finally` then removes what it made); a second one
 * says cleanup is under way; a third exits at once and may leave the test `what` behind.
 */
export function verifyInterrupts(progress: (line: string) => void, what: string) {
  let signal: NodeJS.Signals | null = null;
  let count = 0;
  const wakers = new Set<() => void>();
  const undo = onInterrupt((s) => {
    count += 1;
    signal ??= s;
    if (count === 1) {
      progress(`wp: stopping the verification ${what} and cleaning up...`);
      for (const wake of [...wakers]) wake();
    } else if (count === 2)
      progress(`wp: still cleaning up; press Ctrl-C once more to stop at once (the ${what} may be left).`);
    else exitNow(signal ?? s); // the first signal decides the exit code, as elsewhere in wp
  });
  return {
    /** True once a signal came. */
    stopped: () => signal !== null,
    /** Waits `ms`, or less if a signal comes. */
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        if (signal) return resolve();
        const done = () => {
          clearTimeout(timer);
          wakers.delete(done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        wakers.add(done);
      }),
    /** Throws VerifyInterrupted with `message` once a signal came. */
    check(message: string): void {
      if (signal) throw new VerifyInterrupted(message, exitCodeFor(signal));
    },
    undo,
  };
}

export type VerifyInterrupts = ReturnType<typeof verifyInterrupts>;
