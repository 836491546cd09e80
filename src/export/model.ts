/**
 * What `wp export terraform` builds before it writes HCL: Terraform resources (and the data
 * sources some imports need), each tied to the record entry it comes from, the variables that
 * carry secrets at apply time, and the record entries that are deliberately not managed.
 */
import type { ProvisioningRecord, RecordResource } from "../engine/record.js";
import type { BlockDocument, WorkPool } from "../prefect/types.js";
import { type Call, type Expr, expr, type Value } from "./hcl.js";

export type Cloud = "aws" | "azure" | "google" | "prefect";

export interface TfResource {
  mode: "resource" | "data";
  /** Terraform type, e.g. "aws_iam_user". */
  type: string;
  /** What the label is made from (the resource's own name). */
  name: string;
  /** Which file it goes to. */
  cloud: Cloud;
  attrs: Array<[string, Value]>;
  /** The id the provider imports it by (documented per type in the schema fixture); absent for data sources. */
  importId?: string | Expr | Call;
  /** Unique across pools: a shared resource (one cluster, two pools) is emitted once. */
  key: string;
  /** The record entry it comes from; `derived` when the entry implies it (a policy's attachment to the user). */
  pool: string;
  step: string;
  recordId?: string;
  derived?: boolean;
  /** wp adopted it (did not create it): `prevent_destroy`, so Terraform never deletes what wp did not make. */
  adopted?: boolean;
  /** Tags/labels wp did not set (adopted resources): Terraform ignores them rather than strip them. */
  ignore?: string[];
  /** Import only; Terraform writes the configuration (`terraform plan -generate-config-out=…`). */
  generateConfig?: boolean;
  /** Provider configuration alias (several regions of one cloud). */
  provider?: string;
  comments: string[];
}

export interface TfVariable {
  name: string;
  description: string;
  type: "string";
  sensitive: boolean;
  ephemeral: boolean;
}

/** A record entry wp does not hand to Terraform, and why. */
export interface NotManaged {
  pool: string;
  step: string;
  kind: string;
  name: string;
  id?: string;
  reason: string;
}

/** A provider configuration, e.g. aws in region us-east-1. */
export interface ProviderConfig {
  cloud: Exclude<Cloud, "prefect">;
  /** Provider name in Terraform ("aws", "azurerm", "azuread", "google"). */
  name: string;
  alias?: string;
  attrs: Array<[string, Value]>;
  /** Nested blocks written empty, e.g. azurerm's `features {}`. */
  emptyBlocks?: string[];
}

export interface Mapped {
  resources: TfResource[];
  variables: TfVariable[];
  notManaged: NotManaged[];
  providers: ProviderConfig[];
}

/** What a cloud mapper gets: the pool's record (the source of truth) and the pool, when it still exists. */
export interface PoolInput {
  record: ProvisioningRecord;
  pool: WorkPool | null;
  /** The pool's credentials block (secret fields obfuscated by the API, never read with secrets). */
  block: BlockDocument | null;
}

/** Marks a reference in rendered text; hcl.ts `quote` escapes it in data, so only references carry it. */
export const REF = "\uE000";

/** A reference to another exported resource's attribute, resolved to `type.label.attr` when written. */
export function ref(key: string, attr: string): Expr {
  return expr(`${REF}${key}${REF}${attr}${REF}`);
}

/** The record entry of a step, if recorded. */
export function entry(record: ProvisioningRecord, step: string): RecordResource | undefined {
  return record.resources.find((r) => r.step === step);
}

/** Fields common to every resource mapped from a record entry. */
export function from(
  record: ProvisioningRecord,
  r: RecordResource,
): Pick<TfResource, "pool" | "step" | "recordId" | "adopted" | "comments"> {
  return {
    pool: record.work_pool,
    step: r.step,
    ...(r.id ? { recordId: r.id } : {}),
    ...(r.created ? {} : { adopted: true }),
    comments: [],
  };
}

export function emptyMapped(): Mapped {
  return { resources: [], variables: [], notManaged: [], providers: [] };
}
