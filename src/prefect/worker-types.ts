/**
 * Work pool types and their default base job templates, from worker metadata
 * (`{ collection: { worker_key: WorkerType } }`). Pure functions; the only I/O is reading wp's bundled data once.
 */
import { readData } from "../data.js";
import { shellQuote } from "../ui/io.js";
import type { JobTemplate, WorkerMetadata, WorkerType } from "./types.js";

/** The type a Prefect server's model defaults to; never a real choice (Prefect strips it from the metadata). */
const AGENT_TYPE = "prefect-agent";
const PUSH_SUFFIX = ":push";
const MANAGED_TYPE = "prefect:managed";
/** Worker classes Prefect always has installed locally: their template wins over the metadata's. */
const LOCAL_WORKER_TYPES: ReadonlySet<string> = new Set(["process"]);

let bundled: WorkerMetadata | undefined;

/**
 * wp's bundled worker metadata: Prefect's pull types (data/aggregate-worker-metadata.json) followed by the push types
 * Prefect Cloud serves (data/push-worker-metadata.json). Read once; treat the result as read-only.
 */
export function bundledWorkerMetadata(): WorkerMetadata {
  if (!bundled) {
    bundled = {
      ...readData<WorkerMetadata>("aggregate-worker-metadata.json"),
      ...readData<WorkerMetadata>("push-worker-metadata.json"),
    };
  }
  return bundled;
}

/**
 * The worker types in JSON order (collection by collection, worker by worker). Entries without a string `type`
 * and the `prefect-agent` type are skipped.
 */
export function flattenWorkerTypes(meta: WorkerMetadata): WorkerType[] {
  const out: WorkerType[] = [];
  for (const collection of Object.values(meta ?? {})) {
    if (!isRecord(collection)) continue;
    for (const worker of Object.values(collection)) {
      if (!isRecord(worker) || typeof worker.type !== "string" || worker.type === AGENT_TYPE) continue;
      out.push(worker);
    }
  }
  return out;
}

/** Concatenates the lists, keeping only the first occurrence of each type. */
export function mergeWorkerTypes(...lists: WorkerType[][]): WorkerType[] {
  const seen = new Set<string>();
  const out: WorkerType[] = [];
  for (const list of lists) {
    for (const worker of list) {
      if (seen.has(worker.type)) continue;
      seen.add(worker.type);
      out.push(worker);
    }
  }
  return out;
}

/**
 * Prefect's `get_default_base_job_template_for_infrastructure_type`: for a locally installed worker type (`process`)
 * the bundled template; otherwise the template of the first entry of `types` with that type that has one.
 * Returns a deep copy, or null when no template is known.
 */
export function defaultTemplateFor(types: WorkerType[], type: string): JobTemplate | null {
  if (LOCAL_WORKER_TYPES.has(type)) {
    const local = findTemplate(flattenWorkerTypes(bundledWorkerMetadata()), type);
    if (local) return structuredClone(local);
  }
  const found = findTemplate(types, type);
  return found ? structuredClone(found) : null;
}

function findTemplate(types: WorkerType[], type: string): JobTemplate | null {
  for (const worker of types) {
    if (worker.type === type && isRecord(worker.default_base_job_configuration))
      return worker.default_base_job_configuration;
  }
  return null;
}

/** A Prefect Cloud push pool type (`ecs:push`, `modal:push`, ...): Cloud runs the flows, no worker. */
export function isPushType(type: string): boolean {
  return type.endsWith(PUSH_SUFFIX) && type.length > PUSH_SUFFIX.length;
}

/** Prefect Cloud's managed execution pools (`prefect:managed`): no worker, no infrastructure of your own. */
export function isManagedType(type: string): boolean {
  return type === MANAGED_TYPE;
}

/**
 * The pull (worker) type that runs the same infrastructure as a push type: "ecs:push" → "ecs".
 * Null for a type that is not a push type, or whose infrastructure has no Prefect worker (modal:push, coiled:push).
 */
export function pullTypeFor(pushType: string): string | null {
  if (!isPushType(pushType)) return null;
  const base = pushType.slice(0, -PUSH_SUFFIX.length);
  const known = flattenWorkerTypes(bundledWorkerMetadata()).some((w) => w.type === base && !w.is_push_pool);
  return known ? base : null;
}

/** `prefect worker start --pool <pool> --type <type>`, each value quoted for a POSIX shell only when needed. */
export function workerStartCommand(pool: string, pullType: string): string {
  return `prefect worker start --pool ${shellQuote(pool)} --type ${shellQuote(pullType)}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
