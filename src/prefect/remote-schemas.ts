/**
 * The shapes wp relies on in answers from a remote Prefect API (Cloud or a server), checked with zod. Only the fields
 * wp reads are checked, and loosely: Prefect adds fields between versions, and those pass through. Loaded only on the
 * HTTP path (the embedded API is trusted), so `wp --help` and the embedded commands never load zod.
 */
import { z } from "zod";

const text = z.string();
const optionalText = z.string().nullish();
const record = z.record(z.string(), z.unknown());

const workPool = z.looseObject({
  id: text,
  name: text,
  type: text,
  description: optionalText,
  base_job_template: record.optional(),
  is_paused: z.boolean().optional(),
  concurrency_limit: z.number().nullish(),
  status: optionalText,
  default_queue_id: optionalText,
  created: optionalText,
  updated: optionalText,
});

const blockType = z.looseObject({ id: text, name: text, slug: text });

const blockSchema = z.looseObject({
  id: text,
  checksum: text,
  block_type_id: text,
  version: text.optional(),
  fields: record.optional(),
});

const blockDocument = z.looseObject({
  id: text,
  name: text.nullable().optional(),
  data: record.optional(),
  block_type_id: text,
  block_schema_id: text,
  is_anonymous: z.boolean().optional(),
});

/** `{ collection: { worker_key: { type, default_base_job_configuration, … } } }`. */
const workerMetadata = z.record(z.string(), z.record(z.string(), record));

const flowRun = z.looseObject({
  id: text,
  name: text.nullish(),
  expected_start_time: optionalText,
  next_scheduled_start_time: optionalText,
  deployment_id: optionalText,
});

const SHAPES = {
  workPool: [workPool, "a work pool"],
  workPools: [z.array(workPool), "a list of work pools"],
  blockType: [blockType, "a block type"],
  blockSchema: [blockSchema, "a block schema"],
  blockSchemas: [z.array(blockSchema), "a list of block schemas"],
  blockDocument: [blockDocument, "a block document"],
  workerMetadata: [workerMetadata, "worker metadata"],
  flowRuns: [z.array(flowRun), "a list of flow runs"],
} as const;

export type Shape = keyof typeof SHAPES;

/** Null when `body` has the shape; otherwise what is wrong, e.g. `JSON that is not a work pool (id: missing)`. */
export function checkShape(shape: Shape, body: unknown): string | null {
  const [schema, name] = SHAPES[shape];
  const result = schema.safeParse(body);
  if (result.success) return null;
  const issue = result.error.issues[0];
  const got = body === undefined ? "an empty body" : "JSON";
  if (!issue) return `${got} that is not ${name}`;
  const where = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
  let why = issue.message.replace(/^Invalid input: /, "");
  if (issue.code === "invalid_type") {
    const value = issue.path.reduce<unknown>(
      (v, k) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : v),
      body,
    );
    why =
      value === undefined
        ? "missing"
        : `expected ${String(issue.expected).replace("record", "object")}, got ${kind(value)}`;
  }
  return `${got} that is not ${name} (${where ? `${where.replace(/^\./, "")}: ` : ""}${why})`;
}

function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : typeof value;
}
