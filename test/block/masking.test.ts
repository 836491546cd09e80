/**
 * `wp block inspect` shows secret fields as Prefect's `prefect block inspect` does: it reads the document with
 * `include_secrets=false` and prints what the server answers (Prefect's `display_block`: `str(value)` per field).
 * Checked against the genuine Prefect 3.4.25 answers recorded in fixtures/prefect-3.4.25-answers.json (the mask is
 * "********", eight stars, whatever the secret's length), and against the embedded API for what the recording lacks:
 * a wildcard secret field (`service_account_info.*`: every value below it masked) and a block that references another
 * (Prefect's `_construct_full_block_document`: the referenced document's data in place of the `$ref`, masked by that
 * document's own schema, and listed in `block_document_references`).
 */
import { generateKeyPairSync } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createEmbeddedApi } from "../../src/prefect/embedded/api.js";
import { validateResponse } from "../helpers/openapi.js";
import { makeHome, runCli } from "../helpers/run-cli.js";

type Json = Record<string, unknown>;
interface Answer {
  name: string;
  path: string;
  body: Json;
}

const recording = JSON.parse(
  readFileSync(new URL("../../fixtures/prefect-3.4.25-answers.json", import.meta.url), "utf8"),
) as { answers: Answer[] };
const answer = (name: string): Json => {
  const a = recording.answers.find((x) => x.name === name);
  if (!a) throw new Error(`no recorded answer ${name}`);
  // The recording's placeholders, made concrete for wp's answer checks.
  const text = JSON.stringify(a.body)
    .replaceAll("<uuid>", "e804fdd6-d0be-4ef8-a671-682217435df9")
    .replaceAll("<ts>", "2026-12-03T10:00:00.000000Z");
  return JSON.parse(text) as Json;
};

/** Serves the genuine server's recorded answers for reading the block, as a remote Prefect API. */
function genuinePrefect(queries: string[]): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/api/block_types/slug/aws-credentials")
      return send(200, answer("block type aws-credentials"));
    if (url.pathname === "/api/block_types/slug/aws-credentials/block_documents/name/diff-5800ed") {
      queries.push(url.search);
      const secrets = url.searchParams.get("include_secrets") === "true";
      // The recording's answers to the same document read without and with secrets.
      return send(
        200,
        answer(secrets ? "read document by name, include_secrets=true" : "create aws-credentials document"),
      );
    }
    send(404, { detail: "Not Found" });
  });
}

describe("wp block inspect against the genuine server's recorded answers", () => {
  let server: Server;
  let url = "";
  const queries: string[] = [];
  let home: ReturnType<typeof makeHome>;
  beforeAll(async () => {
    server = genuinePrefect(queries);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    home = makeHome();
  });
  afterEach(() => home.cleanup());

  it("asks without secrets and prints Prefect's mask as answered", async () => {
    const env = { ...home.env, PREFECT_API_URL: url };
    const text = await runCli(["block", "inspect", "aws-credentials/diff-5800ed"], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^aws_secret_access_key +\*{8}$/m);
    expect(text.stdout).toMatch(/^aws_access_key_id +AKIAEXAMPLE$/m);
    const json = await runCli(["block", "inspect", "aws-credentials/diff-5800ed", "-o", "json"], { env });
    expect(JSON.parse(json.stdout).data).toEqual((answer("create aws-credentials document") as Json).data);
    expect(queries).toEqual(["?include_secrets=false", "?include_secrets=false"]);
    // The recorded secret ("s3cret-value") is never asked for, so never shown.
    expect(text.stdout + json.stdout).not.toContain("s3cret-value");
  });
});

describe("masking by the embedded API, as Prefect masks", () => {
  let home: ReturnType<typeof makeHome>;
  let env: Record<string, string>;
  beforeEach(() => {
    home = makeHome();
    env = {
      ...home.env,
      AWS_ACCESS_KEY_ID: "AKIAOWNKEY0000000001",
      AWS_SECRET_ACCESS_KEY: "own-secret-key-0123456789abcdefghijklmn",
      AWS_CONFIG_FILE: "/nonexistent/aws-config",
      AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
    };
  });
  afterEach(() => home.cleanup());
  const wp = (argv: string[]) => runCli(argv, { env });

  it("masks every value under a wildcard secret field (gcp-credentials' service_account_info.*)", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const key = {
      type: "service_account",
      project_id: "my-project",
      private_key_id: "abc123",
      private_key: pem,
      client_email: "runner@my-project.iam.gserviceaccount.com",
      client_id: "1234567890",
    };
    const file = join(home.dir, "key.json");
    writeFileSync(file, JSON.stringify(key), { mode: 0o600 });
    const made = await wp(["block", "create", "gcp-credentials", "g", "--key-file", file, "--no-verify", "--yes"]);
    expect(made.code, made.stderr).toBe(0);
    const json = JSON.parse((await wp(["block", "inspect", "gcp-credentials/g", "-o", "json"])).stdout);
    const info = json.data.service_account_info as Json;
    expect(Object.keys(info).sort()).toEqual(Object.keys(key).sort());
    for (const v of Object.values(info)) expect(v).toBe("********");
    expect(json.data.project).toBe("my-project");
    const text = (await wp(["block", "inspect", "gcp-credentials/g"])).stdout;
    // Prefect prints str(value): a dict as Python writes it.
    expect(text).toMatch(/^service_account_info +\{'type': '\*{8}', 'project_id': '\*{8}', /m);
    expect(text + JSON.stringify(json)).not.toContain(pem.split("\n")[1]);
  });

  it("shows a referenced credentials block in place of its $ref, masked by its own schema", async () => {
    expect((await wp(["block", "create", "aws-credentials", "k", "--no-verify", "--yes"])).code).toBe(0);
    const s3 = ["block", "create", "s3-bucket", "b", "--bucket", "my-bucket", "--aws-credentials-block-name", "k"];
    expect((await wp([...s3, "--yes"])).code).toBe(0);
    const aws = JSON.parse((await wp(["block", "inspect", "aws-credentials/k", "-o", "json"])).stdout);
    const json = JSON.parse((await wp(["block", "inspect", "s3-bucket/b", "-o", "json"])).stdout);
    expect(json.data).toEqual({
      bucket_name: "my-bucket",
      bucket_folder: "",
      credentials: { aws_access_key_id: "AKIAOWNKEY0000000001", aws_secret_access_key: "********" },
    });
    expect(json.block_document_references).toEqual({
      credentials: {
        block_document: {
          id: aws.id,
          name: "k",
          block_type: aws.block_type,
          is_anonymous: false,
          block_document_references: {},
        },
      },
    });
    const text = (await wp(["block", "inspect", "s3-bucket/b"])).stdout;
    expect(text).toMatch(
      /^credentials +\{'aws_access_key_id': 'AKIAOWNKEY0000000001', 'aws_secret_access_key': '\*{8}'\}$/m,
    );
    expect(text + JSON.stringify(json)).not.toContain("own-secret-key");
  });
});

describe("block references in the embedded API", () => {
  const home = makeHome();
  const api = createEmbeddedApi({ home: home.env.WP_HOME });
  afterAll(() => {
    api.close();
    home.cleanup();
  });
  const call = async (method: "GET" | "POST" | "PATCH" | "DELETE", path: string, body?: unknown) => {
    const r = await api.handle({ method, path, ...(body === undefined ? {} : { body }) });
    return { status: r.status, body: r.body as Json };
  };
  async function doc(slug: string, name: string, data: Json): Promise<Json> {
    const type = (await call("GET", `/block_types/slug/${slug}`)).body;
    const schemas = await api.handle({
      method: "POST",
      path: "/block_schemas/filter",
      body: { block_schemas: { block_type_id: { any_: [type.id] } }, limit: 1 },
    });
    const schema = (schemas.body as Json[])[0] ?? {};
    const r = await call("POST", "/block_documents/", {
      name,
      data,
      block_type_id: type.id,
      block_schema_id: schema.id,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  }

  it("hydrates references (secrets only with include_secrets), follows updates and drops a deleted one", async () => {
    const creds = await doc("aws-credentials", "c", { aws_access_key_id: "AKIAC", aws_secret_access_key: "sec-c" });
    const bucket = await doc("s3-bucket", "b", {
      bucket_name: "x",
      credentials: { $ref: { block_document_id: creds.id } },
    });
    expect(bucket.data).toEqual({
      bucket_name: "x",
      credentials: { aws_access_key_id: "AKIAC", aws_secret_access_key: "********" },
    });
    expect(validateResponse("POST", "/block_documents/", 201, bucket)).toEqual([]);
    const clear = await call("GET", `/block_documents/${bucket.id}?include_secrets=true`);
    expect(validateResponse("GET", `/block_documents/${bucket.id}`, 200, clear.body)).toEqual([]);
    expect((clear.body.data as Json).credentials).toEqual({
      aws_access_key_id: "AKIAC",
      aws_secret_access_key: "sec-c",
    });
    // A reference to a document that does not exist is the database's integrity conflict.
    const dangling = await call("POST", "/block_documents/", {
      ...{ name: "d", block_type_id: bucket.block_type_id, block_schema_id: bucket.block_schema_id },
      data: { bucket_name: "x", credentials: { $ref: { block_document_id: "9b0e8a52-3c8f-4f57-9d6a-6f8a2b0c1d2e" } } },
    });
    expect(dangling.status).toBe(409);
    // Merging an update keeps the reference; deleting the referenced document removes it from the parent.
    expect((await call("PATCH", `/block_documents/${bucket.id}`, { data: { bucket_folder: "f" } })).status).toBe(204);
    let read = await call("GET", `/block_documents/${bucket.id}`);
    expect((read.body.data as Json).credentials).toEqual({
      aws_access_key_id: "AKIAC",
      aws_secret_access_key: "********",
    });
    expect((await call("DELETE", `/block_documents/${creds.id}`)).status).toBe(204);
    read = await call("GET", `/block_documents/${bucket.id}`);
    expect(read.body.data).toEqual({ bucket_name: "x", bucket_folder: "f" });
    expect(read.body.block_document_references).toEqual({});
  });
});
