/** Project and region defaults without gcloud: flags, environment, the ADC file, gcloud's config files. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkGcpRegion, resolveProject, resolveRegion } from "../../src/clouds/gcp/config.js";
import { scratch } from "../helpers/gcp-sim.js";

describe("GCP project and region resolution", () => {
  let s: ReturnType<typeof scratch>;
  let env: Record<string, string>;
  beforeEach(() => {
    s = scratch();
    const gcloud = join(s.dir, "gcloud");
    mkdirSync(join(gcloud, "configurations"), { recursive: true });
    writeFileSync(
      join(gcloud, "configurations", "config_default"),
      "[core]\nproject = from-config\n[run]\nregion = europe-west4\n",
    );
    writeFileSync(
      join(gcloud, "application_default_credentials.json"),
      JSON.stringify({ type: "authorized_user", quota_project_id: "from-adc" }),
    );
    env = { HOME: s.dir, CLOUDSDK_CONFIG: gcloud };
  });
  afterEach(() => s.cleanup());

  it("project: --project, then GOOGLE_CLOUD_PROJECT, CLOUDSDK_CORE_PROJECT, the ADC file, gcloud's core/project", () => {
    expect(resolveProject("flag-project", { ...env, GOOGLE_CLOUD_PROJECT: "x" })).toEqual({
      value: "flag-project",
      source: "--project",
    });
    expect(
      resolveProject(undefined, { ...env, GOOGLE_CLOUD_PROJECT: "env-a", CLOUDSDK_CORE_PROJECT: "env-b" })?.value,
    ).toBe("env-a");
    expect(resolveProject(undefined, { ...env, CLOUDSDK_CORE_PROJECT: "env-b" })?.value).toBe("env-b");
    expect(resolveProject(undefined, env)?.value).toBe("from-adc");
    const key = join(s.dir, "key.json");
    writeFileSync(key, JSON.stringify({ type: "service_account", project_id: "from-key" }));
    expect(resolveProject(undefined, { ...env, GOOGLE_APPLICATION_CREDENTIALS: key })?.value).toBe("from-key");
    expect(
      resolveProject(undefined, { ...env, GOOGLE_APPLICATION_CREDENTIALS: join(s.dir, "none.json") }),
    ).toMatchObject({
      value: "from-config",
    });
    expect(resolveProject(undefined, { HOME: s.dir, CLOUDSDK_CONFIG: join(s.dir, "empty") })).toBeUndefined();
  });

  it("region: --region, then CLOUDSDK_RUN_REGION, gcloud's run/region of the active configuration, else us-central1", () => {
    expect(resolveRegion("asia-east1", env).value).toBe("asia-east1");
    expect(resolveRegion(undefined, { ...env, CLOUDSDK_RUN_REGION: "us-east4" }).value).toBe("us-east4");
    expect(resolveRegion(undefined, env).value).toBe("europe-west4");
    writeFileSync(join(env.CLOUDSDK_CONFIG ?? "", "configurations", "config_other"), "[core]\nproject = p\n");
    expect(resolveRegion(undefined, { ...env, CLOUDSDK_ACTIVE_CONFIG_NAME: "other" })).toEqual({
      value: "us-central1",
      source: "the default",
    });
  });

  it("regions: a known Cloud Run region passes; a near miss is suggested", () => {
    expect(() => checkGcpRegion("europe-west1", "--region")).not.toThrow();
    expect(() => checkGcpRegion("europe-wst1", "--region")).toThrow(
      expect.objectContaining({ hint: "Did you mean europe-west1?" }),
    );
    expect(() => checkGcpRegion("mars-north1", "CLOUDSDK_RUN_REGION")).toThrow(
      "(from CLOUDSDK_RUN_REGION) is not a Cloud Run region",
    );
  });
});
