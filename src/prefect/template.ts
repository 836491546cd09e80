import type { JobTemplate } from "./types.js";

const PLACEHOLDER = /{{\s*([\w.\-[\]$]+)\s*}}/g;

/**
 * Prefect's `validate_base_job_template`: returns the error message Prefect's server gives,
 * or null when the template is valid. `{}` is valid.
 */
export function baseJobTemplateError(template: unknown): string | null {
  if (typeof template !== "object" || template === null || Array.isArray(template)) {
    return "The `base_job_template` must be a JSON object.";
  }
  const t = template as JobTemplate;
  if (Object.keys(t).length === 0) return null;
  const jobConfiguration = t.job_configuration;
  const variables = t.variables;
  if (!truthy(jobConfiguration) || !truthy(variables)) {
    return "The `base_job_template` must contain both a `job_configuration` key and a `variables` key.";
  }
  const props = (variables as { properties?: Record<string, unknown> }).properties ?? {};
  const missing = new Set<string>();
  for (const value of Object.values(jobConfiguration as Record<string, unknown>)) {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    for (const m of text.matchAll(PLACEHOLDER)) {
      const name = m[1] ?? "";
      if (!(name in props)) missing.add(name);
    }
  }
  if (missing.size > 0) {
    return (
      "The variables specified in the job configuration template must be present as properties in the variables " +
      `schema. Your job configuration uses the following undeclared variable(s): ${[...missing].join(" ,")}.`
    );
  }
  return null;
}

function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}

/** The `{"$ref": {"block_document_id": id}}` value Prefect stores as a variable default. */
export function blockRef(blockDocumentId: string): { $ref: { block_document_id: string } } {
  return { $ref: { block_document_id: blockDocumentId } };
}

/**
 * Returns a deep copy of `template` with `variables.properties[name].default = value` for each entry;
 * a variable the template does not declare is an error naming it.
 */
export function withDefaults(template: JobTemplate, defaults: Record<string, unknown>): JobTemplate {
  const copy = structuredClone(template);
  const props = (copy.variables as { properties?: Record<string, Record<string, unknown>> } | undefined)?.properties;
  for (const [name, value] of Object.entries(defaults)) {
    const prop = props?.[name];
    if (!prop) throw new Error(`The job template has no variable '${name}'; use the type's default template.`);
    prop.default = value;
  }
  return copy;
}
