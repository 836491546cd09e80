import { execFile, spawn } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { createEmbeddedApi } from "../../src/prefect/embedded/api.js";
import { bundledCatalog } from "../../src/prefect/embedded/registry.js";
import type { BlockDocument, BlockSchema, BlockType, WorkPool } from "../../src/prefect/types.js";

const root = new URL("../..", import.meta.url).pathname;
const dirs: string[] = [];
function tempHome(): string {
  const dir = mkdtempSync(join(tmpdir(), "wp-store-"));
  dirs.push(dir);
  return join(dir, "home");
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const mode = (path: string): number => statSync(path).mode & 0o777;

async function saveAwsBlock(handle: ReturnType<typeof createEmbeddedApi>["handle"], secret: string) {
  const type = (await handle({ method: "GET", path: "/block_types/slug/aws-credentials" })).body as BlockType;
  const schemas = await handle({
    method: "POST",
    path: "/block_schemas/filter",
    body: { block_schemas: { block_type_id: { any_: [type.id] } }, limit: 1 },
  });
  const schema = (schemas.body as BlockSchema[])[0];
  return handle({
    method: "POST",
    path: "/block_documents/",
    body: {
      name: "creds",
      data: { aws_access_key_id: "id", aws_secret_access_key: secret },
      block_type_id: type.id,
      block_schema_id: schema?.id,
    },
  });
}

describe("embedded store", () => {
  it("creates home 0700 and the database and key 0600", () => {
    const home = tempHome();
    const api = createEmbeddedApi({ home });
    api.close();
    expect(mode(home)).toBe(0o700);
    expect(mode(join(home, "wp.db"))).toBe(0o600);
    expect(mode(join(home, "secret.key"))).toBe(0o600);
    expect(statSync(join(home, "secret.key")).size).toBe(32);
    const key = readFileSync(join(home, "secret.key"));
    createEmbeddedApi({ home }).close();
    expect(readFileSync(join(home, "secret.key")).equals(key)).toBe(true);
  });

  it("stores block data encrypted: the plaintext secret is in no file of home", async () => {
    const home = tempHome();
    const secret = "plaintext-secret-4f1c9a";
    let api = createEmbeddedApi({ home });
    const created = await saveAwsBlock(api.handle, secret);
    expect(created.status).toBe(201);
    const id = (created.body as BlockDocument).id;
    // Read the files while the connection is open (data may still be in the WAL) and after close.
    const scan = () =>
      readdirSync(home).filter((f) => readFileSync(join(home, f)).includes(Buffer.from(secret, "utf8")));
    expect(scan()).toEqual([]);
    api.close();
    expect(scan()).toEqual([]);
    api = createEmbeddedApi({ home });
    const read = await api.handle({
      method: "GET",
      path: `/block_documents/${id}`,
      query: { include_secrets: "true" },
    });
    expect((read.body as BlockDocument).data?.aws_secret_access_key).toBe(secret);
    api.close();
  });

  it("refuses to use a key file of the wrong size", () => {
    const home = tempHome();
    createEmbeddedApi({ home }).close();
    writeFileSync(join(home, "secret.key"), "short");
    expect(() => createEmbeddedApi({ home })).toThrow(/32-byte key/);
  });

  it("loses no writes from two interleaved API instances (separate connections) on one home", async () => {
    const home = tempHome();
    const a = createEmbeddedApi({ home });
    const b = createEmbeddedApi({ home });
    const writes: Promise<{ status: number }>[] = [];
    for (let i = 0; i < 100; i++) {
      writes.push(a.handle({ method: "POST", path: "/work_pools/", body: { name: `a-${i}` } }));
      writes.push(b.handle({ method: "POST", path: "/work_pools/", body: { name: `b-${i}` } }));
    }
    expect((await Promise.all(writes)).every((r) => r.status === 201)).toBe(true);
    const dup = await b.handle({ method: "POST", path: "/work_pools/", body: { name: "a-0" } });
    expect(dup.status).toBe(409);
    const pools = await a.handle({ method: "POST", path: "/work_pools/filter", body: { limit: 200 } });
    expect((pools.body as WorkPool[]).length).toBe(200);
    const rest = await a.handle({ method: "POST", path: "/work_pools/filter", body: { limit: 200, offset: 200 } });
    expect(rest.body).toEqual([]);
    a.close();
    b.close();
  });

  it("loses no writes from two wp processes started at once on a fresh home", { timeout: 120_000 }, async () => {
    const build = mkdtempSync(join(root, ".wp-test-build-"));
    dirs.push(build);
    await promisify(execFile)(
      process.execPath,
      [
        join(root, "node_modules/typescript/bin/tsc"),
        ...["--outDir", join(build, "dist"), "--rootDir", join(root, "src"), "--module", "NodeNext"],
        ...["--moduleResolution", "NodeNext", "--target", "ES2022", "--strict", "--skipLibCheck", "--types", "node"],
        join(root, "src/prefect/embedded/api.ts"),
      ],
      { cwd: root },
    );
    symlinkSync(join(root, "data"), join(build, "data"));
    const script = join(build, "writer.mjs");
    writeFileSync(
      script,
      `import { createEmbeddedApi } from "./dist/prefect/embedded/api.js";
import { existsSync, writeFileSync } from "node:fs";
const [home, prefix, count, barrier] = process.argv.slice(2);
// A barrier: both writers wait for each other, then start together, so the first-start set-up and the writes race.
writeFileSync(barrier + "-" + prefix, "");
while (!(existsSync(barrier + "-p") && existsSync(barrier + "-q"))) await new Promise((r) => setTimeout(r, 2));
const started = Date.now();
const api = createEmbeddedApi({ home });
for (let i = 0; i < Number(count); i++) {
  const r = await api.handle({ method: "POST", path: "/work_pools/", body: { name: prefix + "-" + i } });
  if (r.status !== 201) { process.stderr.write(JSON.stringify(r)); process.exit(1); }
}
api.close();
process.stdout.write(started + " " + Date.now());
`,
    );
    const home = tempHome();
    const barrier = join(build, "ready");
    const run = (prefix: string) =>
      new Promise<{ code: number | null; stderr: string; span: number[] }>((resolve) => {
        const child = spawn(process.execPath, [script, home, prefix, "300", barrier], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        child.stdout.on("data", (d: Buffer) => {
          stdout += d.toString();
        });
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => {
          stderr += d.toString();
        });
        child.on("close", (code) => resolve({ code, stderr, span: stdout.split(" ").map(Number) }));
      });
    const results = await Promise.all([run("p"), run("q")]);
    expect(results.map(({ code, stderr }) => ({ code, stderr }))).toEqual([
      { code: 0, stderr: "" },
      { code: 0, stderr: "" },
    ]);
    // The two writers ran at the same time (else this test would prove nothing).
    const [p = [], q = []] = results.map((r) => r.span);
    expect((p[0] ?? 0) < (q[1] ?? 0) && (q[0] ?? 0) < (p[1] ?? 0)).toBe(true);
    const api = createEmbeddedApi({ home });
    const pools: WorkPool[] = [];
    for (let offset = 0; offset < 800; offset += 200) {
      const page = await api.handle({ method: "POST", path: "/work_pools/filter", body: { limit: 200, offset } });
      pools.push(...(page.body as WorkPool[]));
    }
    expect(pools.length).toBe(600);
    const types = (await api.handle({ method: "POST", path: "/block_types/filter", body: {} })).body as BlockType[];
    expect(types.length).toBe(bundledCatalog().length);
    const schemas = (await api.handle({ method: "POST", path: "/block_schemas/filter", body: {} }))
      .body as BlockSchema[];
    expect(schemas.length).toBe(bundledCatalog().length);
    api.close();
    expect(existsSync(join(home, "secret.key"))).toBe(true);
    expect(readdirSync(home).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});
