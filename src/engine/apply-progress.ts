/**
 * What the apply loop shows while steps run: one line per step in plan order, with the time its apply
 * took (`[3/10] ✓ Created IAM user prefect-ecs-user (1.2s)`), a spinner on the step being waited for
 * (terminal only), and notes from steps printed without breaking either.
 */
import type { Ctx } from "../context.js";
import { safeText } from "../ui/io.js";
import { createProgress, formatElapsed } from "../ui/progress.js";
import type { StepOutcome } from "./engine.js";
import { renderProgress } from "./render.js";
import type { Step, StepState } from "./types.js";

export interface ApplyProgress {
  /** A note from a step or the provider (stderr, dimmed, escaped). */
  note(message: string): void;
  /**
   * Starts a phase: returns the steps with their apply timed, and (when `show`) spins on the first.
   * `offset` is the phase's first index in the whole plan, `total` the plan's length.
   */
  phase(steps: Step[], offset: number, total: number, states: Map<string, StepState>, show: boolean): Step[];
  /** A step settled (called in plan order with its index in the whole plan): its line, then spin on the next. */
  done(outcome: StepOutcome, index: number, total: number): void;
  /** Stops the spinner (after the last phase, or a failure). */
  end(): void;
}

const VERB: Record<string, string> = { create: "Creating", update: "Updating", exists: "Checking" };

export function applyProgress(ctx: Ctx, json: boolean): ApplyProgress {
  const err = ctx.color.err;
  const progress = createProgress(ctx.io, ctx.env, { json });
  const started = new Map<string, number>();
  const took = new Map<string, number>();
  let current: { steps: Step[]; offset: number; states: Map<string, StepState>; show: boolean } | null = null;

  const spinOn = (index: number, total: number) => {
    const phase = current;
    const step = phase?.steps[index - (phase?.offset ?? 0)];
    if (!phase?.show || !step) return progress.stop();
    const since = Date.now();
    const verb = VERB[phase.states.get(step.id)?.action ?? "create"] ?? "Creating";
    progress.spin(() => {
      const t0 = started.get(step.id);
      const waiting = t0 === undefined ? " (waiting)" : "";
      const elapsed = formatElapsed(Date.now() - (t0 ?? since));
      return `[${index + 1}/${total}] ${verb} ${safeText(step.resource)} ${safeText(phase.states.get(step.id)?.name ?? step.name)}…${waiting} ${elapsed}`;
    });
  };

  return {
    note: (message) => progress.line(err.dim(safeText(message))),
    phase(steps, offset, total, states, show) {
      current = { steps, offset, states, show };
      if (steps.length > 0) spinOn(offset, total);
      return steps.map((step) => ({
        ...step,
        async apply(stepCtx, state) {
          const t0 = Date.now();
          started.set(step.id, t0);
          try {
            return await step.apply(stepCtx, state);
          } finally {
            took.set(step.id, Date.now() - t0);
          }
        },
      }));
    },
    done(outcome, index, total) {
      const ms = took.get(outcome.id);
      progress.line(renderProgress(outcome, index, total, err, ms));
      spinOn(index + 1, total);
    },
    end: () => progress.stop(),
  };
}
