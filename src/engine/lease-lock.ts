/**
 * Locks every machine sees: each lock scope (a cloud account and region, a subscription and location, a project, the
 * Prefect workspace) is a Prefect global concurrency limit of one slot, `wp-lock-<sha>`. A run takes one slot of each
 * of its scopes' limits under one lease (`increment-with-lease`: all or none, so two runs never deadlock), renews the
 * lease every LEASE_SECONDS / 3 while it runs, and frees it when done (`decrement-with-lease`).
 *
 * A run killed with `kill -9` stops renewing: its lease lapses LEASE_SECONDS (60 s, Prefect's shortest lease) after
 * its last renewal, and Prefect's Repossessor frees the slot within its loop (15 s on a Prefect server and `wp
 * server`), so a waiting run goes on at most 75 s after its last renewal.
 *
 * Who holds a lock (machine, pid, since, when the lease lapses) is kept in a Prefect variable named after the limit
 * (`wp_lock_<sha>`): a lease's own holder can only name a flow run, task run or deployment. A server without these
 * routes (404/405) is said once; the lock file on this machine (lock.ts) is then the only lock.
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { WpError } from "../errors.js";
import type { PrefectApi } from "../prefect/api.js";
import { type LeaseApi, LeasesUnsupported } from "../prefect/leases.js";
import { waitUntil } from "./wait.js";

/** The lease asked for, in seconds: Prefect's minimum. */
export const LEASE_SECONDS = 60;
/** How long after the lease lapses Prefect's Repossessor may take to free its slot (its default loop). */
export const REPOSSESS_SECONDS = 15;

export interface LeaseOptions {
  api: PrefectApi;
  scopes: string[];
  /** Called once per holder waited for, with what to tell the user. */
  waiting(message: string): void;
  /** One-off notices (no leases on this server; a lease lost). */
  note(message: string): void;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Renewal period (default LEASE_SECONDS / 3). */
  renewMs?: number;
}

export interface HolderRecord {
  host: string;
  pid: number;
  scope: string;
  since: string;
  lease_expires: string;
}

export type AsyncRelease = () => Promise<void>;

const PREFECT_SCOPE = "Prefect API ";

/** The limit for a scope: the Prefect workspace's is one name (the limits live in it), a cloud scope's a digest. */
export function limitName(scope: string): string {
  if (scope.startsWith(PREFECT_SCOPE)) return "wp-lock-prefect-workspace";
  return `wp-lock-${createHash("sha256").update(scope).digest("hex").slice(0, 24)}`;
}

const variableName = (limit: string): string => limit.replaceAll("-", "_");

/** APIs already said to have no leases (once per API in a process). */
const toldUnsupported = new Set<string>();

/**
 * Takes the lease for `scopes` in the Prefect API, waiting while another run holds one of them; returns its release,
 * or null when the API has no leases (said once) so the lock file alone stands.
 */
export async function acquireLease(o: LeaseOptions): Promise<AsyncRelease | null> {
  const leases = o.api.leases;
  if (!leases) return null;
  const byName = new Map<string, string>();
  for (const s of o.scopes) byName.set(limitName(s), s);
  const names = [...byName.keys()].sort();
  try {
    for (const n of names) await leases.createLimit(n, 1);
  } catch (err) {
    if (!(err instanceof LeasesUnsupported)) throw err;
    if (!toldUnsupported.has(o.api.url)) {
      toldUnsupported.add(o.api.url);
      o.note(
        `${err.message} wp keeps its lock in a file on this machine only: runs on other machines are not kept apart.`,
      );
    }
    return null;
  }
  const leaseId = await waitForLease(o, leases, names, byName);
  return await holdLease(o, leases, names, byName, leaseId);
}

async function waitForLease(
  o: LeaseOptions,
  leases: LeaseApi,
  names: string[],
  byName: Map<string, string>,
): Promise<string> {
  const told = new Set<string>();
  let tries = 0;
  return waitUntil({
    what: `the lock on ${names.map((n) => byName.get(n)).join(", ")} in the Prefect API`,
    why: "another wp run holds it",
    timeoutMs: o.timeoutMs ?? 15 * 60_000,
    intervalMs: 500,
    maxIntervalMs: 2000,
    signal: o.signal,
    // The holder is said below, with who it is; waitUntil's own line would say less.
    note: () => {},
    hint: "If no wp run is active, its lease lapses within 75 s; run the command again.",
    attempt: async () => {
      const taken = await leases.increment(names, LEASE_SECONDS);
      if (taken === "locked") {
        tries++;
        await tellHolder(o, leases, names, byName, told, tries);
        return { done: false, reason: "423 Locked" };
      }
      const missing = names.filter((n) => !taken.limits.some((l) => l.name === n));
      const wide = taken.limits.find((l) => names.includes(l.name) && l.limit !== 1);
      if (missing.length > 0 || wide) {
        // A limit deleted meanwhile (the lease holds nothing for it), or widened by hand: give the slots back.
        await leases.decrement(taken.leaseId);
        if (wide) {
          throw new WpError(
            `Global concurrency limit ${wide.name} has ${wide.limit} slots; wp's lock needs exactly 1.`,
            `Set it back with \`prefect gcl update ${wide.name} --limit 1\`, or delete it.`,
          );
        }
        for (const n of missing) await leases.createLimit(n, 1);
        return { done: false, reason: `limit ${missing.join(", ")} missing` };
      }
      return { done: true, value: taken.leaseId };
    },
  });
}

/** Says who holds the lock, once per holder; a holder that left no record is said after a few tries. */
async function tellHolder(
  o: LeaseOptions,
  leases: LeaseApi,
  names: string[],
  byName: Map<string, string>,
  told: Set<string>,
  tries: number,
): Promise<void> {
  for (const n of names) {
    const r = (await leases.readVariable(variableName(n)).catch(() => null)) as HolderRecord | null;
    if (!r || typeof r.pid !== "number") continue;
    const key = `${r.host}:${r.pid}:${r.since}`;
    if (told.has(key)) return;
    told.add(key);
    const lapse = Date.parse(r.lease_expires);
    const when =
      lapse > Date.now()
        ? `its lease lapses at ${clock(lapse)} unless that run renews it`
        : `its lease lapsed at ${clock(lapse)}; Prefect frees it within ${REPOSSESS_SECONDS} s`;
    o.waiting(
      `Waiting for another wp run (pid ${r.pid} on ${r.host}, since ${clock(Date.parse(r.since))}) that is ` +
        `provisioning ${r.scope}; ${when}...`,
    );
    return;
  }
  if (tries === 3 && told.size === 0) {
    told.add("unknown");
    o.waiting(
      `Waiting for another wp run that holds the lock on ${names.map((n) => byName.get(n)).join(", ")} in the ` +
        `Prefect API (it left no record of who it is; a stopped run's lease lapses within ` +
        `${LEASE_SECONDS + REPOSSESS_SECONDS} s)...`,
    );
  }
}

const clock = (ms: number): string => `${new Date(ms).toISOString().slice(11, 19)} UTC`;

/** Records the holder, renews the lease until released; the release frees the lease and removes the record. */
async function holdLease(
  o: LeaseOptions,
  leases: LeaseApi,
  names: string[],
  byName: Map<string, string>,
  first: string,
): Promise<AsyncRelease> {
  let leaseId = first;
  const since = new Date().toISOString();
  const record = async () => {
    const lease_expires = new Date(Date.now() + LEASE_SECONDS * 1000).toISOString();
    for (const n of names) {
      const value: HolderRecord = {
        host: hostname(),
        pid: process.pid,
        scope: byName.get(n) ?? n,
        since,
        lease_expires,
      };
      await leases.writeVariable(variableName(n), value);
    }
  };
  // The record only names the holder for waiting runs: failing to write it never stops the run.
  await record().catch(() => {});
  let pending: Promise<unknown> = Promise.resolve();
  let renewing = false;
  const renew = async () => {
    if (renewing) return;
    renewing = true;
    try {
      if (await leases.renew(leaseId, LEASE_SECONDS)) await record().catch(() => {});
      else await retake();
    } catch {
      // A dropped connection: the next renewal (LEASE_SECONDS / 3 later) tries again, well before the lease lapses.
    } finally {
      renewing = false;
    }
  };
  const retake = async () => {
    const again = await leases.increment(names, LEASE_SECONDS);
    if (again !== "locked") {
      leaseId = again.leaseId;
      await record().catch(() => {});
      return;
    }
    o.note(
      "wp's lease in the Prefect API lapsed (renewals failed for 60 s) and another run took the lock: " +
        "both may now change the same resources; run this command again when it is done.",
    );
  };
  const timer = setInterval(
    () => {
      pending = renew();
    },
    o.renewMs ?? (LEASE_SECONDS * 1000) / 3,
  );
  timer.unref();
  return async () => {
    clearInterval(timer);
    await pending;
    await Promise.all(names.map((n) => leases.deleteVariable(variableName(n)).catch(() => {})));
    await leases.decrement(leaseId).catch(() => {});
  };
}
