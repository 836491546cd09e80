/**
 * How a `wp verify` run meets signals (verifyInterrupts): the first ends the current wait at once and
 * makes `check` throw with 130 (SIGINT) or 143 (SIGTERM); the second only says cleanup is under way;
 * the third exits at once. The signals are delivered as bin.ts's handlers receive them
 * (installSignalHandlers, then process.emit), so no real signal reaches the test process.
 */
import { afterAll, describe, expect, it } from "vitest";
import { VerifyInterrupted, verifyInterrupts } from "../../src/engine/verify-run.js";
import { installSignalHandlers } from "../../src/interrupt.js";

const exits: number[] = [];
const before = { int: process.listeners("SIGINT"), term: process.listeners("SIGTERM") };
installSignalHandlers(
  (code) => exits.push(code),
  () => {},
);
afterAll(() => {
  for (const s of ["SIGINT", "SIGTERM"] as const) {
    for (const l of process.listeners(s))
      if (!(s === "SIGINT" ? before.int : before.term).includes(l)) process.off(s, l);
  }
});

describe("verifyInterrupts", () => {
  it("a signal ends the wait at once; check throws 143 after SIGTERM; a third signal exits", async () => {
    const lines: string[] = [];
    const stop = verifyInterrupts((l) => lines.push(l), "task");
    try {
      expect(stop.stopped()).toBe(false);
      expect(() => stop.check("x")).not.toThrow();
      const t0 = Date.now();
      const wait = stop.sleep(10_000);
      setTimeout(() => process.emit("SIGTERM", "SIGTERM"), 20);
      await wait;
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(stop.stopped()).toBe(true);
      expect(lines).toEqual(["wp: stopping the verification task and cleaning up..."]);
      let thrown: unknown;
      try {
        stop.check("Verification interrupted.");
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(VerifyInterrupted);
      expect((thrown as VerifyInterrupted).exitCode).toBe(143);
      // A later wait returns at once.
      const t1 = Date.now();
      await stop.sleep(10_000);
      expect(Date.now() - t1).toBeLessThan(1_000);

      process.emit("SIGINT", "SIGINT");
      expect(lines[1]).toMatch(/^wp: still cleaning up; press Ctrl-C once more to stop at once/);
      expect(exits).toEqual([]);
      process.emit("SIGINT", "SIGINT");
      expect(exits).toEqual([143]); // the first signal decides the code
    } finally {
      stop.undo();
    }
  });

  it("SIGINT gives 130; after undo, signals no longer reach the run", () => {
    const lines: string[] = [];
    const stop = verifyInterrupts((l) => lines.push(l), "job");
    process.emit("SIGINT", "SIGINT");
    expect(() => stop.check("stopped")).toThrow(expect.objectContaining({ exitCode: 130 }));
    stop.undo();
    exits.length = 0;
    process.emit("SIGINT", "SIGINT");
    expect(lines).toHaveLength(1);
    expect(exits).toEqual([130]); // outside verify, wp's own rule: exit at once
  });
});
