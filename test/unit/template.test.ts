import { describe, expect, it } from "vitest";
import { baseJobTemplateError, blockRef, withDefaults } from "../../src/prefect/template.js";
import type { JobTemplate } from "../../src/prefect/types.js";
import { bundledWorkerMetadata, flattenWorkerTypes } from "../../src/prefect/worker-types.js";

const MISSING_KEYS = "The `base_job_template` must contain both a `job_configuration` key and a `variables` key.";
const UNDECLARED =
  "The variables specified in the job configuration template must be present as properties in the variables " +
  "schema. Your job configuration uses the following undeclared variable(s): ";

const template = (jobConfiguration: Record<string, unknown>, properties: Record<string, unknown>): JobTemplate => ({
  job_configuration: jobConfiguration,
  variables: { type: "object", properties },
});

describe("baseJobTemplateError (Prefect's validate_base_job_template)", () => {
  it("accepts {}", () => {
    expect(baseJobTemplateError({})).toBeNull();
  });

  it("accepts every bundled template", () => {
    const entries = flattenWorkerTypes(bundledWorkerMetadata());
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) {
      expect(baseJobTemplateError(entry.default_base_job_configuration), entry.type).toBeNull();
    }
  });

  it("rejects a non-object", () => {
    for (const bad of [null, [], "x", 1]) {
      expect(baseJobTemplateError(bad)).toBe("The `base_job_template` must be a JSON object.");
    }
  });

  it("requires truthy job_configuration and variables", () => {
    expect(baseJobTemplateError({ job_configuration: { a: "b" } })).toBe(MISSING_KEYS);
    expect(baseJobTemplateError({ variables: { properties: {} } })).toBe(MISSING_KEYS);
    expect(baseJobTemplateError({ job_configuration: {}, variables: { properties: { a: {} } } })).toBe(MISSING_KEYS);
    expect(baseJobTemplateError({ job_configuration: { a: "b" }, variables: null })).toBe(MISSING_KEYS);
    expect(baseJobTemplateError({ other: 1 })).toBe(MISSING_KEYS);
  });

  it("accepts declared placeholders, with or without spaces", () => {
    const t = template({ a: "{{ a }}", b: "{{b}}", c: "literal" }, { a: {}, b: {} });
    expect(baseJobTemplateError(t)).toBeNull();
  });

  it("names undeclared placeholders joined by ' ,' as Prefect does", () => {
    const t = template(
      { a: "{{ a }}", b: "{{ missing_one }}", c: "{{ missing_two }} and {{ missing_one }}" },
      { a: {} },
    );
    expect(baseJobTemplateError(t)).toBe(`${UNDECLARED}missing_one ,missing_two.`);
  });

  it("finds placeholders nested in objects and arrays", () => {
    const t = template({ body: { spec: { containers: [{ image: "{{ image }}" }] } } }, { name: {} });
    expect(baseJobTemplateError(t)).toBe(`${UNDECLARED}image.`);
    const ok = template({ body: { spec: { containers: [{ image: "{{ image }}" }] } } }, { image: {} });
    expect(baseJobTemplateError(ok)).toBeNull();
  });

  it("requires prefect.*, $ENV and dotted placeholders to be declared too", () => {
    const t = template({ a: "{{ prefect.blocks.secret.x }}", b: "{{ $HOME }}" }, {});
    expect(baseJobTemplateError(t)).toBe(`${UNDECLARED}prefect.blocks.secret.x ,$HOME.`);
  });

  it("treats a variables object without properties as declaring nothing", () => {
    expect(baseJobTemplateError({ job_configuration: { a: "{{ a }}" }, variables: { type: "object" } })).toBe(
      `${UNDECLARED}a.`,
    );
  });
});

describe("blockRef", () => {
  it("is Prefect's $ref default for a block document", () => {
    expect(blockRef("1234")).toEqual({ $ref: { block_document_id: "1234" } });
  });
});

describe("withDefaults", () => {
  const base = template({ creds: "{{ creds }}", region: "{{ region }}" }, { creds: {}, region: { type: "string" } });

  it("sets variables.properties.<name>.default on a deep copy", () => {
    const out = withDefaults(base, { creds: blockRef("abc"), region: "eu-west-1" });
    const props = (out.variables as { properties: Record<string, Record<string, unknown>> }).properties;
    expect(props.creds?.default).toEqual({ $ref: { block_document_id: "abc" } });
    expect(props.region).toEqual({ type: "string", default: "eu-west-1" });
    const original = (base.variables as { properties: Record<string, Record<string, unknown>> }).properties;
    expect(original.creds).toEqual({});
    expect(original.region).toEqual({ type: "string" });
    expect(out).not.toBe(base);
  });

  it("overwrites an existing default and keeps the template valid", () => {
    const once = withDefaults(base, { region: "a" });
    const twice = withDefaults(once, { region: "b" });
    expect(
      (twice.variables as { properties: Record<string, Record<string, unknown>> }).properties.region?.default,
    ).toBe("b");
    expect(baseJobTemplateError(twice)).toBeNull();
  });

  it("with no defaults returns an equal copy", () => {
    const out = withDefaults(base, {});
    expect(out).toEqual(base);
    expect(out).not.toBe(base);
  });

  it("rejects a variable the template does not declare, naming it", () => {
    expect(() => withDefaults(base, { vpc_id: "vpc-1" })).toThrow(/'vpc_id'/);
    expect(() => withDefaults({}, { creds: "x" })).toThrow(/'creds'/);
  });
});
