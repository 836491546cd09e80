/**
 * `wp verify`'s temporary resources (an ECS task definition, a Cloud Run job, a container group) are
 * written here before they are created and removed once they are deleted, so a verify killed with
 * `kill -9` leaves an entry: the next `wp verify` or `wp deprovision` of the pool deletes what it
 * names, and `wp status` reports it. Entries hold names and ids only, in `$WP_HOME/pending/`
 * (files `verify-*.json`, beside the credential journal), fsynced, mode 0600.
 */
import { randomUUID } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { processAlive } from "./lock.js";

export interface Leftover {
  /** The pool verified. */
  pool: string;
  /** What it is, e.g. "Container group", and its name and id in the cloud. */
  kind: string;
  name: string;
  id?: string;
  /** Where it lives (region, resource group, project…): what the provider needs to delete it. */
  where: Record<string, string>;
  started: string;
  pid: number;
  host: string;
}

interface Stored extends Leftover {
  file: string;
}

export class VerifyJournal {
  private readonly dir: string;

  constructor(home: string) {
    this.dir = join(home, "pending");
  }

  /** Written (and fsynced) before the resource is created; returns the entry to pass to `done`. */
  add(entry: Omit<Leftover, "started" | "pid" | "host">): Stored {
    const stored: Stored = {
      ...entry,
      started: new Date().toISOString(),
      pid: process.pid,
      host: hostname(),
      file: `verify-${randomUUID()}.json`,
    };
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const { file, ...data } = stored;
    const fd = openSync(join(this.dir, file), "w", 0o600);
    try {
      writeSync(fd, JSON.stringify(data));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return stored;
  }

  /** The resource is deleted (or was never created). */
  done(entry: { file: string }): void {
    rmSync(join(this.dir, entry.file), { force: true });
  }

  /** Entries of the pool whose run is over (a live wp process's entry is its run in progress). */
  leftovers(pool: string): Stored[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.startsWith("verify-") && n.endsWith(".json"));
    } catch {
      return [];
    }
    const out: Stored[] = [];
    for (const file of names) {
      try {
        const e = JSON.parse(readFileSync(join(this.dir, file), "utf8")) as Leftover;
        if (e.pool !== pool) continue;
        if (e.pid !== process.pid && processAlive(e.pid, e.host)) continue;
        out.push({ ...e, file });
      } catch {
        // A torn write: killed before the resource was created.
        rmSync(join(this.dir, file), { force: true });
      }
    }
    return out;
  }
}
