/**
 * `wp verify` on Ctrl-C, with the built CLI (bin.ts's signal handling): the task that moto keeps
 * RUNNING (its state manager set to advance manually) is stopped and its task definition
 * deregistered before wp exits 130.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { awsWpEnv, requireMoto, useMoto } from "../helpers/moto.js";
import { runCli } from "../helpers/run-cli.js";

const hasMoto = requireMoto("test/lifecycle/verify-interrupt.test.ts (wp verify interrupted, against moto)");
const BIN = join(process.cwd(), "bin", "wp.js");

describe.skipIf(!hasMoto)("wp verify interrupted", () => {
  const sim = useMoto();

  it("Ctrl-C stops the task and deregisters the task definition, then exits 130", async () => {
    const t = awsWpEnv(sim.moto.url, { PATH: process.env.PATH ?? "", WP_VERIFY_POLL_MS: "50" });
    const env = t.env;
    let child: ReturnType<typeof spawn> | undefined;
    try {
      const created = await runCli(["create", "i", "--type", "ecs:push", "--provision-infra", "--yes"], { env });
      expect(created.code, created.stderr).toBe(0);
      // The task stays RUNNING until advanced by hand (here: never).
      const set = await fetch(`${sim.moto.url}/moto-api/state-manager/set-transition`, {
        method: "POST",
        body: JSON.stringify({ model_name: "ecs::task", transition: { progression: "manual", times: 100000 } }),
      });
      expect(set.ok).toBe(true);
      child = spawn(process.execPath, [BIN, "verify", "i"], {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout?.on("data", (d) => {
        out += String(d);
      });
      const running = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no task on stderr:\n${err}`)), 45_000);
        child?.stderr?.on("data", (d) => {
          err += String(d);
          if (/Task arn:aws:ecs:\S+: RUNNING/.test(err) || err.includes("Registered task definition")) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const proc = child;
      const exit = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
      await running;
      await new Promise((r) => setTimeout(r, 300));
      proc.kill("SIGINT");
      expect(await exit).toBe(130);
      expect(err).toContain("stopping the verification task and cleaning up");
      expect(err).toContain("Verification interrupted");
      expect(out).not.toContain("can run work");
      const { ECSClient, ListTaskDefinitionsCommand, ListTasksCommand } = await import("@aws-sdk/client-ecs");
      const ecs = new ECSClient({ region: "us-east-1", endpoint: sim.moto.url });
      const active = await ecs.send(new ListTaskDefinitionsCommand({ status: "ACTIVE" }));
      expect(active.taskDefinitionArns ?? []).toEqual([]);
      const tasks = await ecs.send(new ListTasksCommand({ cluster: "prefect-ecs-cluster", desiredStatus: "RUNNING" }));
      expect(tasks.taskArns ?? []).toEqual([]);
    } finally {
      // Only the wp process this test started, if it is still running.
      if (child && child.exitCode === null) child.kill("SIGKILL");
      await fetch(`${sim.moto.url}/moto-api/state-manager/unset-transition`, {
        method: "POST",
        body: JSON.stringify({ model_name: "ecs::task" }),
      }).catch(() => {});
      t.cleanup();
    }
  });
});
