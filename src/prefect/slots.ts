/**
 * A work pool's occupied concurrency slots, as Prefect 3.6's `prefect work-pool slots` reports them: from
 * `POST /work_pools/{name}/concurrency_status` (every page of queues merged), or, on a server without that route
 * (Prefect before 3.6, wp's embedded API), computed the same way from the pool's PENDING and RUNNING flow runs.
 */
import type { PrefectApi } from "./api.js";
import type { FlowRun, WorkPool } from "./types.js";

/** Prefect counts runs in these states as holding a slot. */
export const SLOT_STATES = ["PENDING", "RUNNING"];
const FLOW_RUN_LIMIT = 200;

export interface SlotRun {
  id: string;
  name: string;
  state_type?: string | null;
  state_name?: string | null;
  start_time?: string | null;
  state_timestamp?: string | null;
  time_in_current_state?: number | null;
}

export interface SlotQueue {
  queue_id: string;
  queue_name: string;
  active_slots: number;
  concurrency_limit?: number | null;
  flow_runs?: SlotRun[];
  flow_run_count?: number | null;
  _truncated?: { shown: number; total: number };
}

export interface SlotsStatus {
  active_slots: number;
  concurrency_limit: number | null;
  queues: SlotQueue[];
  count: number;
  limit: number;
  pages: number;
  page: number;
}

function summary(run: FlowRun, now: number): SlotRun {
  const ts = run.state?.timestamp ?? null;
  return {
    id: run.id,
    name: run.name ?? "",
    state_type: run.state_type ?? null,
    state_name: run.state_name ?? null,
    start_time: run.start_time ?? null,
    state_timestamp: ts,
    time_in_current_state: ts ? Math.max(0, (now - Date.parse(ts)) / 1000) : null,
  };
}

/** The status computed from flow runs, grouped by queue (queues without runs are not listed). */
export function statusFromRuns(pool: WorkPool, runs: FlowRun[], now = Date.now()): SlotsStatus {
  const queues = new Map<string, SlotQueue>();
  for (const run of runs) {
    const key = run.work_queue_id ?? run.work_queue_name ?? "";
    const q = queues.get(key) ?? {
      queue_id: run.work_queue_id ?? "",
      queue_name: run.work_queue_name ?? "default",
      active_slots: 0,
      concurrency_limit: null,
      flow_runs: [],
      flow_run_count: 0,
    };
    q.active_slots += 1;
    q.flow_run_count = (q.flow_run_count ?? 0) + 1;
    q.flow_runs?.push(summary(run, now));
    queues.set(key, q);
  }
  const list = [...queues.values()].sort((a, b) => a.queue_name.localeCompare(b.queue_name));
  const active = (pool as { active_slots?: number | null }).active_slots;
  return {
    active_slots: typeof active === "number" ? active : runs.length,
    concurrency_limit: pool.concurrency_limit ?? null,
    queues: list,
    count: list.length,
    limit: FLOW_RUN_LIMIT,
    pages: 1,
    page: 1,
  };
}

/** Every page of the server's concurrency status merged; null when the server has no such route. */
async function serverStatus(api: PrefectApi, name: string): Promise<SlotsStatus | null> {
  const first = await api.poolConcurrencyStatus(name, 1, FLOW_RUN_LIMIT);
  if (!first) return null;
  const merged = first as unknown as SlotsStatus;
  const queues = [...(merged.queues ?? [])];
  for (let page = 2; page <= (merged.pages ?? 1); page++) {
    const next = (await api.poolConcurrencyStatus(name, page, FLOW_RUN_LIMIT)) as unknown as SlotsStatus | null;
    queues.push(...(next?.queues ?? []));
  }
  return { ...merged, queues };
}

/** The pool's slots; a queue showing fewer runs than it holds is marked `_truncated`, as Prefect marks it. */
export async function poolSlots(api: PrefectApi, pool: WorkPool): Promise<SlotsStatus & { source: string }> {
  const server = await serverStatus(api, pool.name);
  const status = server ?? statusFromRuns(pool, await api.flowRunsInPool(pool.name, SLOT_STATES));
  for (const q of status.queues) {
    const shown = q.flow_runs?.length ?? 0;
    const total = q.flow_run_count ?? shown;
    if (total > shown) q._truncated = { shown, total };
  }
  return { ...status, source: server ? "concurrency_status" : "flow_runs" };
}
