/**
 * What the lease lock does with the answers a genuine Prefect server can give: `increment-with-lease` on a limit that
 * does not exist answers 200 with no limit taken (fixtures/v2-concurrency-leases.json), and a limit can be widened by
 * hand. A fake LeaseApi plays the server.
 */
import { describe, expect, it } from "vitest";
import { acquireLease, limitName } from "../../src/engine/lease-lock.js";
import type { PrefectApi } from "../../src/prefect/api.js";
import type { LeaseApi, LeaseTaken } from "../../src/prefect/leases.js";

function fakeApi(answers: (names: string[]) => LeaseTaken | "locked") {
  const calls: string[] = [];
  const leases: LeaseApi = {
    createLimit: async (name) => {
      calls.push(`create ${name}`);
      return true;
    },
    increment: async (names) => {
      calls.push("increment");
      return answers(names);
    },
    renew: async () => true,
    decrement: async (id) => {
      calls.push(`decrement ${id}`);
    },
    readVariable: async () => null,
    writeVariable: async () => {},
    deleteVariable: async () => {},
  };
  return { api: { leases } as unknown as PrefectApi, calls };
}

const SCOPE = "AWS account 1 in eu-west-1";

describe("the lease lock checks what increment-with-lease took", () => {
  it("a lease that holds no slot of a limit (deleted meanwhile) is given back, the limit made again, and retried", async () => {
    let n = 0;
    const { api, calls } = fakeApi((names) => {
      n++;
      return n === 1
        ? { leaseId: "empty", limits: [] }
        : { leaseId: "good", limits: names.map((name) => ({ name, limit: 1 })) };
    });
    const release = await acquireLease({ api, scopes: [SCOPE], waiting: () => {}, note: () => {} });
    expect(release).not.toBeNull();
    const name = limitName(SCOPE);
    expect(calls).toEqual([`create ${name}`, "increment", "decrement empty", `create ${name}`, "increment"]);
    await release?.();
    expect(calls.at(-1)).toBe("decrement good");
  });

  it("a limit widened to more than one slot is refused with the way to set it back", async () => {
    const { api, calls } = fakeApi((names) => ({ leaseId: "w", limits: names.map((name) => ({ name, limit: 3 })) }));
    await expect(acquireLease({ api, scopes: [SCOPE], waiting: () => {}, note: () => {} })).rejects.toThrow(
      `Global concurrency limit ${limitName(SCOPE)} has 3 slots; wp's lock needs exactly 1.`,
    );
    expect(calls).toContain("decrement w");
  });

  it("every Prefect API scope is the one workspace limit, whatever the URL's spelling", () => {
    expect(limitName("Prefect API http://127.0.0.1:4200/api")).toBe(limitName("Prefect API http://localhost:4200/api"));
    expect(limitName(SCOPE)).toMatch(/^wp-lock-[0-9a-f]{24}$/);
  });
});
