/** Every command, in help order. Importing this loads no SDK, no SQLite and no HTTP code. */

import blockCreate from "./block-create.js";
import blockDelete from "./block-delete.js";
import blockInspect from "./block-inspect.js";
import blockLs from "./block-ls.js";
import { clearConcurrencyLimit, setConcurrencyLimit } from "./concurrency-limit.js";
import create from "./create.js";
import del from "./delete.js";
import deprovision from "./deprovision.js";
import { exportTerraform } from "./export.js";
import getDefaultBaseJobTemplate from "./get-default-base-job-template.js";
import inspect from "./inspect.js";
import ls from "./ls.js";
import { pause, resume } from "./pause.js";
import preview from "./preview.js";
import provisionInfra from "./provision-infra.js";
import rotateCredentials from "./rotate-credentials.js";
import server from "./server.js";
import slots from "./slots.js";
import type { CommandSpec } from "./spec.js";
import status from "./status.js";
import { configureAzure, configureGcs, configureS3 } from "./storage-configure.js";
import storageInspect from "./storage-inspect.js";
import update from "./update.js";
import verify from "./verify.js";

export const commands: CommandSpec[] = [
  create,
  ls,
  inspect,
  update,
  pause,
  resume,
  del,
  setConcurrencyLimit,
  clearConcurrencyLimit,
  getDefaultBaseJobTemplate,
  preview,
  slots,
  provisionInfra,
  status,
  verify,
  deprovision,
  rotateCredentials,
];

export const serverCommand = server;

/** A command with subcommands (`wp block create`, `wp storage configure s3`). */
export interface CommandGroup {
  name: string;
  summary: string;
  commands: Array<CommandSpec | CommandGroup>;
}

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
