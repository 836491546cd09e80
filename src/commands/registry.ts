/** Every command, in help order. Importing this loads no SDK, no SQLite and no HTTP code. */
import { clearConcurrencyLimit, setConcurrencyLimit } from "./concurrency-limit.js";
import create from "./create.js";
import del from "./delete.js";
import deprovision from "./deprovision.js";
import getDefaultBaseJobTemplate from "./get-default-base-job-template.js";
import inspect from "./inspect.js";
import ls from "./ls.js";
import { pause, resume } from "./pause.js";
import preview from "./preview.js";
import provisionInfra from "./provision-infra.js";
import rotateCredentials from "./rotate-credentials.js";
import server from "./server.js";
import type { CommandSpec } from "./spec.js";
import status from "./status.js";
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
  provisionInfra,
  status,
  verify,
  deprovision,
  rotateCredentials,
];

export const serverCommand = server;
