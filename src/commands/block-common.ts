/** What the `block` commands share: the storage blocks' own fields, and how a document is shown. */
import type { Ctx } from "../context.js";
import { UsageError } from "../errors.js";
import { checkBlockName } from "../prefect/block-docs.js";
import { blockRef } from "../prefect/template.js";
import type { BlockDocument } from "../prefect/types.js";
import { pyRepr, safeText } from "../ui/io.js";

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

async function required(ctx: Ctx, value: string | undefined, flag: string, prompt: string): Promise<string> {
  if (value !== undefined && value.trim() !== "") return value.trim();
  if (!ctx.interactive) throw new UsageError(`${flag} is required without a terminal.`, `Pass ${flag}.`);
  const answer = (await ctx.prompts.text(prompt)).trim();
  if (!answer) throw new UsageError(`${flag} cannot be empty.`);
  return answer;
}

/** A credentials block the storage block points to: it must exist; returns its `$ref`, or `{}` when none is named. */
async function credentialsRef(ctx: Ctx, slug: string, name: string | undefined, flag: string) {
  if (name === undefined) return {};
  checkBlockName(name, flag);
  const api = await ctx.prefect();
  const doc = (await api.readBlockType(slug)) ? await api.readBlockDocument(slug, name) : null;
  if (!doc) {
    throw new UsageError(
      `${flag}: block ${pyRepr(`${slug}/${name}`)} does not exist.`,
      `Create it first with \`wp block create ${slug} ${name}\`, or leave out ${flag}.`,
    );
  }
  return blockRef(doc.id);
}

/** The data of an s3-bucket, gcs-bucket or azure-blob-storage-container block (no secret in any of them). */
export async function storageBlockData(
  ctx: Ctx,
  type: string,
  opts: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  switch (type) {
    case "s3-bucket":
      return {
        bucket_name: await required(ctx, str(opts.bucket), "--bucket", "Enter the name of the S3 bucket"),
        bucket_folder: str(opts.bucketFolder) ?? "",
        credentials: await credentialsRef(
          ctx,
          "aws-credentials",
          str(opts.awsCredentialsBlockName),
          "--aws-credentials-block-name",
        ),
      };
    case "gcs-bucket":
      return {
        bucket: await required(ctx, str(opts.bucket), "--bucket", "Enter the name of the GCS bucket"),
        bucket_folder: str(opts.bucketFolder) ?? "",
        gcp_credentials: await credentialsRef(
          ctx,
          "gcp-credentials",
          str(opts.gcpCredentialsBlockName),
          "--gcp-credentials-block-name",
        ),
      };
    case "azure-blob-storage-container": {
      const flag = "--azure-blob-storage-credentials-block-name";
      const creds = str(opts.azureBlobStorageCredentialsBlockName);
      if (creds === undefined) throw new UsageError(`${flag} is required for azure-blob-storage-container.`);
      return {
        container_name: await required(ctx, str(opts.container), "--container", "Enter the name of the container"),
        ...(str(opts.baseFolder) !== undefined ? { base_folder: str(opts.baseFolder) } : {}),
        credentials: await credentialsRef(ctx, "azure-blob-storage-credentials", creds, flag),
      };
    }
    default:
      throw new UsageError(`Block type ${pyRepr(type)} is not a storage block.`);
  }
}

/** A document as `-o json` prints it: Prefect's BlockDocument (secrets as the server masks them). */
export function blockJson(doc: BlockDocument, type: string): Record<string, unknown> {
  return { slug: `${type}/${doc.name ?? ""}`, ...doc };
}

/** Python's repr() of a JSON value: 'text', None, True, 1, ['a'], {'k': 'v'}. */
function pyValueRepr(v: unknown): string {
  if (typeof v === "string") return pyRepr(v);
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (Array.isArray(v)) return `[${v.map(pyValueRepr).join(", ")}]`;
  if (typeof v === "object") {
    return `{${Object.entries(v)
      .map(([k, x]) => `${pyRepr(k)}: ${pyValueRepr(x)}`)
      .join(", ")}}`;
  }
  return String(v);
}

/** Python's str() of a field's value, as Prefect's `display_block` prints it (a string as it is). */
export const pyStr = (v: unknown): string => (typeof v === "string" ? v : pyValueRepr(v));

/**
 * The text lines `block inspect` prints: the slug, type, id, then each field as Prefect's `prefect block inspect`
 * shows it (`str(value)`: nested values as Python writes them; secrets as the server masked them).
 */
export function blockLines(doc: BlockDocument, type: string): string[] {
  const rows: Array<[string, string]> = [
    ["Block Type", doc.block_type?.name ?? type],
    ["Block id", doc.id],
    ["Created", doc.created ?? ""],
    ["Updated", doc.updated ?? ""],
  ];
  for (const [k, v] of Object.entries(doc.data ?? {})) rows.push([k, pyStr(v)]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    `${type}/${safeText(doc.name ?? "")}`,
    ...rows.map(([k, v]) => `${safeText(k).padEnd(width)}  ${safeText(v)}`),
  ];
}
