/**
 * The generic provisioning engine: check every step (read-only) into a plan, then apply the steps
 * that need it, running independent ones concurrently (a step starts once its `after` steps are
 * done) while reporting in plan order. It knows nothing about clouds; rendering lives in render.ts.
 */
import { interruptSignal } from "../interrupt.js";
import type { Action, Step, StepContext, StepState } from "./types.js";

export interface PlannedStep {
  id: string;
  resource: string;
  name: string;
  target: string;
  action: Action;
  detail?: string;
  /** id/ARN when the resource already exists. */
  existingId?: string;
}

export interface StepOutcome {
  id: string;
  resource: string;
  name: string;
  target: string;
  status: "created" | "updated" | "exists" | "failed" | "skipped";
  resourceId?: string;
  error?: string;
}

/** Runs `fn` for every step respecting `after` (only among the given steps); concurrency 1 = one after another. */
async function schedule<T>(
  steps: Step[],
  concurrency: number,
  fn: (step: Step) => Promise<T>,
  onSettled: (index: number, result: PromiseSettledResult<T> | "skipped") => void,
): Promise<void> {
  const ids = new Set(steps.map((s) => s.id));
  const state = new Map<string, "pending" | "running" | "ok" | "failed">(steps.map((s) => [s.id, "pending"]));
  let running = 0;
  await new Promise<void>((resolveAll) => {
    const pump = () => {
      let progressed = true;
      while (progressed) {
        progressed = false;
        for (const [index, step] of steps.entries()) {
          if (state.get(step.id) !== "pending") continue;
          const deps = (step.after ?? []).filter((d) => ids.has(d));
          // A failed dependency, or Ctrl-C: the step does not start.
          if (deps.some((d) => state.get(d) === "failed") || interruptSignal.aborted) {
            state.set(step.id, "failed");
            onSettled(index, "skipped");
            progressed = true;
            continue;
          }
          if (running >= concurrency || !deps.every((d) => state.get(d) === "ok")) continue;
          state.set(step.id, "running");
          running += 1;
          fn(step).then(
            (value) => {
              running -= 1;
              state.set(step.id, "ok");
              onSettled(index, { status: "fulfilled", value });
              pump();
            },
            (reason: unknown) => {
              running -= 1;
              state.set(step.id, "failed");
              onSettled(index, { status: "rejected", reason });
              pump();
            },
          );
        }
      }
      if (running === 0 && [...state.values()].every((s) => s === "ok" || s === "failed")) resolveAll();
    };
    pump();
  });
}

/**
 * Calls each step's read-only check. A failing check fails the plan (nothing has been changed).
 * Checks only read, so `after` (an apply-order constraint) does not hold them back: all of them run
 * at once, up to `concurrency`.
 */
export async function planSteps(steps: Step[], ctx: StepContext, concurrency: number): Promise<Map<string, StepState>> {
  const states = new Map<string, StepState>();
  let firstError: unknown;
  await schedule(
    steps.map((step) => ({ ...step, after: [] })),
    concurrency,
    async (step) => {
      const s = await step.check(ctx);
      states.set(step.id, s);
      return s;
    },
    (_i, r) => {
      if (r !== "skipped" && r.status === "rejected" && firstError === undefined) firstError = r.reason;
    },
  );
  if (firstError !== undefined) throw firstError;
  return states;
}

export function toPlanned(step: Step, state: StepState): PlannedStep {
  return {
    id: step.id,
    resource: step.resource,
    name: state.name ?? step.name,
    target: step.target,
    action: state.action,
    ...(state.detail ? { detail: state.detail } : {}),
    ...(state.id ? { existingId: state.id } : {}),
  };
}

/**
 * Applies the steps whose state is not `exists`. `report` is called once per step, in plan order,
 * as soon as that step and every step before it have settled. Never throws: failures are outcomes.
 */
export async function applySteps(
  steps: Step[],
  states: Map<string, StepState>,
  ctx: StepContext,
  concurrency: number,
  report: (outcome: StepOutcome, index: number) => void,
  /** Each outcome as it settles (`report` gets them in plan order). */
  settled?: (outcome: StepOutcome) => void,
): Promise<StepOutcome[]> {
  const outcomes: Array<StepOutcome | undefined> = new Array(steps.length);
  let next = 0;
  const flush = () => {
    for (let o = outcomes[next]; o !== undefined; o = outcomes[next]) {
      report(o, next);
      next += 1;
    }
  };
  await schedule(
    steps,
    concurrency,
    async (step) => {
      const state = states.get(step.id) ?? { action: "create" };
      if (state.action === "exists") return { action: "exists" as const, ...(state.id ? { id: state.id } : {}) };
      return step.apply(ctx, state);
    },
    (index, r) => {
      const step = steps[index];
      if (!step) return;
      const base = {
        id: step.id,
        resource: step.resource,
        name: states.get(step.id)?.name ?? step.name,
        target: step.target,
      };
      if (r === "skipped") outcomes[index] = { ...base, status: "skipped" };
      else if (r.status === "rejected") outcomes[index] = { ...base, status: "failed", error: messageOf(r.reason) };
      else {
        const status = r.value.action === "create" ? "created" : r.value.action === "update" ? "updated" : "exists";
        outcomes[index] = { ...base, status, ...(r.value.id ? { resourceId: r.value.id } : {}) };
      }
      const outcome = outcomes[index];
      if (outcome) settled?.(outcome);
      flush();
    },
  );
  flush();
  return outcomes.filter((o): o is StepOutcome => o !== undefined);
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
