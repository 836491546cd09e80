/**
 * Adapts the CLI's provider input to createCloudRunProvisioner: the project (resolved by the
 * provider's prepare, or Prefect's project picker on a terminal — pickProject, from the provider's
 * choose — else exit 2 naming --project).
 */

import { stringDefault } from "../../engine/lifecycle-types.js";
import { checkName, type ProviderInput } from "../../engine/provider.js";
import type { Provisioner } from "../../engine/types.js";
import { UsageError } from "../../errors.js";
import { DEFAULT_REGION, resolveProject } from "./config.js";
import { type CloudRunNames, createCloudRunProvisioner } from "./index.js";
import { BLOCK_TYPE } from "./names.js";
import { GCP_NAME_RULES } from "./provider.js";

const KEYS: Array<keyof CloudRunNames> = ["serviceAccount", "repository", "block"];

export async function createCloudRunProvisionerFromInput(input: ProviderInput): Promise<Provisioner> {
  const names: Partial<CloudRunNames> = {};
  for (const key of KEYS) {
    const value = input.names[key];
    if (value) names[key] = value;
  }
  const str = (k: string) => (typeof input.flags[k] === "string" && input.flags[k] ? String(input.flags[k]) : "");
  // Nothing said where (no flag, environment or gcloud setting, no record): an existing pool's
  // template and block do, before the defaults.
  const defaulted = input.mode === "provision" && input.flags.regionSource === "the default";
  const given = defaulted ? "" : str("region");
  const infer = input.mode === "read" || defaulted || !str("project");
  const where = infer ? await readWhere(input, str("project"), given) : null;
  const region = where?.region || str("region") || DEFAULT_REGION;
  const project = where?.project || str("project");
  if (!project)
    throw new UsageError(
      "No GCP project is set.",
      "Pass --project, or set GOOGLE_CLOUD_PROJECT (or gcloud's core/project).",
    );
  return createCloudRunProvisioner({
    poolName: input.poolName,
    prefect: input.prefect,
    project,
    region,
    names,
    env: input.env,
    guard: input.guard,
    mode: input.mode,
  });
}

/**
 * Where the pool's resources live when neither the record nor the command line says: a pool
 * without them in its record shows them in its template (region, the service account's email) and
 * its block (`project`), else the environment's project (as gcloud users have it).
 */
async function readWhere(input: ProviderInput, project: string, region: string) {
  if (project && region) return { project, region };
  const pool = await input.prefect.readWorkPool(input.poolName);
  const email = pool ? stringDefault(pool, "service_account_name") : undefined;
  const block = input.names.block ? await input.prefect.readBlockDocument(BLOCK_TYPE, input.names.block) : null;
  const fromBlock = (block?.data as { project?: unknown } | undefined)?.project;
  const fromEmail = email && /@([^.]+)\.iam\.gserviceaccount\.com$/.exec(email)?.[1];
  return {
    project:
      project ||
      (typeof fromBlock === "string" && fromBlock) ||
      fromEmail ||
      resolveProject(undefined, input.env)?.value ||
      "",
    region: region || (pool ? stringDefault(pool, "region") : undefined) || DEFAULT_REGION,
  };
}

/** Prefect's picker: "Please select which GCP project to use", the current default first. */
export async function pickProject(
  input: Pick<ProviderInput, "env" | "prompts" | "note">,
  region: string,
  current: string,
): Promise<string> {
  const { resolveGcp } = await import("./sdk.js");
  input.note("Fetching your GCP projects...");
  const gcp = await resolveGcp({ project: current || "-", region, env: input.env });
  const projects = (await gcp.listProjects()).filter((p) => p.projectId);
  if (projects.length === 0) {
    if (current) return current;
    throw new UsageError("Your Google account can see no active GCP project.", "Pass --project.");
  }
  projects.sort((a, b) => Number(b.projectId === current) - Number(a.projectId === current));
  const id = await input.prompts.select(
    "Please select which GCP project to use",
    projects.map((p) => ({
      label: `${p.name ?? p.projectId}  (${p.projectId})${p.projectId === current ? "  current" : ""}`,
      value: p.projectId as string,
    })),
  );
  checkName("GCP project id", "--project", id, GCP_NAME_RULES.project);
  return id;
}
