/**
 * Checks for `wp export terraform` output: runs the export, parses every file with @cdktf/hcl2json
 * (Terraform's HCL parser compiled to wasm), and checks the result against the providers' documented
 * schemas (fixtures/provider-schemas.json, each entry with the page it was taken from), the
 * provisioning records (an import for each recorded resource, none for anything else) and the
 * secrets the simulators minted (none in any file).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "@cdktf/hcl2json";
import { expect } from "vitest";
import { type ProvisioningRecord, readRecord } from "../../src/engine/record.js";
import { connect } from "../../src/prefect/client.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { runCli } from "../helpers/run-cli.js";

type Obj = Record<string, unknown>;

interface TypeSchema {
  doc: string;
  arguments: Record<string, "required" | "optional">;
  attributes: string[];
  write_only?: string[];
  import?: { format: string; pattern: string };
}

interface Schemas {
  meta_arguments: {
    resource: string[];
    lifecycle: string[];
    import: { arguments: string[] };
    variable: { arguments: string[] };
  };
  providers: Record<string, { arguments: Record<string, string>; blocks?: Record<string, string> }>;
  resource: Record<string, TypeSchema>;
  data: Record<string, TypeSchema>;
}

export const schemas = JSON.parse(
  readFileSync(new URL("./fixtures/provider-schemas.json", import.meta.url), "utf8"),
) as Schemas;

export interface ExportJson {
  dir: string;
  pools: string[];
  files: Array<{ file: string; bytes: number }>;
  resources: Array<{
    address: string;
    type: string;
    pools: string[];
    step: string;
    recordId?: string;
    importId?: string;
    adopted: boolean;
    generateConfig?: boolean;
  }>;
  notManaged: Array<{ pool: string; step: string; kind: string; name: string; reason: string }>;
  variables: string[];
}

export interface Exported {
  json: ExportJson;
  /** File name → text. */
  files: Map<string, string>;
  /** Every file parsed and merged: { resource: { type: { label: [body] } }, import: [...], … }. */
  hcl: Obj;
  cleanup(): void;
}

/** Merges hcl2json documents: maps merged key by key, lists concatenated. */
function merge(into: Obj, doc: Obj): void {
  for (const [k, v] of Object.entries(doc)) {
    const cur = into[k];
    if (Array.isArray(v)) into[k] = [...((cur as unknown[]) ?? []), ...v];
    else if (typeof v === "object" && v !== null) {
      const next = (cur ?? {}) as Obj;
      merge(next, v as Obj);
      into[k] = next;
    } else into[k] = v;
  }
}

export async function exportPools(
  env: Record<string, string>,
  pools: string[],
  extra: string[] = [],
): Promise<Exported> {
  const dir = mkdtempSync(join(tmpdir(), "wp-export-"));
  const out = join(dir, "tf");
  const r = await runCli(["export", "terraform", ...pools, "--dir", out, "-o", "json", ...extra], { env });
  expect(r.code, r.stderr).toBe(0);
  const json = JSON.parse(r.stdout) as ExportJson;
  const files = new Map(readdirSync(out).map((f) => [f, readFileSync(join(out, f), "utf8")]));
  const hcl: Obj = {};
  for (const [f, text] of files) merge(hcl, (await parse(f, text)) as Obj);
  return { json, files, hcl, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

type Bodies = Record<string, Record<string, Obj[]>>;

/** `${aws_iam_role.x.arn}` → every reference to a resource, data source or variable in a string. */
function references(v: unknown, found: string[] = []): string[] {
  if (typeof v === "string") {
    // Quoted strings inside the expression are data (a job template's text), not references.
    const code = v.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    for (const m of code.matchAll(/\$\{([\s\S]*)\}/g)) {
      for (const r of (m[1] ?? "").matchAll(
        /\b(?:data\.)?[a-z]+_[a-z0-9_]+\.[a-z0-9_]+(?:\.[a-z_]+)?|\bvar\.[a-z0-9_]+/g,
      ))
        found.push(r[0]);
    }
  } else if (Array.isArray(v)) for (const x of v) references(x, found);
  else if (typeof v === "object" && v !== null) for (const x of Object.values(v)) references(x, found);
  return found;
}

const FUNCTIONS = new Set(["jsonencode", "jsondecode"]);

/** Every block is a documented type with documented arguments, every required argument is set, every reference resolves. */
export function checkSchemas(hcl: Obj): void {
  const meta = schemas.meta_arguments;
  const declared = new Set<string>();
  for (const [mode, table] of [
    ["resource", schemas.resource],
    ["data", schemas.data],
  ] as const) {
    for (const [type, byLabel] of Object.entries((hcl[mode] ?? {}) as Bodies)) {
      const schema = table[type];
      expect(schema, `${mode} type ${type} is not in the schema fixture`).toBeDefined();
      if (!schema) continue;
      for (const [label, [body]] of Object.entries(byLabel)) {
        declared.add(`${mode === "data" ? "data." : ""}${type}.${label}`);
        const args = Object.keys(body ?? {});
        for (const a of args) {
          const known = a in schema.arguments || meta.resource.includes(a);
          expect(known, `${type}.${label}: argument ${a} is not documented (${schema.doc})`).toBe(true);
        }
        for (const [a, need] of Object.entries(schema.arguments))
          if (need === "required") expect(args, `${type}.${label} lacks required ${a} (${schema.doc})`).toContain(a);
        for (const l of ((body?.lifecycle as Obj[] | undefined) ?? []).flatMap((x) => Object.keys(x)))
          expect(meta.lifecycle).toContain(l);
      }
    }
  }
  for (const [name, bodies] of Object.entries((hcl.provider ?? {}) as Record<string, Obj[]>)) {
    const p = schemas.providers[name];
    expect(p, `provider ${name} is not in the schema fixture`).toBeDefined();
    for (const body of bodies)
      for (const a of Object.keys(body))
        expect(a in (p?.arguments ?? {}) || a in (p?.blocks ?? {}), `provider ${name}: ${a}`).toBe(true);
  }
  const variables = (hcl.variable ?? {}) as Record<string, Obj[]>;
  for (const [name, [body]] of Object.entries(variables)) {
    for (const a of Object.keys(body ?? {})) expect(meta.variable.arguments).toContain(a);
    // Every variable carries a secret for write-only data: never in the plan or the state.
    expect(body?.sensitive, name).toBe(true);
    expect(body?.ephemeral, name).toBe(true);
  }
  // Import targets are checked by checkImports (Terraform may generate their configuration); their ids here.
  const importIds = ((hcl.import ?? []) as Obj[]).map((i) => i.id);
  for (const ref of references([hcl.resource, hcl.data, importIds])) {
    if (ref.startsWith("var.")) {
      expect(Object.keys(variables), ref).toContain(ref.slice(4));
      continue;
    }
    const parts = ref.split(".");
    const isData = parts[0] === "data";
    const [type, label, attr] = isData ? parts.slice(1) : parts;
    if (!type || FUNCTIONS.has(type)) continue;
    expect(declared, `reference ${ref} to nothing declared`).toContain(`${isData ? "data." : ""}${type}.${label}`);
    const schema = (isData ? schemas.data : schemas.resource)[type];
    if (attr) expect(schema?.attributes ?? [], `${ref}: ${attr} is not a documented attribute`).toContain(attr);
  }
  // Secrets reach Prefect only through write-only arguments.
  for (const [label, [body]] of Object.entries(
    ((hcl.resource as Bodies | undefined)?.prefect_block ?? {}) as Record<string, Obj[]>,
  )) {
    expect(body, label).not.toHaveProperty("data");
    expect(String(body?.data_wo)).toMatch(/^\$\{jsonencode\(/);
  }
}

export interface ImportBlock {
  to: string;
  id: string;
}

export function imports(hcl: Obj): ImportBlock[] {
  return ((hcl.import ?? []) as Obj[]).map((i) => ({ to: String(i.to).replace(/^\$\{|\}$/g, ""), id: String(i.id) }));
}

/** Import blocks: each targets a declared resource (or one Terraform generates), by an id of the documented form. */
export function checkImports(hcl: Obj, json: ExportJson): ImportBlock[] {
  const blocks = imports(hcl);
  const resources = (hcl.resource ?? {}) as Bodies;
  for (const b of blocks) {
    const [type, label] = b.to.split(".");
    const schema = schemas.resource[type ?? ""];
    expect(schema?.import, `import into ${b.to}: type not in the fixture`).toBeDefined();
    expect(b.id).toMatch(new RegExp(schema?.import?.pattern ?? "^$"));
    const generated = json.resources.find((r) => r.address === b.to)?.generateConfig === true;
    if (!generated) expect(resources[type ?? ""]?.[label ?? ""], `import into undeclared ${b.to}`).toBeDefined();
  }
  // The JSON document lists exactly the imports the files hold.
  const listed = json.resources.filter((r) => r.importId !== undefined).map((r) => `${r.address} ${r.importId}`);
  expect(blocks.map((b) => `${b.to} ${b.id}`).sort()).toEqual(listed.sort());
  expect(new Set(blocks.map((b) => b.to)).size).toBe(blocks.length);
  return blocks;
}

/**
 * Imports exactly what the records name: each recorded resource with an id is imported (by a
 * resource that names it as its record id), and every import comes from a record entry (or is the
 * pool itself); nothing else is imported.
 */
export function checkAgainstRecords(json: ExportJson, records: ProvisioningRecord[]): void {
  const imported = json.resources.filter((r) => r.importId !== undefined);
  for (const rec of records)
    for (const r of rec.resources.filter((x) => x.id)) {
      const hit = imported.find((x) => x.recordId === r.id && x.pools.includes(rec.work_pool) && x.step === r.step);
      expect(hit, `${rec.work_pool}: ${r.kind} ${r.name} (${r.id}) is not imported`).toBeDefined();
    }
  for (const x of imported) {
    if (x.step === "prefect.work-pool") {
      expect(x.importId).toBe(x.pools[0]);
      continue;
    }
    const named = records.some(
      (rec) => x.pools.includes(rec.work_pool) && rec.resources.some((r) => r.step === x.step),
    );
    expect(named, `${x.address} imports something no record names`).toBe(true);
  }
  const pools = records.map((r) => r.work_pool);
  expect(
    imported
      .filter((x) => x.step === "prefect.work-pool")
      .map((x) => x.importId)
      .sort(),
  ).toEqual([...pools].sort());
}

/** No file holds any of the secrets. */
export function checkNoSecrets(files: Map<string, string>, secrets: string[]): void {
  expect(secrets.filter(Boolean).length).toBe(secrets.length);
  for (const [f, text] of files) for (const s of secrets) expect(text.includes(s), `${f} holds a secret`).toBe(false);
}

export async function prefectOf(env: Record<string, string>) {
  return connect(await loadSettings(env), { env });
}

export async function recordsOf(env: Record<string, string>, pools: string[]): Promise<ProvisioningRecord[]> {
  const api = await prefectOf(env);
  try {
    const out: ProvisioningRecord[] = [];
    for (const p of pools) {
      const r = await readRecord(api, p);
      expect(r, `record of ${p}`).not.toBeNull();
      if (r) out.push(r.record);
    }
    return out;
  } finally {
    api.close();
  }
}

/** The block's data with its secrets (read here only to prove the files do not hold them). */
export async function blockSecrets(env: Record<string, string>, slug: string, name: string): Promise<Obj> {
  const api = await prefectOf(env);
  try {
    const doc = await api.readBlockDocument(slug, name, true);
    expect(doc, `block ${slug}/${name}`).not.toBeNull();
    return (doc?.data ?? {}) as Obj;
  } finally {
    api.close();
  }
}

/** The HCL body of one resource. */
export function body(hcl: Obj, address: string): Obj {
  const [type, label] = address.split(".");
  return ((hcl.resource as Bodies)[type ?? ""]?.[label ?? ""] ?? [])[0] ?? {};
}
