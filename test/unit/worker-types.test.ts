import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { baseJobTemplateError } from "../../src/prefect/template.js";
import type { JobTemplate, WorkerMetadata, WorkerType } from "../../src/prefect/types.js";
import {
  bundledWorkerMetadata,
  defaultTemplateFor,
  flattenWorkerTypes,
  isManagedType,
  isPushType,
  mergeWorkerTypes,
  pullTypeFor,
  workerStartCommand,
} from "../../src/prefect/worker-types.js";

const dataFile = (name: string) => new URL(`../../data/${name}`, import.meta.url);
const readJson = <T>(name: string): T => JSON.parse(readFileSync(dataFile(name), "utf8")) as T;

const PULL_TYPES = [
  "process",
  "ecs",
  "azure-container-instance",
  "docker",
  "cloud-run",
  "cloud-run-v2",
  "vertex-ai",
  "kubernetes",
];
const PUSH_TYPES = [
  "ecs:push",
  "azure-container-instance:push",
  "cloud-run:push",
  "cloud-run-v2:push",
  "modal:push",
  "coiled:push",
];

function props(template: JobTemplate | null): Record<string, Record<string, unknown>> {
  const variables = template?.variables as { properties?: Record<string, Record<string, unknown>> } | undefined;
  return variables?.properties ?? {};
}

function defs(template: JobTemplate | null): Record<string, Record<string, unknown>> {
  const variables = template?.variables as { definitions?: Record<string, Record<string, unknown>> } | undefined;
  return variables?.definitions ?? {};
}

const all = () => flattenWorkerTypes(bundledWorkerMetadata());

describe("bundled worker metadata", () => {
  it("lists every pull type, then every push type, in JSON order", () => {
    expect(all().map((t) => t.type)).toEqual([...PULL_TYPES, ...PUSH_TYPES]);
  });

  it("is read once", () => {
    expect(bundledWorkerMetadata()).toBe(bundledWorkerMetadata());
  });

  it("ships aggregate-worker-metadata.json as Prefect's file, unchanged", () => {
    const shared = new URL("../../../shared/prefect/aggregate-worker-metadata.json", import.meta.url);
    let upstream: Buffer | null = null;
    try {
      upstream = readFileSync(shared);
    } catch {
      // the shared folder is not part of the product; nothing to compare against
    }
    if (upstream) expect(readFileSync(dataFile("aggregate-worker-metadata.json")).equals(upstream)).toBe(true);
  });

  it("marks the push entries (collection prefect-cloud) as push pools with display data", () => {
    const push = readJson<WorkerMetadata>("push-worker-metadata.json");
    expect(Object.keys(push)).toEqual(["prefect-cloud"]);
    const entries = flattenWorkerTypes(push);
    expect(entries.map((e) => e.type)).toEqual(PUSH_TYPES);
    for (const e of entries) {
      expect(e.is_push_pool).toBe(true);
      expect(e.is_beta).toBe(false);
      for (const key of ["display_name", "description", "documentation_url", "logo_url"] as const) {
        expect(typeof e[key], `${e.type}.${key}`).toBe("string");
      }
    }
    const names = Object.fromEntries(entries.map((e) => [e.type, e.display_name]));
    expect(names["ecs:push"]).toBe("AWS Elastic Container Service - Push");
    expect(names["modal:push"]).toBe("Modal Push");
    expect(names["coiled:push"]).toBe("Coiled Push");
  });

  it.each([...PULL_TYPES, ...PUSH_TYPES])("the %s template passes Prefect's template validation", (type) => {
    const template = defaultTemplateFor(all(), type);
    expect(template).not.toBeNull();
    expect(Object.keys(template ?? {})).toEqual(expect.arrayContaining(["job_configuration", "variables"]));
    expect(baseJobTemplateError(template)).toBeNull();
  });

  it("get-default-base-job-template --type ecs equals the ecs entry of Prefect's metadata", () => {
    const upstream = readJson<WorkerMetadata>("aggregate-worker-metadata.json");
    expect(defaultTemplateFor(all(), "ecs")).toEqual(upstream["prefect-aws"]?.ecs?.default_base_job_configuration);
  });

  it("ecs:push declares the variables the ECS provisioner writes, like the pull ecs template", () => {
    const push = props(defaultTemplateFor(all(), "ecs:push"));
    for (const name of ["aws_credentials", "cluster", "vpc_id", "execution_role_arn"])
      expect(push).toHaveProperty(name);
    expect(Object.keys(push)).toEqual(Object.keys(props(defaultTemplateFor(all(), "ecs"))));
  });

  it("cloud-run:push, cloud-run-v2:push and azure-container-instance:push declare their provisioners' variables", () => {
    expect(props(defaultTemplateFor(all(), "cloud-run:push"))).toHaveProperty("credentials");
    expect(props(defaultTemplateFor(all(), "cloud-run-v2:push"))).toHaveProperty("credentials");
    const aci = props(defaultTemplateFor(all(), "azure-container-instance:push"));
    for (const name of ["aci_credentials", "resource_group_name", "subscription_id", "image_registry", "identities"]) {
      expect(aci).toHaveProperty(name);
    }
  });

  it("modal:push declares modal_credentials as a Modal credentials block and Modal's job variables", () => {
    const template = defaultTemplateFor(all(), "modal:push");
    const p = props(template);
    expect(p.modal_credentials?.title).toBe("Modal Credentials");
    expect(p.modal_credentials?.allOf).toEqual([{ $ref: "#/definitions/ModalCredentials" }]);
    const definitions = defs(template);
    expect(definitions.ModalCredentials?.block_type_slug).toBe("modal-credentials");
    for (const name of ["image", "env", "name", "command", "labels", "timeout", "cpu", "memory", "gpu"]) {
      expect(p).toHaveProperty(name);
    }
    for (const name of ["python_version", "pip_packages", "modal_environment"]) expect(p).toHaveProperty(name);
  });

  it("coiled:push declares credentials (a Coiled credentials block) and an image without a default", () => {
    const template = defaultTemplateFor(all(), "coiled:push");
    const p = props(template);
    expect(p.credentials?.allOf).toEqual([{ $ref: "#/definitions/CoiledCredentials" }]);
    const definitions = defs(template);
    expect(definitions.CoiledCredentials?.block_type_slug).toBe("coiled-credentials");
    expect(p.image?.type).toBe("string");
    expect(p.image?.default ?? null).toBeNull();
    const rest = ["env", "name", "command", "labels", "cpu", "memory", "gpu", "region", "vm_types", "software", "arm"];
    for (const name of [...rest, "job_timeout_minutes"]) expect(p).toHaveProperty(name);
  });
});

describe("flattenWorkerTypes / mergeWorkerTypes", () => {
  const meta: WorkerMetadata = {
    b: { x: { type: "two" }, y: { type: "prefect-agent" } },
    a: { z: { type: "one", display_name: "first" } },
  };

  it("keeps JSON order and skips prefect-agent", () => {
    expect(flattenWorkerTypes(meta).map((t) => t.type)).toEqual(["two", "one"]);
  });

  it("skips entries without a type", () => {
    const odd = { c: { w: { display_name: "no type" } } } as unknown as WorkerMetadata;
    expect(flattenWorkerTypes(odd)).toEqual([]);
  });

  it("keeps the first occurrence of a type", () => {
    const served: WorkerType[] = [{ type: "one", display_name: "served" }];
    const merged = mergeWorkerTypes(served, flattenWorkerTypes(meta));
    expect(merged.map((t) => [t.type, t.display_name])).toEqual([
      ["one", "served"],
      ["two", undefined],
    ]);
    expect(mergeWorkerTypes()).toEqual([]);
  });
});

describe("defaultTemplateFor", () => {
  const tpl = { job_configuration: { a: "{{ a }}" }, variables: { properties: { a: { type: "string" } } } };

  it("returns a deep copy of the first matching entry's template", () => {
    const types: WorkerType[] = [{ type: "t", default_base_job_configuration: tpl }, { type: "t" }];
    const got = defaultTemplateFor(types, "t");
    expect(got).toEqual(tpl);
    expect(got).not.toBe(tpl);
    (got?.job_configuration as Record<string, string>).a = "changed";
    expect(tpl.job_configuration.a).toBe("{{ a }}");
  });

  it("returns null for an unknown type or one without a template", () => {
    expect(defaultTemplateFor([], "nope")).toBeNull();
    expect(defaultTemplateFor([{ type: "bare" }], "bare")).toBeNull();
  });

  it("always has a process template (a local worker), even when the served metadata lacks one", () => {
    const upstream = readJson<WorkerMetadata>("aggregate-worker-metadata.json");
    const expected = upstream.prefect?.process?.default_base_job_configuration;
    expect(expected).toBeDefined();
    expect(defaultTemplateFor([], "process")).toEqual(expected);
    expect(defaultTemplateFor([{ type: "process" }], "process")).toEqual(expected);
  });
});

describe("push, managed and pull types", () => {
  it("recognises push and managed types", () => {
    for (const t of PUSH_TYPES) expect(isPushType(t)).toBe(true);
    for (const t of ["ecs", "process", ":push", "prefect:managed"]) expect(isPushType(t)).toBe(false);
    expect(isManagedType("prefect:managed")).toBe(true);
    expect(isManagedType("process")).toBe(false);
  });

  it("maps a push type to the pull type with a worker", () => {
    expect(pullTypeFor("ecs:push")).toBe("ecs");
    expect(pullTypeFor("cloud-run:push")).toBe("cloud-run");
    expect(pullTypeFor("cloud-run-v2:push")).toBe("cloud-run-v2");
    expect(pullTypeFor("azure-container-instance:push")).toBe("azure-container-instance");
    expect(pullTypeFor("modal:push")).toBeNull();
    expect(pullTypeFor("coiled:push")).toBeNull();
    expect(pullTypeFor("ecs")).toBeNull();
  });
});

describe("workerStartCommand", () => {
  it("leaves a shell-safe pool name bare", () => {
    expect(workerStartCommand("demo", "process")).toBe("prefect worker start --pool demo --type process");
    expect(workerStartCommand("my-pool_1.x", "ecs")).toBe("prefect worker start --pool my-pool_1.x --type ecs");
  });

  it("quotes a pool name a shell would split or expand", () => {
    expect(workerStartCommand("My Pool", "docker")).toBe("prefect worker start --pool 'My Pool' --type docker");
    expect(workerStartCommand("it's $HOME", "ecs")).toBe(`prefect worker start --pool 'it'"'"'s $HOME' --type ecs`);
    expect(workerStartCommand("", "ecs")).toBe("prefect worker start --pool '' --type ecs");
  });
});
