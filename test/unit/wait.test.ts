/** Bounded waits and transient retries (src/engine/wait.ts), shared by every cloud. */
import { describe, expect, it } from "vitest";
import { retryAfterMs, retryTransient, waitUntil } from "../../src/engine/wait.js";

describe("waitUntil", () => {
  it("says nothing when the first read already succeeds (a wait costs nothing when nothing lags)", async () => {
    const notes: string[] = [];
    const v = await waitUntil({
      what: "the key",
      why: "keys propagate",
      timeoutMs: 1000,
      note: (m) => notes.push(m),
      attempt: async () => ({ done: true, value: 7 }),
    });
    expect(v).toBe(7);
    expect(notes).toEqual([]);
  });

  it("says once what it waits for and why, then returns when the read succeeds", async () => {
    const notes: string[] = [];
    let n = 0;
    const v = await waitUntil({
      what: "the new access key to work",
      why: "new IAM keys take seconds to propagate",
      timeoutMs: 5000,
      intervalMs: 5,
      note: (m) => notes.push(m),
      attempt: async () => (++n < 4 ? { done: false, reason: "InvalidClientTokenId" } : { done: true, value: n }),
    });
    expect(v).toBe(4);
    expect(notes).toEqual([
      "Waiting for the new access key to work (new IAM keys take seconds to propagate; up to 5 s)...",
    ]);
  });

  it("gives up at its deadline with the last answer and a hint", async () => {
    await expect(
      waitUntil({
        what: "the role to work",
        why: "role grants take minutes to propagate",
        timeoutMs: 40,
        intervalMs: 5,
        note: () => {},
        attempt: async () => ({ done: false, reason: "403 PERMISSION_DENIED" }),
      }),
    ).rejects.toThrow(/Gave up after \d+ s waiting for the role to work \(last answer: 403 PERMISSION_DENIED\)/);
  });

  it("stops at once on a terminal failure thrown by the read", async () => {
    let n = 0;
    await expect(
      waitUntil({
        what: "the container group",
        why: "it starts",
        timeoutMs: 10_000,
        note: () => {},
        attempt: async () => {
          n++;
          throw new Error("provisioningState Failed");
        },
      }),
    ).rejects.toThrow("provisioningState Failed");
    expect(n).toBe(1);
  });
});

describe("retryTransient", () => {
  it("retries what is transient, honouring Retry-After, and rethrows anything else at once", async () => {
    const notes: string[] = [];
    let n = 0;
    const v = await retryTransient(
      async () => {
        if (++n < 3) throw Object.assign(new Error("busy"), { status: 503 });
        return "ok";
      },
      {
        what: "reading the operation",
        transient: (e) => ((e as { status?: number }).status === 503 ? { reason: "503", retryAfterMs: 1 } : undefined),
        note: (m) => notes.push(m),
      },
    );
    expect(v).toBe("ok");
    expect(notes).toEqual([
      "Reading the operation: 503; trying again in 1 ms...",
      "Reading the operation: 503; trying again in 1 ms...",
    ]);
    await expect(
      retryTransient(
        async () => {
          throw new Error("denied");
        },
        { what: "x", transient: () => undefined },
      ),
    ).rejects.toThrow("denied");
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(retryAfterMs("3")).toBe(3000);
    expect(retryAfterMs("Thu, 01 Jan 2026 00:00:10 GMT", Date.parse("2026-01-01T00:00:00Z"))).toBe(10_000);
    expect(retryAfterMs("soon")).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});
