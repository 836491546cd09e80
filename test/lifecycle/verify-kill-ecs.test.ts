/**
 * `wp verify` killed with SIGKILL mid-wait (the built CLI, against moto): its task definition and
 * task were journaled before they were created, so `wp status` reports them, and the next
 * `wp verify` — or `wp deprovision` — stops and deregisters them.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { awsWpEnv, requireMoto, useMoto } from "../helpers/moto.js";
import { runCli } from "../helpers/run-cli.js";

const hasMoto = requireMoto("test/lifecycle/verify-kill-ecs.test.ts (wp verify killed, against moto)");
const BIN = join(process.cwd(), "bin", "wp.js");

describe.skipIf(!hasMoto)("wp verify killed with SIGKILL", () => {
  const sim = useMoto();

  const transition = (manual: boolean) =>
    fetch(`${sim.moto.url}/moto-api/state-manager/${manual ? "set" : "unset"}-transition`, {
      method: "POST",
      body: JSON.stringify(
        manual
          ? { model_name: "ecs::task", transition: { progression: "manual", times: 100000 } }
          : { model_name: "ecs::task" },
      ),
    });

  async function ecsState() {
    const { ECSClient, ListTaskDefinitionsCommand, ListTasksCommand } = await import("@aws-sdk/client-ecs");
    const ecs = new ECSClient({ region: "us-east-1", endpoint: sim.moto.url });
    const defs = await ecs.send(new ListTaskDefinitionsCommand({ status: "ACTIVE" }));
    const cluster = "prefect-ecs-cluster";
    const arns = (await ecs.send(new ListTasksCommand({ cluster, desiredStatus: "RUNNING" }))).taskArns ?? [];
    // Tasks nobody asked to stop (moto keeps a finished task's desired status RUNNING; only StopTask sets it).
    const { DescribeTasksCommand } = await import("@aws-sdk/client-ecs");
    const described = arns.length
      ? ((await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns }))).tasks ?? [])
      : [];
    const tasks = described.filter((t) => t.stopCode === undefined && t.lastStatus !== "STOPPED").map((t) => t.taskArn);
    return { defs: defs.taskDefinitionArns ?? [], tasks };
  }

  /** Starts `wp verify` with tasks that never stop, and kills it hard once its task runs. */
  async function killVerify(env: Record<string, string>): Promise<void> {
    expect((await transition(true)).ok).toBe(true);
    const child = spawn(process.execPath, [BIN, "verify", "k"], { env, stdio: ["ignore", "pipe", "pipe"] });
    try {
      let err = "";
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no running task on stderr:\n${err}`)), 45_000);
        child.stderr?.on("data", (d) => {
          err += String(d);
          if (/Task arn:aws:ecs:\S+: RUNNING/.test(err)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const exit = new Promise((r) => child.on("exit", r));
      child.kill("SIGKILL");
      await exit;
    } finally {
      // Only the wp process this test started, if it is still running.
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await transition(false).catch(() => {});
    }
  }

  it("status reports the leftovers; the next verify removes them; so does deprovision", async () => {
    const t = awsWpEnv(sim.moto.url, { PATH: process.env.PATH ?? "", WP_VERIFY_POLL_MS: "50" });
    const env = t.env;
    try {
      const created = await runCli(["create", "k", "--type", "ecs:push", "--provision-infra", "--yes"], { env });
      expect(created.code, created.stderr).toBe(0);
      await killVerify(env);
      const left = await ecsState();
      expect(left.defs.length).toBe(1);
      expect(left.tasks.length).toBe(1);

      const st = await runCli(["status", "k", "-o", "json"], { env });
      expect(st.code).toBe(1);
      const items = JSON.parse(st.stdout).resources.filter((i: { detail?: string }) =>
        i.detail?.includes("interrupted"),
      );
      expect(items.map((i: { resource: string }) => i.resource).sort()).toEqual(["ECS task", "ECS task definition"]);
      expect(items.every((i: { fix?: string }) => i.fix === "wp verify k")).toBe(true);

      const v = await runCli(["verify", "k"], { env });
      expect(v.code, v.stderr).toBe(0);
      expect(v.stderr).toContain("left by an interrupted wp verify");
      expect(await ecsState()).toEqual({ defs: [], tasks: [] });
      const healthy = await runCli(["status", "k"], { env });
      expect(healthy.code, healthy.stdout).toBe(0);

      await killVerify(env);
      expect((await ecsState()).defs.length).toBe(1);
      const d = await runCli(["deprovision", "k", "--yes", "-o", "json"], { env });
      expect(d.code, d.stderr).toBe(0);
      const removed = JSON.parse(d.stdout).results.map((r: { resource: string }) => r.resource);
      expect(removed).toEqual(expect.arrayContaining(["ECS task", "ECS task definition"]));
      expect(await ecsState()).toEqual({ defs: [], tasks: [] });
    } finally {
      t.cleanup();
    }
  }, 120_000);
});
