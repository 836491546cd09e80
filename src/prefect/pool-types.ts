import type { PrefectApi } from "./api.js";
import type { WorkerType } from "./types.js";
import { bundledWorkerMetadata, flattenWorkerTypes, mergeWorkerTypes } from "./worker-types.js";

/**
 * The work pool types a target offers: what the target serves (Cloud's work_pool_types, a server's
 * worker-metadata view) first, then wp's bundled metadata (every Prefect pull and push type).
 */
export async function availableTypes(api: PrefectApi): Promise<WorkerType[]> {
  const served = await api.workerMetadata();
  return mergeWorkerTypes(served ? flattenWorkerTypes(served) : [], flattenWorkerTypes(bundledWorkerMetadata()));
}
