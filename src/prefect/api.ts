import type { LeaseApi } from "./leases.js";
import type {
  BlockDocument,
  BlockDocumentCreate,
  BlockSchema,
  BlockSchemaCreate,
  BlockType,
  BlockTypeCreate,
  FlowRun,
  ServerKind,
  WorkerMetadata,
  WorkPool,
  WorkPoolCreate,
  WorkPoolUpdate,
} from "./types.js";

/**
 * The Prefect API calls wp makes. Reads of one object return null on 404 (existence is decided
 * by a real read); every other non-2xx response throws an ApiError carrying Prefect's message.
 */
export interface PrefectApi {
  readonly kind: ServerKind;
  /** Human description of the target, e.g. "Prefect Cloud workspace acme/prod" or "Prefect server http://…". */
  readonly label: string;
  /** API base URL (`embedded:` + store path for the embedded API). */
  readonly url: string;
  /** UI base URL, or null when there is no dashboard. */
  readonly uiUrl: string | null;

  health(): Promise<void>;

  readWorkPool(name: string): Promise<WorkPool | null>;
  listWorkPools(): Promise<WorkPool[]>;
  createWorkPool(body: WorkPoolCreate): Promise<WorkPool>;
  updateWorkPool(name: string, body: WorkPoolUpdate): Promise<void>;
  deleteWorkPool(name: string): Promise<void>;
  scheduledFlowRuns(name: string, scheduledBefore: Date): Promise<FlowRun[]>;

  readBlockType(slug: string): Promise<BlockType | null>;
  createBlockType(body: BlockTypeCreate): Promise<BlockType>;
  readBlockSchemaByChecksum(checksum: string, version?: string): Promise<BlockSchema | null>;
  createBlockSchema(body: BlockSchemaCreate): Promise<BlockSchema>;
  /** Most recently created schema of a block type (Prefect's `limit: 1` filter), or null. */
  latestBlockSchema(blockTypeId: string): Promise<BlockSchema | null>;
  readBlockDocument(slug: string, name: string, includeSecrets?: boolean): Promise<BlockDocument | null>;
  /** Every block document of a block type (secret fields obfuscated). */
  listBlockDocuments(slug: string): Promise<BlockDocument[]>;
  createBlockDocument(body: BlockDocumentCreate): Promise<BlockDocument>;
  /** A block document by id (null on 404). */
  readBlockDocumentById(id: string, includeSecrets?: boolean): Promise<BlockDocument | null>;
  /** Replaces a document's data (`merge_existing_data: false`), or merges into it when `merge` (Prefect's default). */
  updateBlockDocument(id: string, data: Record<string, unknown>, merge?: boolean): Promise<void>;
  deleteBlockDocument(id: string): Promise<void>;

  /** Flow runs of a work pool whose state type is one of `stateTypes` (POST /flow_runs/filter), every page. */
  flowRunsInPool(name: string, stateTypes: string[]): Promise<FlowRun[]>;
  /**
   * One page of Prefect 3.6's `POST /work_pools/{name}/concurrency_status`; null when the server has no such route
   * (Prefect before 3.6, wp's embedded API). Call it for a pool that exists.
   */
  poolConcurrencyStatus(name: string, page: number, flowRunLimit: number): Promise<Record<string, unknown> | null>;

  /**
   * Global concurrency limits with leases and variables, for locks every machine sees; absent where a lock file on
   * this machine is all there is (the embedded API, whose store is this machine's).
   */
  readonly leases?: LeaseApi;

  /** Worker metadata as served by the target (Cloud work_pool_types, server view); null if unavailable. */
  workerMetadata(): Promise<WorkerMetadata | null>;
}
