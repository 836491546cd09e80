/**
 * Minting a credential safely, for every cloud (AWS access keys today; Azure client secrets and
 * Google service-account keys use the same mechanism). Between the mint and the write of the block
 * that holds it, the secret exists only in this process; so that it never outlives the run without
 * its block:
 *  - the mint → store section is a critical section: Ctrl-C / SIGTERM wait for it (interrupt.ts);
 *  - a failed store deletes the credential again;
 *  - a journal entry is written (and fsynced) before the mint and gets the credential id right
 *    after it; a run killed hard leaves the entry behind, and the next run for the same owner
 *    deletes the credential it names (or, when the kill came before the id was recorded, the
 *    owner's credentials created since the entry began) — never one that a Prefect block holds.
 * The journal holds ids and times only, never a secret. Entries live in `$WP_HOME/pending/`.
 */
import { randomUUID } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Ctx } from "../context.js";
import { wpHome } from "../home.js";
import { critical, interruptSignal } from "../interrupt.js";
import { processAlive } from "./lock.js";

export interface CredentialSpec<C extends { id: string }> {
  /** Stable owner key, e.g. "aws:123456789012:iam-user/prefect-ecs-user". */
  scope: string;
  /** For messages, e.g. "access key" and "IAM user prefect-ecs-user". */
  noun: string;
  owner: string;
  /** Creates the credential (the secret is in the result; never log it). */
  mint(): Promise<C>;
  /** Deletes a credential by id; one already gone is not an error. */
  revoke(id: string): Promise<void>;
  /** The owner's credentials now, with creation times where the cloud gives them. */
  list(): Promise<Array<{ id: string; created?: Date | undefined }>>;
  /** Ids held by Prefect blocks: these are never revoked. */
  held(): Promise<Set<string>>;
}

interface Entry {
  file: string;
  scope: string;
  started: string;
  pid: number;
  host: string;
  id?: string;
  /** A rotation: the credentials the new one replaces, deleted once the block holds the new one. */
  retire?: string[];
}

/** The plan's words for orphans the apply will delete: "delete access key AKIA… left by an interrupted run". */
export function orphansNote(noun: string, ids: string[]): string {
  return `delete ${noun}${ids.length === 1 ? "" : "s"} ${ids.join(", ")} left by an interrupted run`;
}

/** Tolerance for clock differences between this machine and the cloud's creation times. */
const SKEW_MS = 5 * 60_000;

export interface Orphan {
  id: string;
  /** Journal entries this orphan accounts for. */
  entries: string[];
}

export interface CredentialGuardOptions {
  /** wp's data folder ($WP_HOME, default ~/.wp). */
  home: string;
  /** Test hook: pause at a point of the critical section until a signal arrives (WP_TEST_PAUSE_AT). */
  pauseAt?: string | undefined;
  /** Where the test hook announces itself (stderr). */
  announce?: (line: string) => void;
}

/** A command's guard: the journal under $WP_HOME, and the WP_TEST_PAUSE_AT hook announced on stderr. */
export function commandGuard(ctx: Pick<Ctx, "env" | "io">): CredentialGuard {
  return new CredentialGuard({
    home: wpHome(ctx.env),
    pauseAt: ctx.env.WP_TEST_PAUSE_AT,
    announce: (line) => ctx.io.stderr.write(line),
  });
}

export class CredentialGuard {
  private readonly dir: string;

  constructor(private readonly o: CredentialGuardOptions) {
    this.dir = join(o.home, "pending");
  }

  /** Whether this machine's journal holds an entry whose scope starts with `prefix` (a cloud's, e.g. "azure:"): nothing to finish otherwise, and no request made to find out. */
  pending(prefix: string): boolean {
    return this.entries((scope) => scope.startsWith(prefix)).length > 0;
  }

  private entries(scope: string | ((scope: string) => boolean)): Entry[] {
    const wanted = typeof scope === "string" ? (s: string) => s === scope : scope;
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith(".json"));
    } catch {
      return [];
    }
    const out: Entry[] = [];
    for (const name of names) {
      let e: Omit<Entry, "file">;
      try {
        e = JSON.parse(readFileSync(join(this.dir, name), "utf8")) as Omit<Entry, "file">;
      } catch {
        // A torn write (killed while writing the entry): it never reached the mint.
        rmSync(join(this.dir, name), { force: true });
        continue;
      }
      // The folder also holds verify's journal (verify-journal.ts), whose entries have no scope.
      if (typeof e.scope === "string" && wanted(e.scope)) out.push({ ...e, file: name });
    }
    return out;
  }

  private write(entry: Entry): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const { file, ...data } = entry;
    const fd = openSync(join(this.dir, file), "w", 0o600);
    try {
      writeSync(fd, JSON.stringify(data));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private drop(entry: Entry): void {
    rmSync(join(this.dir, entry.file), { force: true });
  }

  /**
   * Credentials of `spec`'s owner that interrupted runs left without a block. Reads the cloud and
   * Prefect only; journal entries found settled (their credential held by a block, or gone) are
   * removed from the journal, which is this machine's bookkeeping, not a resource.
   */
  async orphans<C extends { id: string }>(spec: CredentialSpec<C>): Promise<Orphan[]> {
    const entries = this.entries(spec.scope).filter((e) => !runningElsewhere(e));
    if (entries.length === 0) return [];
    const [existing, held] = await Promise.all([spec.list(), spec.held()]);
    const found = new Map<string, Orphan>();
    for (const e of entries) {
      // Killed before the id was recorded: what the owner got since the entry began, if no block holds it.
      const since = Date.parse(e.started) - SKEW_MS;
      const ids = e.id
        ? existing.some((k) => k.id === e.id)
          ? [e.id]
          : []
        : existing.filter((k) => k.created && k.created.getTime() >= since).map((k) => k.id);
      // A rotation's old credentials, once the block no longer holds them (a run stopped before deleting them).
      const stale = (e.retire ?? []).filter((id) => existing.some((k) => k.id === id));
      const loose = [...ids, ...stale].filter((id) => !held.has(id));
      if (loose.length === 0) this.drop(e);
      for (const id of loose) {
        const o = found.get(id) ?? { id, entries: [] };
        o.entries.push(e.file);
        found.set(id, o);
      }
    }
    return [...found.values()];
  }

  /** Deletes the orphans of `spec`'s owner and clears the journal entries that are settled. */
  async recover<C extends { id: string }>(spec: CredentialSpec<C>, note: (m: string) => void): Promise<number> {
    const orphans = await this.orphans(spec);
    for (const o of orphans) {
      await spec.revoke(o.id);
      note(`Deleted ${spec.noun} ${o.id} of ${spec.owner}, left without a block by an interrupted wp run.`);
    }
    for (const e of this.entries(spec.scope)) if (!runningElsewhere(e)) this.drop(e);
    return orphans.length;
  }

  /**
   * Mints a credential and stores it with `store` inside a critical section; a failed store
   * revokes it again. Returns what `store` returned. `retire` (a rotation) names the credentials
   * the new one replaces: they are journaled with the mint and deleted once `store` has written the
   * block, so a run stopped in between leaves them to the next run's `recover`, never for good.
   */
  async mintInto<C extends { id: string }, T>(
    spec: CredentialSpec<C>,
    store: (credential: C) => Promise<T>,
    note: (m: string) => void,
    retire: string[] = [],
  ): Promise<T> {
    interruptSignal.throwIfAborted();
    return critical(async () => {
      const entry: Entry = {
        file: `${randomUUID()}.json`,
        scope: spec.scope,
        started: new Date().toISOString(),
        pid: process.pid,
        host: hostname(),
        ...(retire.length > 0 ? { retire } : {}),
      };
      this.write(entry);
      await this.pause("before-mint");
      let credential: C;
      try {
        credential = await spec.mint();
      } catch (err) {
        await this.lostAnswer(spec, entry, note);
        throw err;
      }
      await this.pause("after-mint");
      this.write({ ...entry, id: credential.id });
      note(`Created ${spec.noun} ${credential.id} for ${spec.owner}.`);
      await this.pause("after-journal");
      let stored: T;
      try {
        stored = await store(credential);
      } catch (err) {
        // The secret exists only in this process now; a credential nobody can read is a liability.
        await spec.revoke(credential.id).then(
          () => {
            this.drop(entry);
            note(`Deleted ${spec.noun} ${credential.id} again because its block could not be written.`);
          },
          () => note(`Could not delete ${spec.noun} ${credential.id} yet; the next wp run deletes it.`),
        );
        throw err;
      }
      await this.pause("after-block");
      await this.pause("before-retire");
      try {
        for (const id of retire) {
          await spec.revoke(id);
          note(`Deleted the old ${spec.noun} ${id} of ${spec.owner}.`);
        }
        this.drop(entry);
      } catch {
        // The block holds the new credential; the journal keeps the old ones for the next run.
        note(`Could not delete the old ${spec.noun} yet; the next wp run for this pool deletes it.`);
      }
      return stored;
    });
  }

  /**
   * A mint that failed may still have created the credential (the answer was lost on the way back):
   * what the owner got since the entry began and no block holds is deleted now; when that cannot be
   * read or deleted, the entry stays for the next run's `recover`.
   */
  private async lostAnswer<C extends { id: string }>(
    spec: CredentialSpec<C>,
    entry: Entry,
    note: (m: string) => void,
  ): Promise<void> {
    try {
      const { retire: _kept, ...mintOnly } = entry;
      this.write(mintOnly);
      const since = Date.parse(entry.started) - SKEW_MS;
      const [existing, held] = await Promise.all([spec.list(), spec.held()]);
      for (const k of existing) {
        if (!k.created || k.created.getTime() < since || held.has(k.id)) continue;
        await spec.revoke(k.id);
        note(`Deleted ${spec.noun} ${k.id} of ${spec.owner}: created by the failed call, its answer never arrived.`);
      }
      this.drop(entry);
    } catch {
      // Kept in the journal: the next run for this owner finishes it.
    }
  }

  private async pause(point: string): Promise<void> {
    if (this.o.pauseAt !== point) return;
    this.o.announce?.(`wp-test: paused at ${point}\n`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 30_000);
      interruptSignal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** An entry of a live wp process on this machine is a run in progress, not an orphan. */
function runningElsewhere(e: Entry): boolean {
  return e.pid !== process.pid && processAlive(e.pid, e.host);
}
