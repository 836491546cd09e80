/**
 * wp's own block type: the provisioning record of a work pool (src/provision/record.ts). It is
 * registered from here (type and schema, with Prefect's checksum) on any server that lacks it, like
 * the bundled credential types. No secret fields: a record holds ids and names only.
 */

import type { BundledBlockType } from "./block-catalog.js";
import { blockSchemaChecksum } from "./checksum.js";

export const RECORD_BLOCK_TYPE = "wp-provisioning-record";

const fields = {
  title: "WpProvisioningRecord",
  description: "What wp provisioned for a Prefect work pool: each resource, its id and whether wp created it.",
  type: "object",
  properties: {
    work_pool: { title: "Work Pool", description: "The work pool this record belongs to.", type: "string" },
    pool_type: { title: "Pool Type", description: "The work pool's type.", type: "string" },
    provider: { title: "Provider", description: "wp's provider id, e.g. ecs or cloud-run.", type: "string" },
    context: {
      title: "Context",
      description: "Where the resources live (account, project, region).",
      type: "object",
      additionalProperties: { type: "string" },
    },
    resources: {
      title: "Resources",
      description: "Each resource: step, kind, name, id, created (by wp for this pool) or adopted.",
      type: "array",
      items: { type: "object" },
    },
    updated: { title: "Updated", description: "When a wp run last wrote this record.", type: "string" },
  },
  required: ["work_pool", "resources"],
  block_type_slug: RECORD_BLOCK_TYPE,
  secret_fields: [],
  block_schema_references: {},
};

let types: BundledBlockType[] | undefined;

/** wp's own block types, with their schema checksums (computed on first use: hashing costs `wp ls` node:crypto). */
export function wpBlockTypes(): BundledBlockType[] {
  types ??= [
    {
      name: "wp Provisioning Record",
      slug: RECORD_BLOCK_TYPE,
      logo_url: null,
      documentation_url: null,
      description:
        "What wp provisioned for a work pool (written by `wp create --provision-infra`, read by `wp status`).",
      code_example: null,
      block_schema: { checksum: blockSchemaChecksum(fields), fields, capabilities: [], version: "non-versioned" },
    },
  ];
  return types;
}
