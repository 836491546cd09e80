/**
 * The pool's record written while a run applies, not only at its end: after each step that created or
 * changed something, one write at a time (the latest outcomes win), inside a critical section so that
 * Ctrl-C waits for it. A run interrupted or killed later leaves what it created known to `wp status` and
 * `wp deprovision`, and the next run keeps it as created rather than taking it for adopted.
 */
import { critical } from "../interrupt.js";
import type { PrefectApi } from "../prefect/api.js";
import type { StepOutcome } from "./engine.js";
import { type RunToRecord, recordRun } from "./record.js";

export interface LiveRecord {
  /** Every outcome of the run as it arrives; a created or updated one is recorded. */
  add(out: StepOutcome): void;
  /** Resolves once the writes begun so far are done (the run's final write follows). */
  settled(): Promise<void>;
}

export function liveRecord(api: PrefectApi, run: Omit<RunToRecord, "outcomes">): LiveRecord {
  const outcomes: StepOutcome[] = [];
  let chain: Promise<void> = Promise.resolve();
  let queued = false;
  return {
    add(out) {
      outcomes.push(out);
      if ((out.status !== "created" && out.status !== "updated") || queued) return;
      queued = true;
      const previous = chain;
      // Entered now, in the same turn as the step's answer: a signal cannot fall between the two.
      chain = critical(async () => {
        await previous;
        queued = false;
        // A failed write is tried again by the next outcome and by the run's final write, which reports it.
        await recordRun(api, { ...run, outcomes: [...outcomes] }).catch(() => null);
      });
    },
    settled: () => chain,
  };
}
