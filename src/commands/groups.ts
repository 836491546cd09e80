/** The command groups: `wp block …`, `wp storage …`, `wp export …`, `wp server …`. */
import blockCreate from "./block-create.js";
import blockDelete from "./block-delete.js";
import blockInspect from "./block-inspect.js";
import blockLs from "./block-ls.js";
import { exportTerraform } from "./export.js";
import type { CommandGroup } from "./registry.js";
import server from "./server.js";
import { configureAzure, configureGcs, configureS3 } from "./storage-configure.js";
import storageInspect from "./storage-inspect.js";

/** `wp block …`: named as Prefect's `prefect block` commands. */
export const blockGroup: CommandGroup = {
  name: "block",
  summary: "create, list, inspect and delete credentials and storage blocks (TYPE/NAME)",
  commands: [blockCreate, blockLs, blockInspect, blockDelete],
};

/** `wp storage …` (also `wp work-pool storage …`): Prefect's `work-pool storage` commands. */
export const storageGroup: CommandGroup = {
  name: "storage",
  summary: "a work pool's storage for bundles and results (inspect, configure s3|gcs|azure-blob-storage)",
  commands: [
    storageInspect,
    {
      name: "configure",
      summary: "store a work pool's bundles and results in S3, GCS or Azure Blob Storage",
      commands: [configureS3, configureGcs, configureAzure],
    },
  ],
};

/** `wp export terraform NAME…`: what wp provisioned, as Terraform with import blocks. */
export const exportGroup: CommandGroup = {
  name: "export",
  summary: "write what wp provisioned for pools as Terraform (terraform NAME…), with import blocks",
  commands: [exportTerraform],
};

/** `wp server start`. */
export const serverGroup: CommandGroup = {
  name: "server",
  summary: "serve wp's embedded Prefect-compatible API over HTTP",
  commands: [server],
};
