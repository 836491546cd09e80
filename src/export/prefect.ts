/**
 * The Prefect side in `prefecthq/prefect` terms: the pool as `prefect_work_pool` (imported by its
 * name, in the provider's workspace) with `base_job_template = jsonencode(…)`, its credentials
 * block as `prefect_block` (imported by the block id) whose payload is the write-only `data_wo`:
 * neither the files nor the state hold a secret. Every secret field (the block schema's
 * `secret_fields`, a value the API answered obfuscated, and each credential field wp mints) is a
 * `sensitive`, `ephemeral` variable, given at apply time.
 */
import type { BlockDocument, WorkPool } from "../prefect/types.js";
import { call, labelOf, type Value } from "./hcl.js";
import { emptyMapped, type Mapped, type PoolInput, ref, type TfResource, type TfVariable } from "./model.js";

/** The fields that hold what wp minted, per block type: always variables, whatever the API says. */
const CREDENTIAL_FIELDS: Record<string, string[]> = {
  "aws-credentials": ["aws_access_key_id", "aws_secret_access_key"],
  "azure-container-instance-credentials": ["client_secret"],
  "gcp-credentials": ["service_account_info"],
};

/** The block type of each provider's credentials block, when the block cannot be read. */
const BLOCK_TYPES: Record<string, string> = {
  ecs: "aws-credentials",
  aci: "azure-container-instance-credentials",
  "cloud-run": "gcp-credentials",
};

/** Fields whose value is a JSON object (the variable holds its JSON text). */
const OBJECT_FIELDS = new Set(["service_account_info"]);

/** The record entry of the pool's credentials block. */
export function blockEntry(input: PoolInput) {
  return input.record.resources.find(
    (r) => r.step === "prefect.credentials-block" || (r.step.startsWith("prefect.") && r.step.endsWith("-credentials")),
  );
}

function secretFields(doc: BlockDocument | null, slug: string): Set<string> {
  const fields = (doc?.block_schema?.fields as { secret_fields?: unknown } | undefined)?.secret_fields;
  const listed = Array.isArray(fields) ? fields.filter((f): f is string => typeof f === "string") : [];
  // `service_account_info.*` marks the whole field secret.
  const top = listed.map((f) => f.split(".")[0] ?? f);
  const obfuscated = Object.entries(doc?.data ?? {})
    .filter(([, v]) => typeof v === "string" && /^\*{3,}$/.test(v))
    .map(([k]) => k);
  return new Set([...top, ...obfuscated, ...(CREDENTIAL_FIELDS[slug] ?? [])]);
}

export function mapPrefect(input: PoolInput, blockKeyOut: { key?: string }): Mapped {
  const out = emptyMapped();
  const { record, pool } = input;
  const b = blockEntry(input);
  if (b?.id) {
    const doc = input.block;
    const slug = doc?.block_type?.slug ?? BLOCK_TYPES[record.provider] ?? "";
    const secret = secretFields(doc, slug);
    const data: Record<string, Value> = {};
    const fields = new Set([...Object.keys(doc?.data ?? {}), ...(CREDENTIAL_FIELDS[slug] ?? [])]);
    for (const field of fields) {
      const value = doc?.data?.[field];
      if (!secret.has(field)) {
        if (value !== undefined) data[field] = value as Value;
        continue;
      }
      const variable = `${labelOf(b.name)}_${field}`;
      out.variables.push(secretVariable(variable, b.name, field));
      data[field] = OBJECT_FIELDS.has(field)
        ? call("jsondecode", ref(`var/${variable}`, ""))
        : ref(`var/${variable}`, "");
    }
    const key = `prefect/block/${b.id}`;
    blockKeyOut.key = key;
    out.resources.push({
      mode: "resource",
      cloud: "prefect",
      type: "prefect_block",
      name: b.name,
      key,
      pool: record.work_pool,
      step: b.step,
      recordId: b.id,
      ...(b.created ? {} : { adopted: true }),
      importId: b.id,
      attrs: [
        ["name", b.name],
        ["type_slug", slug],
        ["data_wo", call("jsonencode", data)],
        // Raise it to write new values (after `wp rotate-credentials`, or a new secret).
        ["data_wo_version", 1],
      ],
      comments: [
        "data_wo is write-only: Terraform sends it and keeps it in neither the plan nor the state.",
        "The secrets come from the ephemeral variables in variables.tf (e.g. from your secret manager); the",
        "first apply after the import writes them once (data_wo_version is new to the state), and raising",
        "data_wo_version writes them again. Until then the block keeps what wp wrote.",
      ],
    });
  }
  if (pool) out.resources.push(workPool(record.work_pool, pool, blockKeyOut.key, b?.id));
  return out;
}

function secretVariable(name: string, block: string, field: string): TfVariable {
  return {
    name,
    description: `${field} of Prefect block ${block} (write-only: never in the plan or the state)`,
    type: "string",
    sensitive: true,
    ephemeral: true,
  };
}

/** The template with the exported block's `$ref` pointing at the `prefect_block` resource. */
function withBlockRef(v: unknown, blockId: string | undefined, blockKey: string | undefined): Value {
  if (Array.isArray(v)) return v.map((x) => withBlockRef(x, blockId, blockKey));
  if (typeof v !== "object" || v === null) return v as Value;
  const o = v as Record<string, unknown>;
  const target = (o.$ref as { block_document_id?: unknown } | undefined)?.block_document_id;
  if (blockKey && blockId && Object.keys(o).length === 1 && target === blockId)
    return { $ref: { block_document_id: ref(blockKey, "id") } };
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, withBlockRef(x, blockId, blockKey)]));
}

function workPool(name: string, pool: WorkPool, blockKey: string | undefined, blockId: string | undefined): TfResource {
  const attrs: Array<[string, Value]> = [
    ["name", name],
    ["type", pool.type],
    ["paused", pool.is_paused ?? false],
  ];
  if (pool.description) attrs.push(["description", pool.description]);
  if (typeof pool.concurrency_limit === "number") attrs.push(["concurrency_limit", pool.concurrency_limit]);
  attrs.push(["base_job_template", call("jsonencode", withBlockRef(pool.base_job_template ?? {}, blockId, blockKey))]);
  return {
    mode: "resource",
    cloud: "prefect",
    type: "prefect_work_pool",
    name,
    key: `prefect/work-pool/${name}`,
    pool: name,
    step: "prefect.work-pool",
    derived: true,
    importId: name,
    attrs,
    comments: [],
  };
}
