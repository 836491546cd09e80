/**
 * Global concurrency limits (`/v2/concurrency_limits`) and their leases, as Prefect 3.4.25 answers them: Prefect's
 * `server/api/concurrency_limits_v2.py` (PrefectHQ/prefect, the routes, `_acquire_concurrency_slots` and
 * `_generate_concurrency_locked_response`), `server/models/concurrency_limits_v2.py` (slot arithmetic) and the
 * answers a genuine 3.4.25 server gave (fixtures/v2-concurrency-leases.json): create 201 / 409 for a taken name,
 * `increment-with-lease` 200 with `lease_id` / 423 `Locked` when a slot is taken / 200 with `"limits": []` (no slot
 * taken, a lease that holds nothing) for names that do not exist, renew 204 / 410 for a lease that is gone,
 * `decrement-with-lease` 204 (also for a lease that is gone).
 *
 * Expired leases are revoked, and their slots freed, by Prefect's Repossessor service, which looks every
 * `loop_seconds` (default 15: `ServerServicesRepossessorSettings` in `settings/models/server/services.py`). Here the
 * same sweep runs on the first lease request at least 15 s after the previous one, so a lapsed lease frees its slot
 * between its expiry and 15 s after it, as on Prefect's server.
 */
import { crypto } from "../../builtin.js";
import { type Db, now, type Store } from "./store.js";
import { detail, type Json, noContent, ok, type Result } from "./validate.js";

interface LimitRow {
  id: string;
  name: string;
  active: number;
  limit: number;
  active_slots: number;
  denied_slots: number;
  slot_decay_per_second: number;
  avg_slot_occupancy_seconds: number;
  created: string;
  updated: string;
}

interface LeaseRow {
  id: string;
  resource_ids: string;
  slots: number;
  created_ms: number;
  expires_ms: number;
}

/** Prefect's Repossessor loop (seconds). */
export const REPOSSESSOR_LOOP_SECONDS = 15;
/** `OCCUPANCY_SAMPLES_MULTIPLIER` and `MINIMUM_OCCUPANCY_SECONDS_PER_SLOT` of models/concurrency_limits_v2.py. */
const SAMPLES = 2;
const MIN_OCCUPANCY = 0.1;
const NOT_FOUND = "Concurrency Limit not found";
/** What Prefect answers for an IntegrityError (a name taken). */
export const CONFLICT =
  "Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.";
const LEASE_GONE = "Lease not found - it may have expired or been revoked";

let clock = (): number => Date.now();
/** Tests move time forward without sleeping through a 60 s lease. */
export function setLeaseClock(fn: (() => number) | null): void {
  clock = fn ?? (() => Date.now());
}

/** ConcurrencyLimitV2 (the create answer). */
const full = (r: LimitRow): Json => ({
  id: r.id,
  created: r.created,
  updated: r.updated,
  active: r.active === 1,
  name: r.name,
  limit: r.limit,
  active_slots: r.active_slots,
  denied_slots: r.denied_slots,
  slot_decay_per_second: r.slot_decay_per_second,
  avg_slot_occupancy_seconds: r.avg_slot_occupancy_seconds,
});

/** GlobalConcurrencyLimitResponse (read and filter answers). */
const global = (r: LimitRow): Json => ({
  id: r.id,
  created: r.created,
  updated: r.updated,
  active: r.active === 1,
  name: r.name,
  limit: r.limit,
  active_slots: r.active_slots,
  slot_decay_per_second: r.slot_decay_per_second,
});

const minimal = (r: LimitRow): Json => ({ id: r.id, name: r.name, limit: r.limit });

function byIdOrName(db: Db, idOrName: string): LimitRow | undefined {
  return db.prepare("SELECT * FROM concurrency_limit WHERE id = ? OR name = ?").get(idOrName, idOrName) as
    | LimitRow
    | undefined;
}

export function createLimit(store: Store, body: Json): Result {
  return store.write(() => {
    if (store.db.prepare("SELECT 1 FROM concurrency_limit WHERE name = ?").get(body.name)) return detail(409, CONFLICT);
    const t = now();
    const row: LimitRow = {
      id: crypto().randomUUID(),
      name: String(body.name),
      active: body.active === false ? 0 : 1,
      limit: Number(body.limit),
      active_slots: Number(body.active_slots ?? 0),
      denied_slots: Number(body.denied_slots ?? 0),
      slot_decay_per_second: Number(body.slot_decay_per_second ?? 0),
      // The model's default (schemas/core.py ConcurrencyLimitV2), as the recorded create answer shows.
      avg_slot_occupancy_seconds: 2.0,
      created: t,
      updated: t,
    };
    store.db
      .prepare(
        `INSERT INTO concurrency_limit (id, name, active, "limit", active_slots, denied_slots, slot_decay_per_second,
         avg_slot_occupancy_seconds, created, updated) VALUES (@id, @name, @active, @limit, @active_slots,
         @denied_slots, @slot_decay_per_second, @avg_slot_occupancy_seconds, @created, @updated)`,
      )
      .run(row);
    return ok(full(row), 201);
  });
}

export function readLimit(store: Store, idOrName: string): Result {
  repossess(store);
  const row = byIdOrName(store.db, idOrName);
  return row ? ok(global(row)) : detail(404, NOT_FOUND);
}

export function filterLimits(store: Store, body: Json, limit: number): Result {
  repossess(store);
  const offset = typeof body.offset === "number" ? body.offset : 0;
  const rows = store.db
    .prepare("SELECT * FROM concurrency_limit ORDER BY name LIMIT ? OFFSET ?")
    .all(limit, offset) as LimitRow[];
  return ok(rows.map(global));
}

export function deleteLimit(store: Store, idOrName: string): Result {
  return store.write(() => {
    const row = byIdOrName(store.db, idOrName);
    if (!row) return detail(404, NOT_FOUND);
    store.db.prepare("DELETE FROM concurrency_limit WHERE id = ?").run(row.id);
    return noContent();
  });
}

/** `POST /v2/concurrency_limits/increment-with-lease`: every named active limit gains `slots`, or none does (423). */
export function incrementWithLease(store: Store, body: Json): Result {
  repossess(store);
  const names = (body.names as string[]) ?? [];
  const slots = Number(body.slots);
  const leaseSeconds = typeof body.lease_duration === "number" ? body.lease_duration : 300;
  return store.write(() => {
    const db = store.db;
    const limits = names.length
      ? (db
          .prepare(`SELECT * FROM concurrency_limit WHERE name IN (${names.map(() => "?").join(",")}) ORDER BY name`)
          .all(...names) as LimitRow[])
      : [];
    const active = limits.filter((l) => l.active === 1);
    if (active.some((l) => l.limit < slots)) return detail(422, "Slots requested is greater than the limit");
    const nonDecaying = active.filter((l) => l.slot_decay_per_second === 0).map((l) => l.name);
    if (body.mode === "rate_limit" && nonDecaying.length > 0) {
      return detail(
        422,
        "Only concurrency limits with slot decay can be used for rate limiting. The following limits do not have a " +
          `decay configured: '${nonDecaying.join(",")}'`,
      );
    }
    const t = now();
    if (active.some((l) => l.active_slots + slots > l.limit)) return locked(db, active, slots, t);
    const bump = db.prepare("UPDATE concurrency_limit SET active_slots = active_slots + ?, updated = ? WHERE id = ?");
    for (const l of active) bump.run(slots, t, l.id);
    const id = crypto().randomUUID();
    const at = clock();
    db.prepare(
      "INSERT INTO concurrency_lease (id, resource_ids, slots, holder, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(
      id,
      JSON.stringify(limits.map((l) => l.id)),
      slots,
      body.holder ? JSON.stringify(body.holder) : null,
      at,
      at + leaseSeconds * 1000,
    );
    return ok({ lease_id: id, limits: limits.map(minimal) });
  });
}

/** 423 with Prefect's Retry-After guess (the blocking limit's average occupancy times the queue before us). */
function locked(db: Db, active: LimitRow[], slots: number, t: string): Result {
  const deny = db.prepare("UPDATE concurrency_limit SET denied_slots = denied_slots + ?, updated = ? WHERE id = ?");
  for (const l of active) deny.run(slots, t, l.id);
  const blocking = (l: LimitRow) =>
    l.slot_decay_per_second > 0 ? slots + l.denied_slots : (slots + l.denied_slots) / l.limit;
  const worst = active.reduce((a, b) => (blocking(b) > blocking(a) ? b : a));
  const perSlot =
    worst.slot_decay_per_second === 0 ? worst.avg_slot_occupancy_seconds : 1 / worst.slot_decay_per_second;
  return { status: 423, body: { detail: "Locked" }, headers: { "retry-after": String(perSlot * blocking(worst)) } };
}

export function renewLease(store: Store, leaseId: string, body: Json): Result {
  repossess(store);
  const seconds = typeof body.lease_duration === "number" ? body.lease_duration : 300;
  return store.write(() => {
    const lease = readLease(store.db, leaseId);
    // A lease past its expiry is gone for its holder, even before the Repossessor frees its slots.
    if (!lease || lease.expires_ms <= clock()) return detail(410, LEASE_GONE);
    store.db.prepare("UPDATE concurrency_lease SET expires_ms = ? WHERE id = ?").run(clock() + seconds * 1000, leaseId);
    return noContent();
  });
}

export function decrementWithLease(store: Store, body: Json): Result {
  repossess(store);
  return store.write(() => {
    const lease = readLease(store.db, String(body.lease_id));
    if (lease) release(store.db, lease);
    return noContent();
  });
}

function readLease(db: Db, id: string): LeaseRow | undefined {
  return db.prepare("SELECT * FROM concurrency_lease WHERE id = ?").get(id) as LeaseRow | undefined;
}

/** Frees a lease's slots (bulk_decrement_active_slots with the occupancy it had) and revokes it. */
function release(db: Db, lease: LeaseRow): void {
  const ids = JSON.parse(lease.resource_ids) as string[];
  const perSlot = Math.max((clock() - lease.created_ms) / 1000 / Math.max(lease.slots, 1), MIN_OCCUPANCY);
  const t = now();
  const dec = db.prepare(
    `UPDATE concurrency_limit SET active_slots = max(0, active_slots - ?),
     avg_slot_occupancy_seconds = avg_slot_occupancy_seconds + (? - avg_slot_occupancy_seconds) / ("limit" * ?),
     updated = ? WHERE id = ? AND active = 1`,
  );
  for (const id of ids) dec.run(lease.slots, perSlot, SAMPLES, t, id);
  db.prepare("DELETE FROM concurrency_lease WHERE id = ?").run(lease.id);
}

/** The Repossessor's pass, at most once per loop: every expired lease's slots are freed and the lease revoked. */
function repossess(store: Store): void {
  const at = clock();
  const last = store.db.prepare("SELECT value FROM meta WHERE key = 'repossessed_ms'").get() as
    | { value: string }
    | undefined;
  // A clock set back (a restored VM, another host's store) sweeps at once rather than never.
  const since = last ? at - Number(last.value) : Number.POSITIVE_INFINITY;
  if (since >= 0 && since < REPOSSESSOR_LOOP_SECONDS * 1000) return;
  store.write(() => {
    const expired = store.db.prepare("SELECT * FROM concurrency_lease WHERE expires_ms <= ?").all(at) as LeaseRow[];
    for (const lease of expired) release(store.db, lease);
    store.db
      .prepare(
        "INSERT INTO meta (key, value) VALUES ('repossessed_ms', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      )
      .run(String(at));
  });
}
