/**
 * From the pools' records to Terraform files: each cloud's mapper, resources shared by several
 * pools emitted once (same type and import id), labels unique per type, references resolved, and
 * one file per concern: versions.tf (Terraform, providers), aws.tf / azure.tf / google.tf /
 * prefect.tf (resources), imports.tf (an `import {}` block for each), variables.tf (the secrets,
 * ephemeral).
 */
import { mapAws } from "./aws.js";
import { mapAzure } from "./azure.js";
import { mapGoogle } from "./google.js";
import { type Block, type BodyItem, expr, labelOf, renderFile, renderValue, type Value } from "./hcl.js";
import type { Cloud, Mapped, NotManaged, PoolInput, ProviderConfig, TfResource, TfVariable } from "./model.js";
import { mapPrefect } from "./prefect.js";

export const HEADER = "Written by `wp export terraform`";

/** Terraform and provider versions the files need (write-only arguments: Terraform 1.11). */
const REQUIRED: Record<string, { source: string; version: string }> = {
  aws: { source: "hashicorp/aws", version: ">= 5.0" },
  azurerm: { source: "hashicorp/azurerm", version: ">= 4.0" },
  azuread: { source: "hashicorp/azuread", version: ">= 3.0" },
  google: { source: "hashicorp/google", version: ">= 6.0" },
  // data_wo / data_wo_version: registry.terraform.io/providers/prefecthq/prefect/2.90.4/docs/resources/block
  prefect: { source: "prefecthq/prefect", version: ">= 2.90.4" },
};

const MAPPERS: Record<string, (input: PoolInput) => Mapped> = {
  ecs: mapAws,
  aci: mapAzure,
  "cloud-run": mapGoogle,
};

export interface ExportedResource {
  address: string;
  type: string;
  pools: string[];
  step: string;
  recordId?: string;
  importId?: string;
  adopted: boolean;
  /** Terraform writes its configuration (`terraform plan -generate-config-out=generated.tf`). */
  generateConfig?: boolean;
}

export interface ExportPlan {
  files: Map<string, string>;
  resources: ExportedResource[];
  notManaged: NotManaged[];
  variables: string[];
}

interface Kept extends TfResource {
  label: string;
  pools: string[];
}

/** Maps every pool, then merges: a resource already emitted (another pool's) is kept once. */
function collect(inputs: PoolInput[]) {
  const all: Mapped = { resources: [], variables: [], notManaged: [], providers: [] };
  for (const input of inputs) {
    const cloud = MAPPERS[input.record.provider];
    if (cloud) append(all, cloud(input));
    else
      for (const r of input.record.resources.filter((x) => !x.step.startsWith("prefect.")))
        all.notManaged.push({
          pool: input.record.work_pool,
          step: r.step,
          kind: r.kind,
          name: r.name,
          ...(r.id ? { id: r.id } : {}),
          reason: `wp has no Terraform mapping for ${input.record.provider} resources`,
        });
    append(all, mapPrefect(input, {}));
  }
  const kept = new Map<string, Kept>();
  for (const r of all.resources) {
    const before = kept.get(r.key);
    if (!before) kept.set(r.key, { ...r, label: "", pools: [r.pool] });
    else {
      if (!before.pools.includes(r.pool)) before.pools.push(r.pool);
      // The pool that created a shared resource describes it (tags), not one that adopted it.
      if (before.adopted && !r.adopted) kept.set(r.key, { ...r, label: "", pools: before.pools });
    }
  }
  const variables = [...new Map(all.variables.map((v) => [v.name, v])).values()];
  const providers = [...new Map(all.providers.map((p) => [`${p.name}/${p.alias ?? ""}`, p])).values()];
  return { resources: [...kept.values()], variables, notManaged: all.notManaged, providers };
}

function append(to: Mapped, m: Mapped): void {
  to.resources.push(...m.resources);
  to.variables.push(...m.variables);
  to.notManaged.push(...m.notManaged);
  to.providers.push(...m.providers);
}

/** Unique labels per type, in order; aliases dropped for a provider configured once. */
function settle(resources: Kept[], providers: ProviderConfig[]) {
  const used = new Set<string>();
  for (const r of resources) {
    const base = labelOf(r.name);
    let label = base;
    for (let i = 2; used.has(`${r.mode}.${r.type}.${label}`); i++) label = `${base}_${i}`;
    used.add(`${r.mode}.${r.type}.${label}`);
    r.label = label;
  }
  const count = new Map<string, number>();
  for (const p of providers) count.set(p.name, (count.get(p.name) ?? 0) + 1);
  const single = (name: string) => (count.get(name) ?? 0) <= 1;
  for (const p of providers) if (single(p.name)) delete p.alias;
  for (const r of resources) if (r.provider && single(r.provider.split(".")[0] ?? "")) delete r.provider;
}

const address = (r: Kept) => `${r.mode === "data" ? "data." : ""}${r.type}.${r.label}`;

/** `REF key REF attr REF` markers (REF = U+E000 , model.ts `ref`) → `type.label.attr` / `var.name`. */
function resolver(resources: Kept[]) {
  const byKey = new Map(resources.map((r) => [r.key, address(r)]));
  return (text: string) =>
    text.replace(/\uE000([^\uE000]*)\uE000([^\uE000]*)\uE000/g, (_m, key: string, attr: string) => {
      if (key.startsWith("var/")) return `var.${key.slice(4)}`;
      const target = byKey.get(key);
      if (!target) throw new Error(`export: reference to a resource that was not exported (${key})`);
      return `${target}.${attr}`;
    });
}

function resourceBlock(r: Kept): Block {
  const body: BodyItem[] = r.attrs.map(([attr, value]) => ({ attr, value }));
  if (r.provider) body.push({ attr: "provider", value: expr(r.provider) });
  const lifecycle: BodyItem[] = [];
  if (r.adopted) lifecycle.push({ attr: "prevent_destroy", value: true });
  if (r.ignore?.length) lifecycle.push({ attr: "ignore_changes", value: r.ignore.map((i) => expr(i)) });
  if (lifecycle.length)
    body.push(...(body.length ? [{ blank: true as const }] : []), { block: { type: "lifecycle", body: lifecycle } });
  const comments = [...r.comments];
  if (r.adopted) comments.push("Adopted by wp (it did not create it): Terraform must not delete it either.");
  if (r.pools.length > 1) comments.push(`Shared by work pools ${r.pools.join(", ")}.`);
  return { type: r.mode, labels: [r.type, r.label], comments, body };
}

function importBlock(r: Kept): Block {
  const body: BodyItem[] = [
    { attr: "to", value: expr(address(r)) },
    { attr: "id", value: r.importId as Value },
  ];
  if (r.generateConfig && r.provider) body.push({ attr: "provider", value: expr(r.provider) });
  return { type: "import", comments: r.generateConfig ? r.comments : [], body };
}

function variableBlock(v: TfVariable): Block {
  return {
    type: "variable",
    labels: [v.name],
    body: [
      { attr: "description", value: v.description },
      { attr: "type", value: expr(v.type) },
      { attr: "sensitive", value: v.sensitive },
      { attr: "ephemeral", value: v.ephemeral },
    ],
  };
}

function versionsFile(providers: ProviderConfig[], prefectUrl: string | null): Block[] {
  const names = [...new Set(providers.map((p) => p.name)), "prefect"].filter((n) => REQUIRED[n]);
  const required: Record<string, Value> = Object.fromEntries(
    names.map((n) => [n, { source: REQUIRED[n]?.source ?? "", version: REQUIRED[n]?.version ?? "" }]),
  );
  const blocks: Block[] = [
    {
      type: "terraform",
      comments: ["Terraform 1.11 or newer: write-only arguments (prefect_block.data_wo) and ephemeral variables."],
      body: [
        { attr: "required_version", value: ">= 1.11.0" },
        {
          block: {
            type: "required_providers",
            body: [...Object.entries(required)].map(([attr, value]) => ({ attr, value })),
          },
        },
      ],
    },
  ];
  for (const p of providers) {
    const body: BodyItem[] = [
      ...(p.alias ? [{ attr: "alias", value: p.alias }] : []),
      ...p.attrs.map(([attr, value]) => ({ attr, value })),
    ];
    for (const b of p.emptyBlocks ?? []) body.push({ block: { type: b, body: [] } });
    blocks.push({ type: "provider", labels: [p.name], body });
  }
  const prefectComments = [
    "Credentials from the environment: PREFECT_API_KEY (Prefect Cloud) or PREFECT_BASIC_AUTH_KEY; never in this file.",
  ];
  if (!prefectUrl)
    prefectComments.push("wp's embedded API: serve it with `wp server start` and set endpoint to its URL.");
  blocks.push({
    type: "provider",
    labels: ["prefect"],
    comments: prefectComments,
    body: prefectUrl ? [{ attr: "endpoint", value: prefectUrl }] : [],
  });
  return blocks;
}

const FILE_OF: Record<Cloud, string> = { aws: "aws.tf", azure: "azure.tf", google: "google.tf", prefect: "prefect.tf" };

export function buildExport(inputs: PoolInput[], prefectUrl: string | null): ExportPlan {
  const { resources, variables, notManaged, providers } = collect(inputs);
  settle(resources, providers);
  const resolve = resolver(resources);
  const pools = inputs.map((i) => i.record.work_pool);
  const header = [
    `${HEADER} from the provisioning records of work pool${pools.length === 1 ? "" : "s"} ${pools.join(", ")}.`,
  ];
  const files = new Map<string, string>();
  const write = (file: string, lines: string[], blocks: Block[]) => {
    if (blocks.length) files.set(file, resolve(renderFile([...header, ...lines], blocks)));
  };
  write("versions.tf", [], versionsFile(providers, prefectUrl));
  for (const cloud of ["aws", "azure", "google", "prefect"] as Cloud[]) {
    const mine = resources.filter((r) => r.cloud === cloud && !r.generateConfig);
    write(FILE_OF[cloud], [], mine.map(resourceBlock));
  }
  const imported = resources.filter((r) => r.mode === "resource" && r.importId !== undefined);
  const notes = notManaged.length
    ? ["", "Not handed to Terraform:", ...notManaged.map((n) => `- ${n.kind} ${n.name} (${n.pool}): ${n.reason}`)]
    : [];
  const generate = imported.some((r) => r.generateConfig)
    ? ["", "Some imports have no configuration yet: run `terraform plan -generate-config-out=generated.tf` once."]
    : [];
  write(
    "imports.tf",
    ["Everything wp created or adopted, imported by the id each provider imports it by.", ...generate, ...notes],
    imported.map(importBlock),
  );
  write(
    "variables.tf",
    ["Secrets for the blocks' write-only data: give them at apply time (TF_VAR_… or -var)."],
    variables.map(variableBlock),
  );
  return {
    files,
    resources: resources.map((r) => ({
      address: address(r),
      type: r.type,
      pools: r.pools,
      step: r.step,
      ...(r.recordId ? { recordId: r.recordId } : {}),
      ...(r.importId !== undefined ? { importId: importText(r.importId, resolve) } : {}),
      adopted: r.adopted === true,
      ...(r.generateConfig ? { generateConfig: true } : {}),
    })),
    notManaged,
    variables: variables.map((v) => v.name),
  };
}

/** The import id as text: the id itself, or the expression Terraform evaluates at plan time. */
function importText(id: Value, resolve: (t: string) => string): string {
  if (typeof id === "string") return id;
  const text = resolve(renderValue(id));
  // A string template ("/applications/${…}") is shown as the string Terraform makes of it.
  return /^"[^"]*"$/.test(text) ? text.slice(1, -1) : text;
}
