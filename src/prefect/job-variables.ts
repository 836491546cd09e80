/**
 * `--set VAR=VALUE` and `--credentials-block NAME`: job-variable defaults of a base job template, each value checked
 * against the variable's JSON schema in the template (with the template's definitions) before anything is written.
 */
import { UsageError } from "../errors.js";
import { pyRepr, safeText } from "../ui/io.js";
import { bestMatch, iterErrors, jsonPath, pyRepr as pyValue } from "./embedded/jsonschema.js";
import { blockRef } from "./template.js";
import type { JobTemplate } from "./types.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** One `--set` value: `VAR=VALUE`, VALUE parsed as JSON when it parses, else taken as a string. */
export function parseSet(raw: string): [string, unknown] {
  const eq = raw.indexOf("=");
  const name = eq < 0 ? "" : raw.slice(0, eq).trim();
  if (eq < 0 || !name) {
    throw new UsageError(
      `--set ${pyRepr(raw)} is not VAR=VALUE.`,
      'Pass e.g. --set cpu=1024 or --set \'env={"A": "1"}\'.',
    );
  }
  const text = raw.slice(eq + 1);
  try {
    return [name, JSON.parse(text)];
  } catch {
    return [name, text];
  }
}

/** Every `--set` (commander gives a string or a list) as ordered pairs; a variable set twice is an error. */
export function parseSets(given: unknown): Array<[string, unknown]> {
  const list = given === undefined ? [] : Array.isArray(given) ? given.map(String) : [String(given)];
  const out: Array<[string, unknown]> = [];
  for (const raw of list) {
    const pair = parseSet(raw);
    if (out.some(([n]) => n === pair[0])) throw new UsageError(`--set ${pyRepr(pair[0])} is given twice.`);
    out.push(pair);
  }
  return out;
}

function variablesOf(template: JobTemplate): { properties: Obj; root: Obj } {
  const variables = isObj(template.variables) ? template.variables : {};
  const properties = isObj(variables.properties) ? variables.properties : {};
  return { properties, root: variables };
}

/** The formats wp asserts (Prefect's jsonschema does not, but a wrong one fails at run time). */
const FORMATS: Record<string, RegExp> = {
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  "date-time": /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/,
  date: /^\d{4}-\d{2}-\d{2}$/,
  email: /^[^@\s]+@[^@\s]+$/,
  uri: /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/,
  ipv4: /^(\d{1,3})(\.\d{1,3}){3}$/,
};

/** A string value against the `format` of its schema (or of each anyOf branch of type string). */
function formatError(value: unknown, schema: Obj): string | null {
  if (typeof value !== "string") return null;
  const formats: string[] = [];
  if (typeof schema.format === "string") formats.push(schema.format);
  for (const branch of [schema.anyOf, schema.oneOf, schema.allOf].flat()) {
    if (isObj(branch) && typeof branch.format === "string" && (branch.type ?? "string") === "string")
      formats.push(branch.format);
  }
  for (const f of formats) {
    const re = FORMATS[f];
    if (re && !re.test(value)) return `${pyValue(value)} is not a ${pyRepr(f)}`;
  }
  return null;
}

/** Checks `value` against variable `name` of `template`: null when it fits, else the reason in jsonschema's words. */
export function variableError(template: JobTemplate, name: string, value: unknown): string | null {
  const { properties, root } = variablesOf(template);
  const schema = properties[name];
  if (!isObj(schema)) return null;
  const best = bestMatch(iterErrors(value, schema, root as never));
  if (best) {
    const at = jsonPath(best);
    return at === "$" ? best.message : `${best.message} (at ${at.replace(/^\$/, name)})`;
  }
  return formatError(value, schema);
}

/**
 * A deep copy of `template` with each pair's default set, every value checked first (unknown variable or a value
 * its schema refuses: a UsageError naming the variable, the reason and the variables there are).
 */
export function withJobVariables(template: JobTemplate, pairs: Array<[string, unknown]>, flag = "--set"): JobTemplate {
  const { properties } = variablesOf(template);
  for (const [name, value] of pairs) {
    if (!isObj(properties[name])) {
      const known = Object.keys(properties).sort().join(", ") || "none";
      throw new UsageError(
        `${flag}: the job template has no variable ${pyRepr(name)}.`,
        `Variables of this template: ${safeText(known)}.`,
      );
    }
    const problem = variableError(template, name, value);
    if (problem) {
      throw new UsageError(
        `${flag} ${safeText(name)}: ${safeText(problem)}.`,
        `See the variable's schema with \`wp get-default-base-job-template\`.`,
      );
    }
  }
  const copy = structuredClone(template);
  const props = variablesOf(copy).properties;
  for (const [name, value] of pairs) (props[name] as Obj).default = value;
  return copy;
}

/** The template with `variable` set to a `$ref` to the block document (not schema-checked: Prefect resolves it). */
export function withCredentialsBlock(template: JobTemplate, variable: string, blockId: string): JobTemplate {
  const { properties } = variablesOf(template);
  if (!isObj(properties[variable])) {
    throw new UsageError(
      `--credentials-block: the pool's job template has no variable ${pyRepr(variable)} to hold it.`,
      "Use the type's default template (`wp get-default-base-job-template`), or set the reference in your template.",
    );
  }
  const copy = structuredClone(template);
  (variablesOf(copy).properties[variable] as Obj).default = blockRef(blockId);
  return copy;
}

/** The block document id a template variable's default references, or null. */
export function referencedBlockId(template: JobTemplate | null | undefined, variable: string): string | null {
  const prop = variablesOf(template ?? {}).properties[variable];
  const ref = isObj(prop) && isObj(prop.default) ? prop.default.$ref : undefined;
  return isObj(ref) && typeof ref.block_document_id === "string" ? ref.block_document_id : null;
}

/** Every block document id a template references anywhere (`{"$ref": {"block_document_id": …}}`). */
export function blockIdsIn(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) blockIdsIn(v, out);
  else if (isObj(value)) {
    const ref = value.$ref;
    if (isObj(ref) && typeof ref.block_document_id === "string") out.add(ref.block_document_id);
    for (const v of Object.values(value)) blockIdsIn(v, out);
  }
  return out;
}
