/**
 * One provisioning run at a time per scope (a cloud account and region, a Prefect API). First, on this
 * machine: an exclusive lock file in `$WP_HOME/locks/` holding the owner's pid. A lock whose owner
 * is no longer running (killed, crashed) is taken over; a live owner is waited for with a note.
 * Then, for every machine using the same Prefect API: a lease on a global concurrency limit per
 * scope (lease-lock.ts), where the API has them.
 */
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { WpError } from "../errors.js";
import { interruptSignal } from "../interrupt.js";
import type { PrefectApi } from "../prefect/api.js";
import { acquireLease } from "./lease-lock.js";

interface Owner {
  pid: number;
  host: string;
  scope: string;
  since: string;
}

export interface LockOptions {
  home: string;
  /** Called once when the lock is held by another run, with what to tell the user. */
  waiting(message: string): void;
  /** Give up after this long (default 15 minutes). */
  timeoutMs?: number;
  pollMs?: number;
  /** The Prefect API whose leases lock the scopes for every machine (none: this machine's lock files only). */
  api?: PrefectApi;
  /** One-off notices (the API has no leases). */
  note?(message: string): void;
}

/** Scopes held by this process (two in-process runs, as in tests, must not share a lock). */
const heldHere = new Map<string, Promise<void>>();

type FileRelease = () => void;
export type Release = () => Promise<void>;

/**
 * Takes the locks for `scopes`: this machine's lock files (in a fixed order, so two runs never deadlock), then the
 * lease in the Prefect API for all of them at once. Returns the release (the lease, then the files).
 */
export async function acquireLocks(scopes: string[], o: LockOptions): Promise<Release> {
  const releases: FileRelease[] = [];
  const releaseFiles = () => {
    for (const r of releases.reverse()) r();
  };
  try {
    for (const scope of [...new Set(scopes)].sort()) releases.push(await acquire(scope, o));
    const lease = o.api
      ? await acquireLease({
          api: o.api,
          scopes,
          waiting: o.waiting,
          note: o.note ?? o.waiting,
          ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
          signal: interruptSignal,
        })
      : null;
    return async () => {
      try {
        await lease?.();
      } finally {
        releaseFiles();
      }
    };
  } catch (err) {
    releaseFiles();
    throw err;
  }
}

async function acquire(scope: string, o: LockOptions): Promise<FileRelease> {
  // In this process: queue behind an earlier holder of the same scope and home (another home is another machine).
  const here = `${o.home}\0${scope}`;
  while (heldHere.has(here)) await heldHere.get(here);
  let releaseHere: () => void = () => {};
  heldHere.set(
    here,
    new Promise<void>((r) => {
      releaseHere = r;
    }),
  );
  const dir = join(o.home, "locks");
  const file = join(dir, `${createHash("sha256").update(scope).digest("hex").slice(0, 24)}.lock`);
  const deadline = Date.now() + (o.timeoutMs ?? 15 * 60_000);
  let told = false;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (;;) {
      if (tryCreate(file, scope)) break;
      const owner = readOwner(file);
      if (owner ? !processAlive(owner.pid, owner.host) : tornFor(file, 5000)) {
        // The owner is gone: take the lock over (a stale file is replaced atomically enough: the
        // rm + exclusive create is retried if another waiter wins the race).
        rmSync(file, { force: true });
        continue;
      }
      if (!told && owner) {
        told = true;
        o.waiting(`Waiting for another wp run (pid ${owner.pid}) that is provisioning ${scope}...`);
      }
      if (Date.now() > deadline) {
        throw new WpError(
          `Another wp run (pid ${owner?.pid ?? "?"}) has been provisioning ${scope} for too long.`,
          `If no wp run is active, delete ${file} and run again.`,
        );
      }
      interruptSignal.throwIfAborted();
      await new Promise((r) => setTimeout(r, o.pollMs ?? 200));
    }
  } catch (err) {
    heldHere.delete(here);
    releaseHere();
    throw err;
  }
  const release = () => {
    rmSync(file, { force: true });
    process.off("exit", release);
    heldHere.delete(here);
    releaseHere();
  };
  // A run that exits (Ctrl-C, error) releases its lock; only a hard kill leaves a stale file.
  process.on("exit", release);
  return release;
}

function tryCreate(file: string, scope: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, "wx", 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    const owner: Owner = { pid: process.pid, host: hostname(), scope, since: new Date().toISOString() };
    writeSync(fd, JSON.stringify(owner));
  } finally {
    closeSync(fd);
  }
  return true;
}

function readOwner(file: string): Owner | null {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Owner;
  } catch {
    // Being written right now (or torn by a kill): treat as held by an unknown live owner, briefly.
    return null;
  }
}

/** A lock file that stayed unreadable this long was torn by a kill while it was being written. */
function tornFor(file: string, ms: number): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs > ms;
  } catch {
    return true;
  }
}

/** Whether process `pid` of `host` may still be running (another host's: assumed so). */
export function processAlive(pid: number, host: string): boolean {
  if (host !== hostname()) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
