/**
 * A damaged store stops wp with one line naming the file and the way out, and leaves every file as it was:
 * a wp.db that is not SQLite (or is damaged), a secret.key that is missing, unreadable, the wrong size or
 * not the key that sealed the stored block documents. A new home still gets both files.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { WpError } from "../../src/errors.js";
import { createEmbeddedApi } from "../../src/prefect/embedded/api.js";
import type { BlockDocument, BlockSchema, BlockType } from "../../src/prefect/types.js";
import { makeHome, runCli } from "../helpers/run-cli.js";

const homes: Array<ReturnType<typeof makeHome>> = [];
afterEach(() => {
  for (const h of homes.splice(0)) h.cleanup();
});

function newHome() {
  const home = makeHome();
  homes.push(home);
  return {
    ...home,
    wp: home.env.WP_HOME,
    db: join(home.env.WP_HOME, "wp.db"),
    key: join(home.env.WP_HOME, "secret.key"),
  };
}

/** Every entry of the folder with a digest of its bytes (or "dir"). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    out[name] = statSync(path).isDirectory() ? "dir" : createHash("sha256").update(readFileSync(path)).digest("hex");
  }
  return out;
}

const mode = (path: string): number => statSync(path).mode & 0o777;

/** A store with one pool and one encrypted block document (an AWS credentials block). */
async function seed(home: string, withBlock = true): Promise<void> {
  const api = createEmbeddedApi({ home });
  try {
    const pool = await api.handle({ method: "POST", path: "/work_pools/", body: { name: "kept", type: "process" } });
    expect(pool.status).toBe(201);
    if (!withBlock) return;
    const type = (await api.handle({ method: "GET", path: "/block_types/slug/aws-credentials" })).body as BlockType;
    const schemas = await api.handle({
      method: "POST",
      path: "/block_schemas/filter",
      body: { block_schemas: { block_type_id: { any_: [type.id] } }, limit: 1 },
    });
    const doc = await api.handle({
      method: "POST",
      path: "/block_documents/",
      body: {
        name: "creds",
        data: { aws_access_key_id: "id", aws_secret_access_key: "s3cret-value" },
        block_type_id: type.id,
        block_schema_id: (schemas.body as BlockSchema[])[0]?.id,
      },
    });
    expect(doc.status).toBe(201);
    expect((doc.body as BlockDocument).id).toBeTruthy();
  } finally {
    api.close();
  }
}

/** Runs `wp ls` and `wp server start` on the damaged home: each exit 1, one line on stderr, nothing changed. */
async function expectRefused(h: ReturnType<typeof newHome>, message: RegExp): Promise<string> {
  const before = snapshot(h.wp);
  const ls = await runCli(["ls"], { env: h.env });
  expect({ code: ls.code, stdout: ls.stdout }).toEqual({ code: 1, stdout: "" });
  expect(ls.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(ls.stderr).toMatch(message);
  expect(snapshot(h.wp)).toEqual(before);
  const server = await runCli(["server", "start", "--port", "0"], { env: h.env });
  expect({ code: server.code, stdout: server.stdout, stderr: server.stderr }).toEqual({
    code: 1,
    stdout: "",
    stderr: ls.stderr,
  });
  expect(snapshot(h.wp)).toEqual(before);
  expect(() => createEmbeddedApi({ home: h.wp })).toThrow(WpError);
  expect(snapshot(h.wp)).toEqual(before);
  return ls.stderr;
}

describe("a damaged wp.db", () => {
  it("that is not a SQLite file: one line naming wp.db and how to recover, files untouched", async () => {
    const h = newHome();
    await seed(h.wp);
    writeFileSync(h.db, "this is not a SQLite database, it is a text file that happens to be called wp.db\n");
    const line = await expectRefused(h, /wp\.db is not a usable wp database \(SQLITE_NOTADB: file is not a database\)/);
    expect(line).toContain(h.db);
    expect(line).toContain("Restore it from a backup, or move it aside to start with an empty store");
  });

  it("that is a damaged SQLite file (truncated): the same error", async () => {
    const h = newHome();
    await seed(h.wp);
    truncateSync(h.db, 4096 + 100);
    const line = await expectRefused(h, /is not a usable wp database \(SQLITE_CORRUPT/);
    expect(line).toContain(h.db);
  });

  it("moving it aside, as the message says, starts an empty store with the same key", async () => {
    const h = newHome();
    await seed(h.wp);
    const key = readFileSync(h.key);
    writeFileSync(h.db, randomBytes(8192));
    await expectRefused(h, /not a usable wp database/);
    renameSync(h.db, `${h.db}.broken`);
    const ls = await runCli(["ls", "-o", "json"], { env: h.env });
    expect({ code: ls.code, stdout: JSON.parse(ls.stdout) }).toEqual({ code: 0, stdout: [] });
    expect(readFileSync(h.key).equals(key)).toBe(true);
  });
});

describe("secret.key", () => {
  it("missing while wp.db holds encrypted block documents: refused, and no new key is made", async () => {
    const h = newHome();
    await seed(h.wp);
    unlinkSync(h.key);
    const line = await expectRefused(h, /secret\.key is missing, but .*wp\.db holds 1 encrypted block document/);
    expect(line).toContain(h.key);
    expect(line).toContain("Restore secret.key from a backup, or move wp.db aside to start with an empty store.");
    expect(existsSync(h.key)).toBe(false);
  });

  it("not the key that sealed the documents (a different 32-byte key): refused, nothing written", async () => {
    const h = newHome();
    await seed(h.wp);
    writeFileSync(h.key, randomBytes(32), { mode: 0o600 });
    const line = await expectRefused(h, /secret\.key does not decrypt the block documents in .*wp\.db/);
    expect(line).toContain(h.key);
    expect(line).toContain("Restore the matching secret.key from a backup, or move wp.db aside");
  });

  it("of the wrong size: refused, the file kept", async () => {
    const h = newHome();
    await seed(h.wp);
    writeFileSync(h.key, "short");
    const line = await expectRefused(h, /secret\.key is not a 32-byte key \(it has 5 bytes\)/);
    expect(line).toContain(h.key);
    expect(readFileSync(h.key, "utf8")).toBe("short");
  });

  it("unreadable (a folder in its place): refused naming the file", async () => {
    const h = newHome();
    await seed(h.wp);
    unlinkSync(h.key);
    mkdirSync(h.key);
    const line = await expectRefused(h, /Cannot read .*secret\.key \(EISDIR\)/);
    expect(line).toContain(h.key);
  });

  it("a damaged block document alone does not condemn a right key: other documents still open", async () => {
    const h = newHome();
    await seed(h.wp);
    const api = createEmbeddedApi({ home: h.wp });
    try {
      const type = (await api.handle({ method: "GET", path: "/block_types/slug/aws-credentials" })).body as BlockType;
      const doc = (
        await api.handle({
          method: "GET",
          path: `/block_types/slug/aws-credentials/block_documents/name/creds`,
        })
      ).body as BlockDocument;
      const second = await api.handle({
        method: "POST",
        path: "/block_documents/",
        body: {
          name: "second",
          data: { aws_access_key_id: "id2" },
          block_type_id: type.id,
          block_schema_id: doc.block_schema_id,
        },
      });
      expect(second.status).toBe(201);
      // Damage the first document's ciphertext directly in the database.
      const db = (await import("better-sqlite3")).default(h.db);
      db.prepare("UPDATE block_document SET data = ? WHERE id = ?").run(randomBytes(64), doc.id);
      db.close();
    } finally {
      api.close();
    }
    const reopened = createEmbeddedApi({ home: h.wp });
    try {
      const ok = await reopened.handle({
        method: "GET",
        path: "/block_types/slug/aws-credentials/block_documents/name/second",
      });
      expect(ok.status).toBe(200);
      const bad = await reopened.handle({
        method: "GET",
        path: "/block_types/slug/aws-credentials/block_documents/name/creds",
      });
      expect(bad.status).toBe(500);
      expect(JSON.stringify(bad.body)).toContain("does not decrypt the block documents");
    } finally {
      reopened.close();
    }
  });

  it("missing from a store without block documents: a new key is made (nothing it could lock out)", async () => {
    const h = newHome();
    await seed(h.wp, false);
    unlinkSync(h.key);
    const r = await runCli(["inspect", "kept", "-o", "json"], { env: h.env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).name).toBe("kept");
    expect(statSync(h.key).size).toBe(32);
    expect(mode(h.key)).toBe(0o600);
  });
});

describe("a new home", () => {
  it("gets wp.db and secret.key (0600) in a 0700 folder, and works", async () => {
    const h = newHome();
    expect(existsSync(h.wp)).toBe(false);
    const created = await runCli(["create", "fresh", "-t", "process"], { env: h.env });
    expect(created.code).toBe(0);
    expect(mode(h.wp)).toBe(0o700);
    expect(mode(h.db)).toBe(0o600);
    expect(mode(h.key)).toBe(0o600);
    expect(statSync(h.key).size).toBe(32);
    const ls = await runCli(["ls", "-o", "json"], { env: h.env });
    expect(JSON.parse(ls.stdout).map((p: { name: string }) => p.name)).toEqual(["fresh"]);
  });

  it("an empty wp.db file counts as a new store", async () => {
    const h = newHome();
    mkdirSync(h.wp, { recursive: true, mode: 0o700 });
    writeFileSync(h.db, "");
    const r = await runCli(["ls", "-o", "json"], { env: h.env });
    expect({ code: r.code, out: JSON.parse(r.stdout) }).toEqual({ code: 0, out: [] });
    expect(statSync(h.key).size).toBe(32);
    rmSync(h.db);
  });
});
