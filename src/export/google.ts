/**
 * Cloud Run pools in `google` terms. Import ids as the provider documents them: project services
 * as `{project}/{service}`, the Artifact Registry repository by its `projects/…/repositories/…`
 * name (the record's id), the service account as `projects/{project}/serviceAccounts/{email}`, and
 * each project role of the record's binding entry as `"{project} {role} {member}"`. The service
 * account key is not handed over (see KEY_REASON).
 */
import { labelOf, type Value } from "./hcl.js";
import { emptyMapped, entry, from, type Mapped, type PoolInput, type TfResource } from "./model.js";

// Fixed values of wp's Cloud Run provisioner (src/clouds/gcp/names.ts).
const ROLES = ["roles/iam.serviceAccountUser", "roles/run.developer"];
const DISPLAY_NAME = "Prefect Cloud Run Service Account";
const REPOSITORY_DESCRIPTION = "Docker images of Prefect flows (created by wp)";

export const KEY_REASON =
  "the service account key stays outside Terraform: a google_service_account_key keeps its private key in the " +
  "state. `wp rotate-credentials` keeps rotating it; the block gets it through an ephemeral variable at apply time.";

/** What every Google entry's mapping shares. */
interface Gcp {
  out: Mapped;
  record: PoolInput["record"];
  project: string;
  region: string;
  add(r: Omit<TfResource, "mode" | "cloud" | "provider">): void;
  key(type: string, id: string): string;
}

export function mapGoogle(input: PoolInput): Mapped {
  const { record } = input;
  const out = emptyMapped();
  const pool = record.work_pool;
  const project = record.context.project ?? "";
  const region = record.context.region ?? "us-central1";
  const alias = labelOf(`${project}_${region}`);
  out.providers.push({
    cloud: "google",
    name: "google",
    alias,
    attrs: [
      ["project", project],
      ["region", region],
    ],
  });
  const add = (r: Omit<TfResource, "mode" | "cloud" | "provider">) =>
    out.resources.push({ mode: "resource", cloud: "google", provider: `google.${alias}`, ...r });
  const key = (type: string, id: string) => `google/${type}/${id}`;

  for (const step of ["gcp.run-api", "gcp.artifactregistry-api"]) {
    const api = entry(record, step);
    if (!api) continue;
    const service = api.id ?? api.name;
    add({
      ...from(record, api),
      type: "google_project_service",
      name: service.split(".")[0] ?? service,
      key: key("google_project_service", `${project}/${service}`),
      importId: `${project}/${service}`,
      attrs: [
        ["project", project],
        ["service", service],
        // wp's deprovision never disables an API: neither does Terraform's destroy.
        ["disable_on_destroy", false],
      ],
    });
  }

  const g: Gcp = { out, record, project, region, add, key };
  mapRepository(g);
  mapServiceAccount(g, pool);
  return out;
}

/** The Artifact Registry repository, by its `projects/…/repositories/…` name. */
function mapRepository(g: Gcp): void {
  const { record, project, region, add, key } = g;
  const repo = entry(record, "gcp.repository");
  if (repo?.id) {
    const location = repo.id.split("/")[3] ?? region;
    add({
      ...from(record, repo),
      type: "google_artifact_registry_repository",
      name: repo.name,
      key: key("google_artifact_registry_repository", repo.id),
      importId: repo.id,
      attrs: [
        ["project", project],
        ["location", location],
        ["repository_id", repo.name],
        ["format", "DOCKER"],
        ...(repo.created ? [["description", REPOSITORY_DESCRIPTION] as [string, Value]] : []),
      ],
      ignore: ["labels"],
    });
  }
}

/** The service account (projects/{project}/serviceAccounts/{email}) and each role of its binding entry; its key stays with wp. */
function mapServiceAccount(g: Gcp, pool: string): void {
  const { out, record, project, add, key } = g;
  const sa = entry(record, "gcp.service-account");
  if (sa?.id) {
    const email = sa.id;
    add({
      ...from(record, sa),
      type: "google_service_account",
      name: email.split("@")[0] ?? email,
      key: key("google_service_account", email),
      importId: `projects/${project}/serviceAccounts/${email}`,
      attrs: [
        ["project", project],
        ["account_id", email.split("@")[0] ?? email],
        ...(sa.created ? [["display_name", DISPLAY_NAME] as [string, Value]] : []),
      ],
      ...(sa.created ? {} : { ignore: ["display_name"] }),
    });
    out.notManaged.push({
      pool,
      step: "gcp.service-account-key",
      kind: "Service account key",
      name: `of ${email}`,
      reason: KEY_REASON,
    });
  }

  const bindings = entry(record, "gcp.iam-bindings");
  if (bindings?.id) {
    const member = bindings.id;
    for (const role of ROLES) {
      add({
        ...from(record, bindings),
        type: "google_project_iam_member",
        name: `${member.split(":")[1]?.split("@")[0] ?? member}-${role.split("/")[1] ?? role}`,
        key: key("google_project_iam_member", `${project} ${role} ${member}`),
        importId: `${project} ${role} ${member}`,
        attrs: [
          ["project", project],
          ["role", role],
          ["member", member],
        ],
      });
    }
  }
}
