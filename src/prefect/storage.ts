/**
 * A work pool's storage for bundles and results, as `prefect work-pool storage configure|inspect` write and read
 * it: a result-storage block `default-<pool>-result-storage`, and `storage_configuration` with the bundle upload and
 * execution steps of the storage's integration package and the default result storage block id.
 */
import { UsageError, WpError } from "../errors.js";
import { pyRepr } from "../ui/io.js";
import type { PrefectApi } from "./api.js";
import { ensureBlockKind } from "./block-docs.js";
import { createBlock } from "./blocks.js";
import { blockRef } from "./template.js";
import type { BlockDocument, WorkPool } from "./types.js";

export type StorageKind = "s3" | "gcs" | "azure-blob-storage";

export interface StorageSpec {
  kind: StorageKind;
  /** "S3", "GCS", "Azure Blob Storage": in messages. */
  label: string;
  /** The flag naming the bucket or container. */
  targetFlag: "--bucket" | "--container";
  targetPrompt: string;
  credentialsFlag: string;
  credentialsSlug: string;
  credentialsPrompt: string;
  /** Azure's credentials block is required; S3 and GCS fall back to the ambient credentials. */
  credentialsRequired: boolean;
  missingCredentials(name: string): string;
  blockSlug: string;
  blockLabel: string;
  stepPackage: string;
  requires: string;
  /** The step's key naming the credentials block. */
  stepCredentialsKey: string;
  stepTargetKey: string;
  blockData(target: string, credentials: BlockDocument | null): Record<string, unknown>;
  registerHint: string;
}

const ref = (d: BlockDocument | null) => (d ? blockRef(d.id) : {});

export const STORAGE: Record<StorageKind, StorageSpec> = {
  s3: {
    kind: "s3",
    label: "S3",
    targetFlag: "--bucket",
    targetPrompt: "Enter the name of the S3 bucket to use",
    credentialsFlag: "--aws-credentials-block-name",
    credentialsSlug: "aws-credentials",
    credentialsPrompt: "Enter the name of the AWS credentials block to use (press Enter to use default credentials)",
    credentialsRequired: false,
    missingCredentials: (n) =>
      `AWS credentials block ${pyRepr(n)} does not exist. Please create one using \`wp block create aws-credentials ${n}\`, or omit --aws-credentials-block-name to use default credentials.`,
    blockSlug: "s3-bucket",
    blockLabel: "S3 bucket",
    stepPackage: "prefect_aws",
    requires: "prefect-aws",
    stepCredentialsKey: "aws_credentials_block_name",
    stepTargetKey: "bucket",
    blockData: (b, c) => ({ bucket_name: b, bucket_folder: "results", credentials: ref(c) }),
    registerHint: "Please install `prefect-aws` and run `prefect blocks register -m prefect_aws`.",
  },
  gcs: {
    kind: "gcs",
    label: "GCS",
    targetFlag: "--bucket",
    targetPrompt: "Enter the name of the Google Cloud Storage bucket to use",
    credentialsFlag: "--gcp-credentials-block-name",
    credentialsSlug: "gcp-credentials",
    credentialsPrompt: "Enter the name of the GCP credentials block to use (press Enter to use default credentials)",
    credentialsRequired: false,
    missingCredentials: (n) =>
      `GCS credentials block ${pyRepr(n)} does not exist. Please create one using \`wp block create gcp-credentials ${n} --key-file FILE\`, or omit --gcp-credentials-block-name to use default credentials.`,
    blockSlug: "gcs-bucket",
    blockLabel: "GCS bucket",
    stepPackage: "prefect_gcp",
    requires: "prefect-gcp",
    stepCredentialsKey: "gcp_credentials_block_name",
    stepTargetKey: "bucket",
    blockData: (b, c) => ({ bucket: b, bucket_folder: "results", gcp_credentials: ref(c) }),
    registerHint: "Please install `prefect-gcp` and run `prefect blocks register -m prefect_gcp`.",
  },
  "azure-blob-storage": {
    kind: "azure-blob-storage",
    label: "Azure Blob Storage",
    targetFlag: "--container",
    targetPrompt: "Enter the name of the Azure Blob Storage container to use",
    credentialsFlag: "--azure-blob-storage-credentials-block-name",
    credentialsSlug: "azure-blob-storage-credentials",
    credentialsPrompt: "Enter the name of the Azure Blob Storage credentials block to use",
    credentialsRequired: true,
    missingCredentials: (n) =>
      `Azure Blob Storage credentials block ${pyRepr(n)} does not exist. Please create one using \`wp block create azure-blob-storage-credentials ${n}\`.`,
    blockSlug: "azure-blob-storage-container",
    blockLabel: "Azure Blob Storage container",
    stepPackage: "prefect_azure",
    requires: "prefect-azure",
    stepCredentialsKey: "azure_blob_storage_credentials_block_name",
    stepTargetKey: "container",
    blockData: (c, d) => ({ container_name: c, credentials: ref(d) }),
    registerHint: "Please install `prefect-azure[storage]` and run `prefect blocks register -m prefect_azure`.",
  },
};

/** Prefect's result-storage block name for a pool (lower-cased, as Prefect 3.6 does). */
export function resultBlockName(pool: string): string {
  return `default-${pool.toLowerCase()}-result-storage`;
}

export interface Launchers {
  upload: string[] | null;
  execution: string[] | null;
}

const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/** Prefect 3.6's launcher group: `--launcher CMD [--launcher-arg A]…`, overridden per step. */
export function resolveLaunchers(flags: Record<string, unknown>): Launchers {
  const get = (key: string, flag: string) => {
    const value = flags[key];
    const args = list(flags[`${key}Arg`]);
    if (args.some((a) => a.trim() === "")) throw new UsageError(`${flag}-arg cannot be empty.`);
    if (value !== undefined && String(value).trim() === "") throw new UsageError(`${flag} cannot be empty.`);
    return { value: value === undefined ? undefined : String(value), args };
  };
  const base = get("launcher", "--launcher");
  if (base.args.length > 0 && base.value === undefined) throw new UsageError("--launcher-arg requires --launcher.");
  const step = (key: string, flag: string): string[] | null => {
    const own = get(key, flag);
    if (own.value !== undefined) return [own.value, ...own.args];
    if (own.args.length > 0 && base.value === undefined)
      throw new UsageError(`${flag}-arg requires ${flag} or --launcher.`);
    return base.value !== undefined ? [base.value, ...base.args, ...own.args] : null;
  };
  return {
    upload: step("uploadLauncher", "--upload-launcher"),
    execution: step("executionLauncher", "--execution-launcher"),
  };
}

/** The step value for one side: bucket/container, credentials block name, then `requires` or `launcher`. */
function stepValue(spec: StorageSpec, target: string, credentials: string | null, launcher: string[] | null) {
  return {
    [spec.stepTargetKey]: target,
    ...(credentials ? { [spec.stepCredentialsKey]: credentials } : {}),
    ...(launcher ? { launcher } : { requires: spec.requires }),
  };
}

export interface StorageResult {
  pool: string;
  block: BlockDocument;
  blockSlug: string;
  storage_configuration: Record<string, unknown>;
}

/**
 * Writes the result-storage block (create, or merge into the existing one as Prefect's PATCH does) and the pool's
 * storage configuration. The pool and the credentials block were read by the caller.
 */
export async function configureStorage(
  api: PrefectApi,
  spec: StorageSpec,
  o: { pool: WorkPool; target: string; credentials: BlockDocument | null; launchers: Launchers },
): Promise<StorageResult> {
  const name = resultBlockName(o.pool.name);
  const data = spec.blockData(o.target, o.credentials);
  let block = await api.readBlockDocument(spec.blockSlug, name);
  if (block) await api.updateBlockDocument(block.id, data, true);
  else {
    const kind = await ensureBlockKind(api, spec.blockSlug).catch((err: unknown) => {
      throw new WpError(
        `${spec.blockLabel} block definition does not exist server-side. ${spec.registerHint}`,
        String(err instanceof Error ? err.message : err),
      );
    });
    block = await createBlock(api, kind, name, data);
  }
  const credName = o.credentials?.name ?? null;
  const storage = {
    bundle_upload_step: {
      [`${spec.stepPackage}.experimental.bundles.upload`]: stepValue(spec, o.target, credName, o.launchers.upload),
    },
    bundle_execution_step: {
      [`${spec.stepPackage}.experimental.bundles.execute`]: stepValue(spec, o.target, credName, o.launchers.execution),
    },
    default_result_storage_block_id: block.id,
  };
  await api.updateWorkPool(o.pool.name, { storage_configuration: storage });
  return { pool: o.pool.name, block, blockSlug: `${spec.blockSlug}/${name}`, storage_configuration: storage };
}

export interface StorageView {
  type: string;
  upload: Record<string, unknown>;
  execution: Record<string, unknown>;
}

const firstStep = (step: unknown): [string, Record<string, unknown>] | null => {
  if (typeof step !== "object" || step === null) return null;
  const [entry] = Object.entries(step as Record<string, unknown>);
  if (!entry) return null;
  const [key, value] = entry;
  return [key, typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {}];
};

/** `storage inspect`'s view of a pool: null when it has no bundle steps. */
export function storageView(pool: WorkPool): StorageView | null {
  const s = pool.storage_configuration ?? {};
  const upload = firstStep(s.bundle_upload_step);
  const execution = firstStep(s.bundle_execution_step);
  if (!upload && !execution) return null;
  const fn = upload?.[0] ?? execution?.[0] ?? "";
  const type = fn.includes("prefect_aws")
    ? "S3"
    : fn.includes("prefect_gcp")
      ? "GCS"
      : fn.includes("prefect_azure")
        ? "Azure Blob Storage"
        : "Unknown";
  return { type, upload: upload?.[1] ?? {}, execution: execution?.[1] ?? {} };
}
