import { refuseSecretFlags, SECRET_FLAGS } from "../clouds/own-credentials.js";
import type { Ctx } from "../context.js";
import { wantsJson } from "../context.js";
import { AbortError, UsageError } from "../errors.js";
import { checkBlockName, checkBlockType, ensureBlockKind } from "../prefect/block-docs.js";
import { createBlock } from "../prefect/blocks.js";
import { pyRepr, safeText, wpCommand } from "../ui/io.js";
import { blockJson, storageBlockData } from "./block-common.js";
import { defineCommand } from "./spec.js";

export default defineCommand({
  name: "create",
  args: ["<type>", "<name>"],
  summary: "Create a credentials or storage block from credentials you already have (checked before it is written)",
  json: true,
  options: [
    { flags: "--aws-profile <name>", description: "aws-credentials: AWS profile (SSO, static keys, process…)" },
    { flags: "--region <region>", description: "aws-credentials: region_name stored in the block" },
    {
      flags: "--client-id <id>",
      description: "azure-container-instance-credentials: app (client) id (or AZURE_CLIENT_ID)",
    },
    { flags: "--tenant-id <id>", description: "azure-container-instance-credentials: tenant id (or AZURE_TENANT_ID)" },
    { flags: "--key-file <file>", description: "gcp-credentials: service account JSON key file, or - for stdin" },
    { flags: "--modal-profile <name>", description: "modal-credentials: profile in ~/.modal.toml" },
    { flags: "--account-url <url>", description: "azure-blob-storage-credentials: account URL (ambient identity)" },
    { flags: "--bucket <name>", description: "s3-bucket, gcs-bucket: bucket name" },
    { flags: "--bucket-folder <path>", description: "s3-bucket, gcs-bucket: folder in the bucket" },
    { flags: "--container <name>", description: "azure-blob-storage-container: container name" },
    { flags: "--base-folder <path>", description: "azure-blob-storage-container: folder in the container" },
    { flags: "--aws-credentials-block-name <name>", description: "s3-bucket: aws-credentials block to use" },
    { flags: "--gcp-credentials-block-name <name>", description: "gcs-bucket: gcp-credentials block to use" },
    {
      flags: "--azure-blob-storage-credentials-block-name <name>",
      description: "azure-blob-storage-container: azure-blob-storage-credentials block to use",
    },
    { flags: "--overwrite", description: "replace the data of an existing block of that name" },
    { flags: "--no-verify", description: "do not check that the credential authenticates" },
    ...Object.keys(SECRET_FLAGS).map((f) => ({ flags: `${f} [value]`, description: "refused", hidden: true })),
  ],
  examples: [
    "wp block create aws-credentials my-aws --aws-profile dev --region us-east-1",
    "wp block create azure-container-instance-credentials my-aci",
    "wp block create gcp-credentials my-gcp --key-file key.json",
    "wp block create modal-credentials my-modal --yes",
  ],
  async run(ctx, [rawType, rawName], opts) {
    refuseSecretFlags(opts);
    const json = wantsJson(opts);
    const type = checkBlockType(rawType);
    const name = checkBlockName(rawName);
    if (!ctx.global.yes && !ctx.interactive) {
      throw new UsageError(
        `Refusing to write block ${pyRepr(`${type}/${name}`)} without confirmation.`,
        "Pass --yes to write it.",
      );
    }
    const api = await ctx.prefect();
    const existing = await api.readBlockType(type).then((t) => (t ? api.readBlockDocument(type, name) : null));
    if (existing && opts.overwrite !== true) {
      throw new UsageError(
        `Block ${pyRepr(`${type}/${name}`)} already exists.`,
        "Pass --overwrite to replace its data, or choose another name.",
      );
    }
    const { data, who } = await gather(ctx, type, opts);
    if (!ctx.global.yes) {
      const ok = await ctx.prompts.confirm(
        `${existing ? "Replace" : "Create"} block ${type}/${name}${who ? ` (${who})` : ""}?`,
        true,
      );
      if (!ok) throw new AbortError("Nothing written.");
    }
    const kind = await ensureBlockKind(api, type);
    let doc = existing;
    if (existing) await api.updateBlockDocument(existing.id, data);
    else doc = await createBlock(api, kind, name, data);
    const written = doc ? await api.readBlockDocumentById(doc.id) : null;
    const message = `${existing ? "Updated" : "Created"} block ${safeText(`${type}/${name}`)}`;
    if (json) {
      ctx.info(message);
      ctx.printJson(written ? blockJson(written, type) : null);
      return;
    }
    ctx.print(ctx.color.out.green(`${message} (id ${safeText(written?.id ?? "")})`));
    if (CREDENTIAL_HINT[type]) {
      ctx.print(
        `Use it: ${wpCommand("create", "POOL", "--type", CREDENTIAL_HINT[type] ?? "", "--credentials-block", name)}`,
      );
    }
  },
});

const CREDENTIAL_HINT: Record<string, string> = {
  "aws-credentials": "ecs:push",
  "azure-container-instance-credentials": "azure-container-instance:push",
  "gcp-credentials": "cloud-run-v2:push",
  "modal-credentials": "modal:push",
  "coiled-credentials": "coiled:push",
};

/** The block's data, checked (credentials) or resolved (storage references); `who` names the identity. */
async function gather(
  ctx: Ctx,
  type: string,
  opts: Record<string, unknown>,
): Promise<{ data: Record<string, unknown>; who: string | null }> {
  if (type in CREDENTIAL_HINT || type === "azure-blob-storage-credentials") {
    const { ownCredential } = await import("../clouds/own-credentials.js");
    const cred = await ownCredential({
      type,
      flags: opts,
      env: ctx.env,
      cwd: ctx.cwd,
      interactive: ctx.interactive,
      prompts: ctx.prompts,
    });
    ctx.info(`Using the credential from ${safeText(cred.source)}.`);
    if (cred.note) ctx.warn(cred.note);
    if (!cred.verify) {
      ctx.info(`wp does not check ${type} credentials: the block is written as given.`);
      return { data: cred.data, who: null };
    }
    if (opts.verify === false) {
      ctx.warn("Not checked (--no-verify): the block may hold a credential that does not work.");
      return { data: cred.data, who: null };
    }
    const who = await cred.verify();
    ctx.info(`Checked: ${safeText(who)}.`);
    return { data: cred.data, who };
  }
  return { data: await storageBlockData(ctx, type, opts), who: null };
}
