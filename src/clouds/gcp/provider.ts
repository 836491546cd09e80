/** The Cloud Run provider: types, flags, resource names with Google's naming rules, Prefect's prompts. */
import { blockNameOption, checkName, type NameRule, nameOption, type Provider } from "../../engine/provider.js";

/** Google's rules for the names the Cloud Run provisioner uses. */
export const GCP_NAME_RULES = {
  project: {
    min: 6,
    max: 30,
    pattern: /^[a-z][a-z0-9-]*[a-z0-9]$/,
    allowed: "lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen",
  },
  serviceAccount: {
    min: 6,
    max: 30,
    pattern: /^[a-z]([-a-z0-9]*[a-z0-9])$/,
    allowed: "lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen",
  },
  repository: {
    min: 1,
    max: 63,
    pattern: /^[a-z]([a-z0-9-]*[a-z0-9])?$/,
    allowed: "lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen",
  },
} satisfies Record<string, NameRule>;

export const cloudRunProvider: Provider = {
  id: "cloud-run",
  title: "Google Cloud Run",
  types: ["cloud-run:push", "cloud-run-v2:push", "cloud-run", "cloud-run-v2"],
  blockType: "gcp-credentials",
  blockVariable: "credentials",
  // Where the resources live: later commands read them there (a contradicting flag is exit 2).
  recorded: { project: "project", region: "region" },
  namesFromTemplate(pool) {
    // A pool wp did not record: its template names the runtime service account by email.
    const props = (pool.base_job_template as { variables?: { properties?: Record<string, { default?: unknown }> } })
      ?.variables?.properties;
    const email = props?.service_account_name?.default;
    const id = typeof email === "string" ? /^([^@]+)@[^.]+\.iam\.gserviceaccount\.com$/.exec(email)?.[1] : undefined;
    return id ? { serviceAccount: id } : {};
  },
  lifecycle: async (input) => (await import("./lifecycle.js")).cloudRunLifecycle(input),
  async blockIdentity(data, env) {
    const info = (data.service_account_info ?? {}) as Record<string, unknown>;
    return (await import("./own-credentials.js")).gcpKeyIdentity(info, env);
  },
  async permissions({ poolName, names, flags }) {
    const { permissionsDocument } = await import("./permissions.js");
    const project = typeof flags.project === "string" ? flags.project : undefined;
    const region = typeof flags.region === "string" && flags.region ? flags.region : "us-central1";
    return permissionsDocument({ poolName, project, region, names });
  },
  verify: async (input, o) => (await import("./verify.js")).verifyCloudRun(input, o),
  options: [
    {
      flags: "--project <id>",
      description:
        "Google Cloud project id (default: GOOGLE_CLOUD_PROJECT, CLOUDSDK_CORE_PROJECT, the ADC file's, gcloud's core/project)",
    },
    {
      flags: "--region <region>",
      description:
        "cloud region (AWS: AWS_REGION, the profile's; Google: CLOUDSDK_RUN_REGION, run/region, us-central1)",
    },
  ],
  customizePrompt:
    "Would you like to customize the resource names for your infrastructure? This includes a service account, " +
    "a GCP credentials block and an Artifact Registry repository.",
  names: [
    nameOption("serviceAccount", "--service-account-name", {
      prompt: "Please enter a name for the service account",
      what: "Service account id",
      rule: GCP_NAME_RULES.serviceAccount,
      fixed: "prefect-cloud-run",
    }),
    blockNameOption("push-pool-credentials", "Please enter a name for the GCP credentials block"),
    nameOption("repository", "--repository-name", {
      prompt: "Please enter a name for the Artifact Registry repository",
      what: "Artifact Registry repository id",
      rule: GCP_NAME_RULES.repository,
      fixed: "prefect-images",
    }),
  ],
  async prepare(flags, env) {
    const { checkGcpRegion, resolveProject, resolveRegion } = await import("./config.js");
    const str = (k: string) => (typeof flags[k] === "string" && flags[k] ? String(flags[k]) : undefined);
    const project = resolveProject(str("project"), env);
    if (project)
      checkName(`GCP project id (from ${project.source})`, "--project", project.value, GCP_NAME_RULES.project);
    const region = resolveRegion(str("region"), env);
    checkGcpRegion(region.value, region.source);
    return {
      project: project?.value,
      projectSource: project?.source,
      region: region.value,
      regionSource: region.source,
    };
  },
  async choose(flags, ui) {
    // An explicit --project is not asked again; one from the environment is the picker's default.
    if (flags.projectSource === "--project") return {};
    const { pickProject } = await import("./from-input.js");
    const current = typeof flags.project === "string" ? flags.project : "";
    const region = typeof flags.region === "string" ? flags.region : "us-central1";
    return { project: await pickProject(ui, region, current), projectSource: "the picker" };
  },
  async load(input) {
    const { createCloudRunProvisionerFromInput } = await import("./from-input.js");
    return createCloudRunProvisionerFromInput(input);
  },
};
