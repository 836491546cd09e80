/** The Prefect-side steps every provisioning run shares: the credentials block type, and the work pool. */
import { isDeepStrictEqual } from "node:util";
import { UsageError } from "../errors.js";
import { registerBlockType } from "../prefect/block-catalog.js";
import type { JobTemplate, WorkPool } from "../prefect/types.js";
import { pyRepr, wpCommand } from "../ui/io.js";
import type { Outputs, Step, StepState } from "./types.js";

/** Ensures the block type (and its schema) exists, registering it from wp's bundled catalog. */
export function blockTypeStep(slug: string): Step {
  return {
    id: "prefect.block-type",
    resource: "Block type",
    name: slug,
    target: "prefect",
    async check(ctx) {
      const found = await ctx.prefect.readBlockType(slug);
      if (found && (await ctx.prefect.latestBlockSchema(found.id))) return { action: "exists", id: found.id };
      return { action: "create", detail: "not registered on this server; wp registers it" };
    },
    async apply(ctx) {
      const type = await registerBlockType(ctx.prefect, slug);
      return { action: "create", id: type.id };
    },
  };
}

export interface PoolStepInput {
  poolName: string;
  type: string;
  existing: WorkPool | null;
  /** Overwriting an existing pool is allowed (--overwrite, or `wp provision-infra`). */
  mayUpdate: boolean;
  paused: boolean;
  /** Builds the final template from the outputs of the other steps; throws if an output is missing. */
  template(outputs: Outputs): JobTemplate;
  /** The pool written, for the caller. */
  written: { pool: WorkPool | null };
}

/** Creates the work pool, or updates its template; `exists` when the template is already right. */
export function workPoolStep(input: PoolStepInput): Step {
  const { poolName, existing } = input;
  return {
    id: "prefect.work-pool",
    resource: "Work pool",
    name: poolName,
    target: "prefect",
    async check(ctx): Promise<StepState> {
      if (!existing) return { action: "create", detail: input.type };
      let desired: JobTemplate | null = null;
      try {
        desired = input.template(ctx.outputs);
      } catch {
        // Outputs of resources still to be created are unknown: the template will change.
      }
      if (desired && isDeepStrictEqual(desired, existing.base_job_template ?? {})) {
        input.written.pool = existing;
        return { action: "exists", id: existing.id };
      }
      if (!input.mayUpdate) {
        throw new UsageError(
          `Work pool ${pyRepr(poolName)} already exists with a different job template.`,
          `Use --overwrite to update it, or run \`${wpCommand("provision-infra", poolName)}\`.`,
        );
      }
      return { action: "update", detail: "job template", id: existing.id };
    },
    async apply(ctx, state) {
      const template = input.template(ctx.outputs);
      if (state.action === "update") {
        await ctx.prefect.updateWorkPool(poolName, { base_job_template: template });
      } else {
        await ctx.prefect.createWorkPool({
          name: poolName,
          type: input.type,
          base_job_template: template,
          is_paused: input.paused,
        });
      }
      const pool = await ctx.prefect.readWorkPool(poolName);
      input.written.pool = pool;
      return { action: state.action, ...(pool ? { id: pool.id } : {}) };
    },
  };
}
