/**
 * `wp verify` on an ACI pool, interrupted, with the built CLI (bin.ts's signal handling) against the
 * Azure simulator: the container group the simulator holds Running (faults.holdContainerGroups) is
 * deleted before wp exits, and wp says it was interrupted rather than that the pool can run work.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { SUB, useAzure } from "../aci/helpers.js";
import { requireBuilt, type WpProcess, wpProcess } from "../helpers/wp-process.js";

const TYPE = "azure-container-instance:push";
const CG = /\/providers\/Microsoft\.ContainerInstance\/containerGroups\/(wp-verify-[^/]+)$/i;

describe("wp verify on ACI, interrupted", () => {
  beforeAll(() => requireBuilt());
  const { ctx, wp } = useAzure();

  /** The verify container groups the simulator holds. */
  const verifyGroups = () => ctx.sim.state.containerGroups.filter((c) => String(c.name).startsWith("wp-verify-"));

  async function interrupt(pool: string, signal: NodeJS.Signals) {
    const created = await wp(["create", pool, "--type", TYPE, "--provision-infra", "--yes", "--subscription", SUB]);
    expect(created.code, created.stderr).toBe(0);
    // The verify container never terminates while held, so only the signal can end the wait.
    ctx.sim.faults.holdContainerGroups = true;
    ctx.sim.clearLog();
    let proc: WpProcess | undefined;
    try {
      proc = wpProcess(["verify", pool], { PATH: process.env.PATH ?? "", ...ctx.env, WP_VERIFY_POLL_MS: "50" });
      await proc.waitFor(": Running (");
      const name = /Container group (wp-verify-\S+): Running/.exec(proc.stderr())?.[1];
      expect(name).toMatch(new RegExp(`^wp-verify-${pool}-[a-z0-9]+$`));
      expect(verifyGroups().map((c) => c.name)).toEqual([name]);
      // A few more polls while Running, so the signal lands mid-wait.
      await new Promise((r) => setTimeout(r, 200));
      expect(verifyGroups().map((c) => c.name)).toEqual([name]);
      proc.child.kill(signal);
      const { code, signal: killedBy } = await proc.exit;
      const out = proc.stdout();
      const err = proc.stderr();
      expect(killedBy, err).toBeNull();
      expect({ code, err }).toMatchObject({ code: expectedCode(signal) });
      expect(err).toContain("wp: stopping the verification container group and cleaning up...");
      expect(err).toContain("Verification interrupted; the container group was deleted.");
      expect(err).not.toContain("Could not delete container group");
      expect(out).not.toContain("can run work");
      expect(out).not.toContain("Cleaned up:");
      // Nothing left in the simulator, and wp asked for it (not a side effect of something else).
      expect(verifyGroups()).toEqual([]);
      const deletes = ctx.sim.state.log.filter((e) => e.method === "DELETE" && CG.test(e.path));
      expect(deletes.map((e) => [CG.exec(e.path)?.[1], e.status])).toEqual([[name, 200]]);
      // It was polled while Running (held), and none of those polls saw it end.
      const polls = ctx.sim.state.log.filter((e) => e.method === "GET" && CG.test(e.path));
      expect(polls.length).toBeGreaterThanOrEqual(2);
      expect(err).not.toContain("Terminated");
    } finally {
      ctx.sim.faults.holdContainerGroups = false;
      // Only the wp process this test started, if it is still running.
      if (proc && proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill("SIGKILL");
    }
  }

  /** As everywhere in wp: 130 after SIGINT, 143 after SIGTERM, once the container group is deleted. */
  const expectedCode = (signal: NodeJS.Signals) => (signal === "SIGTERM" ? 143 : 130);

  it("Ctrl-C (SIGINT) deletes the running container group, then exits 130", async () => {
    await interrupt("ci", "SIGINT");
  });

  it("Ctrl-C during a long wait between polls acts at once, not after the poll interval", async () => {
    const created = await wp(["create", "slow", "--type", TYPE, "--provision-infra", "--yes", "--subscription", SUB]);
    expect(created.code, created.stderr).toBe(0);
    ctx.sim.faults.holdContainerGroups = true;
    let proc: WpProcess | undefined;
    try {
      proc = wpProcess(["verify", "slow"], { PATH: process.env.PATH ?? "", ...ctx.env, WP_VERIFY_POLL_MS: "5000" });
      // Printed right before the first 5 s wait.
      await proc.waitFor("Created container group wp-verify-slow-");
      await new Promise((r) => setTimeout(r, 100));
      const sent = Date.now();
      proc.child.kill("SIGINT");
      const { code } = await proc.exit;
      expect(Date.now() - sent, proc.stderr()).toBeLessThan(2500);
      expect(code, proc.stderr()).toBe(130);
      expect(proc.stderr()).toContain("Verification interrupted; the container group was deleted.");
      expect(verifyGroups()).toEqual([]);
    } finally {
      ctx.sim.faults.holdContainerGroups = false;
      if (proc && proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill("SIGKILL");
    }
  });

  it("SIGTERM deletes the running container group the same way, then exits 143", async () => {
    await interrupt("term", "SIGTERM");
  });

  it("SIGKILL leaves the container group: status reports it, deprovision deletes it before the resource group", async () => {
    const created = await wp(["create", "kill", "--type", TYPE, "--provision-infra", "--yes", "--subscription", SUB]);
    expect(created.code, created.stderr).toBe(0);
    ctx.sim.faults.holdContainerGroups = true;
    let proc: WpProcess | undefined;
    try {
      proc = wpProcess(["verify", "kill"], { PATH: process.env.PATH ?? "", ...ctx.env, WP_VERIFY_POLL_MS: "50" });
      await proc.waitFor(": Running (");
      proc.child.kill("SIGKILL");
      expect((await proc.exit).signal).toBe("SIGKILL");
    } finally {
      ctx.sim.faults.holdContainerGroups = false;
      if (proc && proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill("SIGKILL");
    }
    const left = verifyGroups().map((c) => String(c.name));
    expect(left).toHaveLength(1);
    const st = await wp(["status", "kill", "-o", "json"]);
    expect(st.code).toBe(1);
    const items = JSON.parse(st.stdout).resources as Array<{ resource: string; name: string; fix?: string }>;
    expect(items.filter((i) => i.resource === "Container group")).toEqual([
      expect.objectContaining({ name: left[0], fix: "wp verify kill" }),
    ]);
    ctx.sim.clearLog();
    const d = await wp(["deprovision", "kill", "--yes"]);
    expect(d.code, d.stderr).toBe(0);
    const deletes = ctx.sim.state.log.filter((e) => e.method === "DELETE").map((e) => e.path);
    const cg = deletes.findIndex((p) => CG.test(p));
    const rg = deletes.findIndex((p) => /\/resourcegroups\/[^/]+$/i.test(p));
    expect(cg).toBeGreaterThanOrEqual(0);
    expect(rg).toBeGreaterThan(cg);
    expect(verifyGroups()).toEqual([]);
    expect(ctx.sim.state.resourceGroups).toEqual([]);
    expect((await wp(["status", "kill"])).code).not.toBe(0);
  });
});
