/**
 * The embedded API's SQLite store (`${home}/wp.db`, WAL, every write in a BEGIN IMMEDIATE transaction so concurrent
 * wp processes serialise instead of losing writes) and the AES-256-GCM key for block document data at rest.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";

export type Db = Database.Database;

export interface Store {
  readonly db: Db;
  /** Runs `fn` in one BEGIN IMMEDIATE transaction (rolled back if it throws). */
  write<T>(fn: () => T): T;
  /** Encrypts a JSON value; `aad` binds the ciphertext to its row (the block document id). */
  seal(value: unknown, aad: string): Buffer;
  open(blob: Buffer, aad: string): unknown;
  close(): void;
}

const SCHEMA_VERSION = 1;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS work_pool (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT, type TEXT NOT NULL,
  base_job_template TEXT NOT NULL, is_paused INTEGER NOT NULL, concurrency_limit INTEGER, status TEXT,
  default_queue_id TEXT, storage_configuration TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS work_queue (
  id TEXT PRIMARY KEY, work_pool_id TEXT NOT NULL REFERENCES work_pool(id) ON DELETE CASCADE, name TEXT NOT NULL,
  description TEXT, priority INTEGER NOT NULL, is_paused INTEGER NOT NULL, concurrency_limit INTEGER,
  created TEXT NOT NULL, updated TEXT NOT NULL, UNIQUE (work_pool_id, name));
CREATE TABLE IF NOT EXISTS block_type (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, slug TEXT NOT NULL UNIQUE, logo_url TEXT, documentation_url TEXT,
  description TEXT, code_example TEXT, is_protected INTEGER NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS block_schema (
  id TEXT PRIMARY KEY, checksum TEXT NOT NULL, version TEXT NOT NULL, fields TEXT NOT NULL, capabilities TEXT NOT NULL,
  block_type_id TEXT NOT NULL REFERENCES block_type(id) ON DELETE CASCADE, created TEXT NOT NULL,
  updated TEXT NOT NULL, UNIQUE (checksum, version));
CREATE TABLE IF NOT EXISTS block_document (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, data BLOB NOT NULL,
  block_schema_id TEXT NOT NULL REFERENCES block_schema(id) ON DELETE CASCADE,
  block_type_id TEXT NOT NULL REFERENCES block_type(id) ON DELETE CASCADE, is_anonymous INTEGER NOT NULL,
  created TEXT NOT NULL, updated TEXT NOT NULL, UNIQUE (block_type_id, name));
`;

/** ISO 8601 UTC timestamp with microseconds, as Prefect writes them. */
export function now(): string {
  return new Date().toISOString().replace("Z", "000Z");
}

function retryBusy<T>(fn: () => T, timeoutMs = 5000): T {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if ((err as { code?: string }).code !== "SQLITE_BUSY" || Date.now() > deadline) throw err;
      Atomics.wait(pause, 0, 0, 10);
    }
  }
}

/** Opens (creating if needed) the store in `home`: home mode 0700, db and key files mode 0600. */
export function openStore(home: string): Store {
  const created = mkdirSync(home, { recursive: true, mode: 0o700 });
  if (created !== undefined) chmodSync(home, 0o700);
  const key = loadKey(join(home, "secret.key"));
  const path = join(home, "wp.db");
  const db = new Database(path);
  chmodSync(path, 0o600);
  db.pragma("busy_timeout = 5000");
  // Switching a new file to WAL can answer SQLITE_BUSY at once (no busy handler) while another
  // process does the same; retry for up to the busy timeout.
  retryBusy(() => db.pragma("journal_mode = WAL"));
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  const write = <T>(fn: () => T): T => db.transaction(fn).immediate();
  if (db.pragma("user_version", { simple: true }) !== SCHEMA_VERSION) {
    write(() => {
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    });
  }
  return {
    db,
    write,
    seal(value, aad) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(Buffer.from(aad, "utf8"));
      const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    },
    open(blob, aad) {
      const decipher = createDecipheriv("aes-256-gcm", key, blob.subarray(0, 12));
      decipher.setAAD(Buffer.from(aad, "utf8"));
      decipher.setAuthTag(blob.subarray(12, 28));
      const text = Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]).toString("utf8");
      return JSON.parse(text);
    },
    close() {
      if (db.open) db.close();
    },
  };
}

/**
 * Reads the 32-byte key, or creates it atomically: the key is written to a private temporary file (flag 'wx',
 * mode 0600) and hard-linked into place, so a concurrent reader never sees a partial key and only one key wins.
 */
function loadKey(path: string): Buffer {
  try {
    return checkKey(readFileSync(path), path);
  } catch (err) {
    if (!isCode(err, "ENOENT")) throw err;
  }
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  writeFileSync(tmp, randomBytes(32), { flag: "wx", mode: 0o600 });
  try {
    linkSync(tmp, path);
  } catch (err) {
    if (!isCode(err, "EEXIST")) throw err;
  } finally {
    unlinkSync(tmp);
  }
  return checkKey(readFileSync(path), path);
}

function checkKey(key: Buffer, path: string): Buffer {
  if (key.length !== 32) throw new Error(`${path} is not a 32-byte key; restore it or remove the wp database.`);
  return key;
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === code;
}
