/**
 * The embedded API's SQLite store (`${home}/wp.db`, WAL, every write in a BEGIN IMMEDIATE transaction so concurrent
 * wp processes serialise instead of losing writes) and the AES-256-GCM key for block document data at rest.
 */

import { chmodSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { crypto } from "../../builtin.js";
import { WpError } from "../../errors.js";
import { sqliteAddon } from "./sqlite-addon.js";

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

const SCHEMA_VERSION = 2;
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
CREATE TABLE IF NOT EXISTS concurrency_limit (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, active INTEGER NOT NULL, "limit" INTEGER NOT NULL,
  active_slots INTEGER NOT NULL, denied_slots INTEGER NOT NULL, slot_decay_per_second REAL NOT NULL,
  avg_slot_occupancy_seconds REAL NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS concurrency_lease (
  id TEXT PRIMARY KEY, resource_ids TEXT NOT NULL, slots INTEGER NOT NULL, holder TEXT,
  created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS variable (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, value TEXT NOT NULL, tags TEXT NOT NULL,
  created TEXT NOT NULL, updated TEXT NOT NULL);
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

/**
 * Opens (creating if needed) the store in `home`: home mode 0700, db and key files mode 0600. A damaged database, or a
 * key that is missing, unreadable, the wrong size or not the one that sealed the stored block documents, is a WpError
 * naming the file and the way out; nothing is written then, and a key is never replaced.
 */
export function openStore(home: string): Store {
  makeHome(home);
  const dbPath = join(home, "wp.db");
  const keyPath = join(home, "secret.key");
  const db = openDatabase(dbPath);
  let key: Buffer;
  try {
    key = loadKey(keyPath, dbPath, db);
  } catch (err) {
    db.close();
    throw err instanceof WpError ? err : databaseError(dbPath, err);
  }
  const write = <T>(fn: () => T): T => db.transaction(fn).immediate();
  const open = (blob: Buffer, aad: string): unknown => JSON.parse(decrypt(key, blob, aad).toString("utf8"));
  return {
    db,
    write,
    seal(value, aad) {
      const iv = crypto().randomBytes(12);
      const cipher = crypto().createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(Buffer.from(aad, "utf8"));
      const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    },
    open(blob, aad) {
      try {
        return open(blob, aad);
      } catch {
        throw wrongKey(keyPath, dbPath);
      }
    },
    close() {
      if (db.open) db.close();
    },
  };
}

function decrypt(key: Buffer, blob: Buffer, aad: string): Buffer {
  const decipher = crypto().createDecipheriv("aes-256-gcm", key, blob.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad, "utf8"));
  decipher.setAuthTag(blob.subarray(12, 28));
  return Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]);
}

function makeHome(home: string): void {
  try {
    const created = mkdirSync(home, { recursive: true, mode: 0o700 });
    if (created !== undefined) chmodSync(home, 0o700);
  } catch (err) {
    throw new WpError(`Cannot create the wp data folder ${home} (${codeOf(err)}); set WP_HOME to a writable folder.`);
  }
}

/**
 * Opens wp.db (an empty or missing file is a new store) and reads its header and schema, so a file that is not a
 * SQLite database, or a damaged one, fails here before anything is written to it.
 */
function openDatabase(path: string): Db {
  let db: Db | undefined;
  try {
    db = new Database(path, sqliteAddon());
    db.pragma("busy_timeout = 5000");
    const version = db.pragma("user_version", { simple: true });
    db.prepare("SELECT count(*) FROM sqlite_master").get();
    chmodSync(path, 0o600);
    // Switching a new file to WAL can answer SQLITE_BUSY at once (no busy handler) while another
    // process does the same; retry for up to the busy timeout.
    retryBusy(() => db?.pragma("journal_mode = WAL"));
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    if (version !== SCHEMA_VERSION) {
      db.transaction(() => {
        db?.exec(SCHEMA);
        db?.pragma(`user_version = ${SCHEMA_VERSION}`);
      }).immediate();
    }
    return db;
  } catch (err) {
    db?.close();
    throw databaseError(path, err);
  }
}

function databaseError(path: string, err: unknown): WpError {
  const code = codeOf(err);
  if (code === "SQLITE_BUSY") {
    return new WpError(`${path} stayed locked by another process for 5 s (SQLITE_BUSY); try again.`);
  }
  const why = err instanceof Error ? err.message : String(err);
  return new WpError(
    `${path} is not a usable wp database (${code}: ${why}). Restore it from a backup, or move it aside to start with ` +
      "an empty store (its pools and blocks are then gone).",
  );
}

/**
 * Reads the 32-byte key and checks it against the stored block documents. Only when the key file is missing and no
 * block document exists is a new key created, atomically: written to a private temporary file (flag 'wx', mode 0600)
 * and hard-linked into place, so a concurrent reader never sees a partial key and only one key wins.
 */
function loadKey(path: string, dbPath: string, db: Db): Buffer {
  const sealed = db.prepare("SELECT id, data FROM block_document ORDER BY created LIMIT 3").all() as {
    id: string;
    data: Buffer;
  }[];
  let key = readKey(path, dbPath);
  if (key === null) {
    if (sealed.length > 0) {
      const count = (db.prepare("SELECT count(*) AS n FROM block_document").get() as { n: number }).n;
      throw new WpError(
        `${path} is missing, but ${dbPath} holds ${count} encrypted block document(s) that only that key opens. ` +
          `Restore secret.key from a backup, or move wp.db aside to start with an empty store.`,
      );
    }
    key = createKey(path, dbPath);
  }
  if (sealed.length > 0 && !sealed.some((row) => opens(key, row.data, row.id))) throw wrongKey(path, dbPath);
  return key;
}

function opens(key: Buffer, blob: Buffer, aad: string): boolean {
  try {
    decrypt(key, blob, aad);
    return true;
  } catch {
    return false;
  }
}

function wrongKey(path: string, dbPath: string): WpError {
  return new WpError(
    `${path} does not decrypt the block documents in ${dbPath} (a different key?). Restore the matching secret.key ` +
      "from a backup, or move wp.db aside to start with an empty store.",
  );
}

/** The key in `path`, or null when there is no such file. */
function readKey(path: string, dbPath: string): Buffer | null {
  let key: Buffer;
  try {
    key = readFileSync(path);
  } catch (err) {
    if (isCode(err, "ENOENT")) return null;
    throw new WpError(
      `Cannot read ${path} (${codeOf(err)}). Restore secret.key from a backup (a 32-byte file, mode 0600), or move ` +
        `${dbPath} and it aside to start with an empty store.`,
    );
  }
  if (key.length !== 32) {
    throw new WpError(
      `${path} is not a 32-byte key (it has ${key.length} bytes). Restore secret.key from a backup, or move ${dbPath} ` +
        "and it aside to start with an empty store.",
    );
  }
  return key;
}

function createKey(path: string, dbPath: string): Buffer {
  const tmp = `${path}.${process.pid}.${crypto().randomBytes(6).toString("hex")}.tmp`;
  try {
    writeFileSync(tmp, crypto().randomBytes(32), { flag: "wx", mode: 0o600 });
    try {
      linkSync(tmp, path);
    } catch (err) {
      if (!isCode(err, "EEXIST")) throw err;
    } finally {
      unlinkSync(tmp);
    }
  } catch (err) {
    throw new WpError(`Cannot create ${path} (${codeOf(err)}); check the permissions of its folder.`);
  }
  const key = readKey(path, dbPath);
  if (key === null) throw new WpError(`${path} vanished while it was being created; try again.`);
  return key;
}

function codeOf(err: unknown): string {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : "error";
}

function isCode(err: unknown, code: string): boolean {
  return codeOf(err) === code;
}
