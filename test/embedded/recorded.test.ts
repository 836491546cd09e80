/**
 * Replays the 117 requests a genuine Prefect 3.4.25 server answered (fixtures/prefect-3.4.25-answers.json), in order,
 * against a fresh embedded API, and compares status and body after the recording's normalisation (ids `<uuid>`,
 * timestamps `<ts>`).
 *
 * The recording is a digest of a longer session: some objects it reads were made by requests it does not list (the
 * pools in the "filter no body" list, the block type `diff-type-5800ed` and its schema, the pool `ref-5800ed` whose
 * block was deleted). SETUP makes them at the same point of the sequence. Some bodies are recorded projected: a list
 * of names or slugs, a count, one entry of the worker metadata view; the same projection is applied to ours.
 * Ids the requests carry are filled in from this server's answers (FILL).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbeddedApi } from "../../src/prefect/embedded/api.js";
import type { ApiRequest, ApiResponse } from "../../src/prefect/transport.js";
import { validateResponse } from "../helpers/openapi.js";

type Json = Record<string, unknown>;

interface Answer {
  name: string;
  method: ApiRequest["method"];
  path: string;
  request_body: unknown;
  status: number;
  body: unknown;
}

const recording = JSON.parse(
  readFileSync(new URL("../../fixtures/prefect-3.4.25-answers.json", import.meta.url), "utf8"),
) as { answers: Answer[] };

/** The id of the block document the recording created first (its paths carry it literally). */
const RECORDED_DOC_ID = "e804fdd6-d0be-4ef8-a671-682217435df9";
const MISSING_ID = "9b0e8a52-3c8f-4f57-9d6a-6f8a2b0c1d2e";

/** Credential types wp bundles beyond Prefect's catalog (Prefect Cloud serves them). */
const WP_EXTRA_BLOCKS = ["coiled-credentials", "modal-credentials"];

/**
 * Where wp answers differently from Prefect on purpose, by recorded name: the expected status and what is checked.
 */
const DEVIATIONS: Record<string, { status: number; why: string; check(body: unknown, recorded: unknown): void }> = {
  "create, name int": {
    status: 422,
    why: "Prefect answers 500 (its name validator fails on a non-string); wp reports pydantic's string_type error",
    check: (body) =>
      expect((body as Json).exception_detail).toEqual([
        { type: "string_type", loc: ["body", "name"], msg: "Input should be a valid string", input: 123 },
      ]),
  },
  "update template null": {
    status: 422,
    why: "Prefect answers 500 (validate_base_job_template fails on None); wp reports it as a value error",
    check: (body) =>
      expect((body as Json).exception_detail).toEqual([
        {
          type: "value_error",
          loc: ["body", "base_job_template"],
          msg: "Value error, The `base_job_template` must be a JSON object.",
          input: null,
        },
      ]),
  },
  "block type coiled-credentials": {
    status: 200,
    why: "wp bundles the Coiled credentials type (Prefect Cloud serves it; a bare OSS server lacks it)",
    check: (body) => expect(body).toMatchObject({ slug: "coiled-credentials", name: "Coiled Credentials" }),
  },
  "block types filter {} (slugs)": {
    status: 200,
    why: "wp registers Prefect's own and bundled types plus Modal and Coiled (Prefect Cloud serves those two)",
    check: (body, recorded) => {
      // Prefect's list and order (by slug), with wp's two in their place.
      const ours = body as string[];
      expect(ours.filter((s) => !WP_EXTRA_BLOCKS.includes(s))).toEqual(recorded);
      expect(ours.indexOf("coiled-credentials")).toBe(ours.indexOf("bitbucket-repository") + 1);
      expect(ours.indexOf("modal-credentials")).toBe(ours.indexOf("minio-credentials") + 1);
    },
  },
  "block types filter unknown key": {
    status: 200,
    why: "the same two types more, counted (the unknown key is ignored as Prefect does)",
    check: (body, recorded) => expect(body).toBe((recorded as number) + WP_EXTRA_BLOCKS.length),
  },
  "block schemas filter {} (checksums)": {
    status: 200,
    why:
      "Prefect counted 69: one schema for each of its 57 types, and 12 the recorded session made in requests it " +
      "does not list (SETUP makes the 2 of diff-type-5800ed the recording reads); wp: 57 + its 2 + those 2",
    check: (body, recorded) => {
      expect(recorded).toBe(57 + 12);
      expect(body).toBe(57 + WP_EXTRA_BLOCKS.length + 2);
    },
  },
  "worker metadata prefect-docker/docker": {
    status: 200,
    why: "wp bundles the view from Prefect @ ce79dd3d, whose Docker worker added the pull policy 'IfPossible'",
    check: (body, recorded) =>
      expect(body).toEqual(
        patched(recorded, ["default_base_job_configuration", "variables", "properties", "image_pull_policy"], {
          enum: ["IfNotPresent", "Always", "IfPossible", "Never"],
        }),
      ),
  },
  "worker metadata prefect-gcp/cloud-run-v2": {
    status: 200,
    why: "wp bundles the view from Prefect @ ce79dd3d, whose Cloud Run v2 worker allows a 7-day timeout",
    check: (body, recorded) =>
      expect(body).toEqual(
        patched(recorded, ["default_base_job_configuration", "variables", "properties", "timeout"], {
          maximum: 604800,
          description:
            "The length of time that Prefect will wait for a Cloud Run Job to complete before raising an exception (maximum of 604800 seconds, 7 days).",
        }),
      ),
  },
};

/** A copy of `value` with the object at `path` updated with `changes`. */
function patched(value: unknown, path: string[], changes: Json): unknown {
  const copy = structuredClone(value) as Json;
  let node = copy;
  for (const key of path) node = node[key] as Json;
  Object.assign(node, changes);
  return copy;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/** The recording's normalisation: every uuid in a string becomes `<uuid>`, every timestamp `<ts>`. */
function normalise(v: unknown): unknown {
  if (typeof v === "string") return TS.test(v) ? "<ts>" : v.replace(UUID, "<uuid>");
  if (Array.isArray(v)) return v.map(normalise);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  }
  return v;
}

/** Our body in the recording's projected form (names, slugs, a count, one worker metadata entry). */
function project(a: Answer, body: unknown): unknown {
  const view = /^worker metadata (.+)\/(.+)$/.exec(a.name);
  if (view) return (body as Record<string, Json>)[view[1] ?? ""]?.[view[2] ?? ""];
  if (typeof a.body === "number" && Array.isArray(body)) return body.length;
  const [first] = Array.isArray(a.body) ? a.body : [];
  if (typeof first === "string" && Array.isArray(body)) {
    return body.map((x) => (a.path.startsWith("/block_types") ? (x as Json).slug : (x as Json).name));
  }
  return body;
}

interface Ids {
  [key: string]: string;
}

/** Values for the `<uuid>` placeholders of a recorded request body, in order of appearance. */
const FILL: Record<string, (ids: Ids) => string[]> = {
  "update storage": () => [MISSING_ID],
  "update invalid: template $ref missing block": () => [MISSING_ID],
  "filter by id": (ids) => [ids.diffPool ?? ""],
  "create block schema again (same checksum)": (ids) => [ids.diffType ?? ""],
  "create block schema, missing type id": () => [MISSING_ID],
  "create block schema, references missing block type": (ids) => [ids.diffType ?? ""],
  "aws-credentials schemas, limit 1": (ids) => [ids.awsType ?? ""],
  "create aws-credentials document": (ids) => [ids.awsSchema ?? "", ids.awsType ?? ""],
  "create document duplicate name": (ids) => [ids.awsSchema ?? "", ids.awsType ?? ""],
  "create document name with slash": (ids) => [ids.awsSchema ?? "", ids.awsType ?? ""],
  "create anonymous document": (ids) => [ids.awsSchema ?? "", ids.awsType ?? ""],
  "create document, missing schema": (ids) => [MISSING_ID, ids.awsType ?? ""],
  "create document, unknown field": (ids) => [ids.awsSchema ?? "", ids.awsType ?? ""],
  "create ecs pool, Prefect's ecs template with aws_credentials $ref": (ids) => [ids.doc ?? ""],
};

/** Ids captured from our answers, by recorded name. */
const CAPTURE: Record<string, (body: Json, ids: Ids) => void> = {
  "create process pool with Prefect's default template": (b, ids) => {
    ids.diffPool = String(b.id);
  },
  "block type aws-credentials": (b, ids) => {
    ids.awsType = String(b.id);
  },
  "aws-credentials schemas, limit 1": (b, ids) => {
    ids.awsSchema = String((b as unknown as Json[])[0]?.id);
  },
  "create aws-credentials document": (b, ids) => {
    ids.doc = String(b.id);
  },
};

const diffTypeFields = (): unknown => {
  const answer = recording.answers.find((x) => x.name === "create block schema again (same checksum)");
  return (answer?.request_body as Json | undefined)?.fields;
};

const extraPool = (name: string): ApiRequest => ({
  method: "POST",
  path: "/work_pools/",
  body: { name, type: "process" },
});

/** Requests the recorded session made but did not record, run before the recorded request of that name. */
const SETUP: Record<string, (ids: Ids) => ApiRequest[]> = {
  "filter by names": () =>
    [
      "a\nb",
      "cl-282824-5800ed",
      "cl-288996-5800ed",
      "cl-984236-5800ed",
      "diff2-5800ed",
      "lim0-5800ed",
      "notype-5800ed",
      "t-116153-5800ed",
      "w5-5800ed",
      "w6b-5800ed",
      "with space 5800ed",
      `${"x".repeat(300)}5800ed`,
    ].map(extraPool),
  "create block type duplicate slug": () => [
    {
      method: "POST",
      path: "/block_types/",
      body: { name: "Diff Type 5800ed", slug: "diff-type-5800ed", description: "d", logo_url: null },
    },
  ],
  "block schema by checksum (own)": (ids) => [
    {
      method: "POST",
      path: "/block_schemas/",
      body: { fields: diffTypeFields(), block_type_id: ids.diffType, version: "2.0" },
    },
  ],
  "read it back": (ids) => [
    {
      method: "POST",
      path: "/block_documents/",
      body: { name: "gone-5800ed", data: {}, block_schema_id: ids.awsSchema, block_type_id: ids.awsType },
    },
  ],
};

describe("the embedded API answers the recorded Prefect 3.4.25 requests", () => {
  let dir = "";
  let api: ReturnType<typeof createEmbeddedApi>;
  const ids: Ids = {};

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "wp-recorded-"));
    api = createEmbeddedApi({ home: join(dir, "home") });
  });
  afterAll(() => {
    api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (req: ApiRequest): Promise<ApiResponse> => api.handle(req);

  /** Setup that needs ids from earlier setup answers. */
  async function setup(a: Answer): Promise<void> {
    for (const req of SETUP[a.name]?.(ids) ?? []) {
      const r = await send(req);
      expect(r.status, `setup ${req.method} ${req.path}`).toBe(201);
      const body = r.body as Json;
      if (req.path === "/block_types/") {
        ids.diffType = String(body.id);
        const made = await send({
          method: "POST",
          path: "/block_schemas/",
          body: { fields: diffTypeFields(), block_type_id: ids.diffType, capabilities: ["c1"], version: "1.0" },
        });
        expect(made.status).toBe(201);
      }
      if (req.path === "/block_documents/") {
        ids.goneDoc = String(body.id);
        const template = {
          job_configuration: { c: "{{ creds }}" },
          variables: {
            properties: { creds: { type: "object", default: { $ref: { block_document_id: ids.goneDoc } } } },
          },
        };
        const pool = await send({
          method: "POST",
          path: "/work_pools/",
          body: { name: "ref-5800ed", type: "ecs", base_job_template: template },
        });
        expect(pool.status).toBe(201);
      }
    }
    if (a.name === "read pool whose $ref block is gone") {
      expect((await send({ method: "DELETE", path: `/block_documents/${ids.goneDoc}` })).status).toBe(204);
    }
  }

  /** The recorded request with this server's ids in place of the recorded ones. */
  function request(a: Answer): ApiRequest {
    const values = [...(FILL[a.name]?.(ids) ?? [])];
    const text = JSON.stringify(a.request_body ?? null).replace(/<uuid>/g, () => values.shift() ?? MISSING_ID);
    const body = a.request_body === null ? undefined : JSON.parse(text);
    const path = a.path.replaceAll(RECORDED_DOC_ID, ids.doc ?? RECORDED_DOC_ID);
    return { method: a.method, path, ...(body === undefined ? {} : { body }) };
  }

  it("has 117 recorded answers", () => {
    expect(recording.answers).toHaveLength(117);
  });

  it("answers each, in order, with Prefect's status and body (deviations listed in DEVIATIONS)", async () => {
    const mismatches: string[] = [];
    const openapi: string[] = [];
    for (const [i, a] of recording.answers.entries()) {
      await setup(a);
      const req = request(a);
      const r = await send(req);
      // Prefect answers 200 to an existing block schema but documents only 201 (same body).
      const as = req.path === "/block_schemas/" && r.status === 200 ? 201 : r.status;
      openapi.push(...validateResponse(req.method, req.path, as, r.body).map((e) => `${i} ${a.name}: ${e}`));
      if (r.status >= 200 && r.status < 300 && typeof r.body === "object" && r.body !== null) {
        CAPTURE[a.name]?.(r.body as Json, ids);
      }
      const body = normalise(project(a, r.body ?? null));
      const deviation = DEVIATIONS[a.name];
      if (deviation) {
        expect(r.status, `${i} ${a.name}: ${deviation.why}`).toBe(deviation.status);
        deviation.check(body, a.body);
        continue;
      }
      const label = `${i} ${a.name} (${a.method} ${a.path})`;
      try {
        expect(r.status, label).toBe(a.status);
        expect(body, label).toEqual(a.body);
      } catch {
        const shown = (v: unknown): string => JSON.stringify(v).slice(0, 3000);
        mismatches.push(`${label}: ${r.status} ${shown(body)}\nrecorded: ${a.status} ${shown(a.body)}`);
      }
    }
    expect(mismatches.join("\n\n")).toBe("");
    expect(openapi).toEqual([]);
  });

  it("lists the deviations it allows by recorded name", () => {
    const names = new Set(recording.answers.map((a) => a.name));
    for (const name of Object.keys(DEVIATIONS)) expect(names.has(name), name).toBe(true);
    expect(Object.keys(DEVIATIONS)).toHaveLength(8);
  });
});
