/** Named aliases over the types generated from Prefect's OpenAPI schema (see `npm run gen:types`). */
import type { components } from "./openapi.js";

type S = components["schemas"];
export type WorkPool = S["WorkPoolResponse"];
export type WorkPoolCreate = S["WorkPoolCreate"];
export type WorkPoolUpdate = S["WorkPoolUpdate"];
export type BlockType = S["BlockType"];
export type BlockTypeCreate = S["BlockTypeCreate"];
export type BlockSchema = S["BlockSchema"];
export type BlockSchemaCreate = S["BlockSchemaCreate"];
export type BlockDocument = S["BlockDocument"];
export type BlockDocumentCreate = S["BlockDocumentCreate"];
export type BlockDocumentUpdate = S["BlockDocumentUpdate"];
export type FlowRun = S["FlowRunResponse"];

/** A base job template: `{ job_configuration, variables: { properties: {...} } }` or `{}`. */
export type JobTemplate = Record<string, unknown>;

/** Where the Prefect API lives: Prefect Cloud, a self-hosted server, or wp's embedded API. */
export type ServerKind = "cloud" | "server" | "embedded";

/** Worker metadata entry (one work pool type), as in Prefect's aggregate-worker-metadata view. */
export interface WorkerType {
  type: string;
  display_name?: string;
  description?: string;
  documentation_url?: string;
  install_command?: string;
  is_beta?: boolean;
  is_push_pool?: boolean;
  logo_url?: string;
  default_base_job_configuration?: JobTemplate;
}

/** `{ collection: { worker_key: WorkerType } }`. */
export type WorkerMetadata = Record<string, Record<string, WorkerType>>;
