/**
 * The Prefect API calls behind wp's locks shared by every machine: global concurrency limits (`/v2/concurrency_limits`)
 * taken with leases, and variables (who holds a lock). Status codes as a genuine Prefect 3.4.25 server answers them
 * (fixtures/v2-concurrency-leases.json): create 201 / 409 for a taken name; `increment-with-lease` 200 / 423 when a
 * slot is taken (and 200 with no limit taken for names that do not exist: the caller checks the answer's names);
 * renew 204 / 410 when the lease is gone; `decrement-with-lease` 204.
 */
import { ApiError, WpError } from "../errors.js";
import { type ApiRequest, seg } from "./transport.js";

export interface LeaseTaken {
  leaseId: string;
  /** The limits the lease holds (only those that exist). */
  limits: { name: string; limit: number }[];
}

export interface LeaseApi {
  /** Creates a limit of `slots` slots unless one of that name exists: true when made, false when it existed. */
  createLimit(name: string, slots: number): Promise<boolean>;
  /** One slot of every named limit under one lease, or "locked" (423) when one of them has no free slot. */
  increment(names: string[], leaseSeconds: number): Promise<LeaseTaken | "locked">;
  /** Extends a lease: false when it is gone (lapsed or revoked). */
  renew(leaseId: string, leaseSeconds: number): Promise<boolean>;
  /** Frees a lease's slots (a lease that is gone is fine). */
  decrement(leaseId: string): Promise<void>;
  readVariable(name: string): Promise<unknown>;
  /** Writes a variable's value, creating it when missing. */
  writeVariable(name: string, value: unknown): Promise<void>;
  /** Deletes a variable (a missing one is fine). */
  deleteVariable(name: string): Promise<void>;
}

/** The server has no global concurrency leases (404 or 405 to the route: an older Prefect, or a proxy in between). */
export class LeasesUnsupported extends WpError {}

type Call = (req: ApiRequest) => Promise<unknown>;

const isStatus = (err: unknown, ...codes: number[]): boolean => err instanceof ApiError && codes.includes(err.status);

export function leaseApi(call: Call, target: string): LeaseApi {
  return { ...limitCalls(call, target), ...variableCalls(call) };
}

function limitCalls(call: Call, target: string): Omit<LeaseApi, "readVariable" | "writeVariable" | "deleteVariable"> {
  return {
    async createLimit(name, slots) {
      try {
        // Read first: a create that meets an existing name costs the server an IntegrityError in its log.
        await call({ method: "GET", path: `/v2/concurrency_limits/${seg(name)}` });
        return false;
      } catch (err) {
        // 404: no such limit (or no such route: the create says which); 403: the create says what is refused.
        if (!isStatus(err, 404, 403)) throw err;
      }
      try {
        await call({ method: "POST", path: "/v2/concurrency_limits/", body: { name, limit: slots } });
        return true;
      } catch (err) {
        if (isStatus(err, 409)) return false;
        if (isStatus(err, 404, 405))
          throw new LeasesUnsupported(`${target} has no global concurrency limits (${(err as ApiError).status}).`);
        if (isStatus(err, 403)) {
          throw new LeasesUnsupported(
            `${target} refused to create global concurrency limit ${name} (403: ${(err as ApiError).message}); ` +
              "a role that may manage concurrency limits lets wp lock across machines.",
          );
        }
        throw err;
      }
    },
    async increment(names, leaseSeconds) {
      let body: unknown;
      try {
        body = await call({
          method: "POST",
          path: "/v2/concurrency_limits/increment-with-lease",
          body: { names, slots: 1, mode: "concurrency", lease_duration: leaseSeconds },
        });
      } catch (err) {
        if (isStatus(err, 423)) return "locked";
        if (isStatus(err, 404, 405))
          throw new LeasesUnsupported(`${target} has no concurrency leases (${(err as ApiError).status}).`);
        throw err;
      }
      const b = body as { lease_id?: unknown; limits?: unknown };
      if (typeof b?.lease_id !== "string" || !Array.isArray(b.limits)) {
        throw new WpError(`${target} answered increment-with-lease without a lease_id and limits.`);
      }
      const limits = (b.limits as { name?: unknown; limit?: unknown }[]).map((l) => ({
        name: String(l.name),
        limit: Number(l.limit),
      }));
      return { leaseId: b.lease_id, limits };
    },
    async renew(leaseId, leaseSeconds) {
      try {
        await call({
          method: "POST",
          path: `/v2/concurrency_limits/leases/${seg(leaseId)}/renew`,
          body: { lease_duration: leaseSeconds },
        });
        return true;
      } catch (err) {
        // 410 on Prefect 3.4.25; 404 "Lease not found" on earlier 3.4 releases.
        if (isStatus(err, 410, 404)) return false;
        throw err;
      }
    },
    async decrement(leaseId) {
      await call({ method: "POST", path: "/v2/concurrency_limits/decrement-with-lease", body: { lease_id: leaseId } });
    },
  };
}

function variableCalls(call: Call): Pick<LeaseApi, "readVariable" | "writeVariable" | "deleteVariable"> {
  return {
    async readVariable(name) {
      try {
        const v = (await call({ method: "GET", path: `/variables/name/${seg(name)}` })) as { value?: unknown };
        return v?.value ?? null;
      } catch (err) {
        if (isStatus(err, 404)) return null;
        throw err;
      }
    },
    async writeVariable(name, value) {
      const patch = () => call({ method: "PATCH", path: `/variables/name/${seg(name)}`, body: { value } });
      try {
        await patch();
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
        try {
          await call({ method: "POST", path: "/variables/", body: { name, value } });
        } catch (e) {
          // Made by another run between the two calls: write over it.
          if (!isStatus(e, 409)) throw e;
          await patch();
        }
      }
    },
    async deleteVariable(name) {
      try {
        await call({ method: "DELETE", path: `/variables/name/${seg(name)}` });
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
      }
    },
  };
}
